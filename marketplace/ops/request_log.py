"""One JSON line per request on the `marketplace.requests` logger, and its latency metric.

A line holds: ts, request_id, method, route (the URL rule, never the path), status, duration_ms
and, for someone signed in, `user`: a keyed hash of their id, so one person's requests can be
followed through the logs without the logs saying who they are. Never a query string: search
text can say a lot about someone's health.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request

from marketplace.ops import json_logging, metrics
from marketplace.ops.json_logging import REQUEST_ID_KEY, current_request_id

__all__ = [
    "LOGGER_NAME",
    "REQUEST_ID_HEADER",
    "current_request_id",
    "init_app",
    "request_id_from",
    "user_hash",
]

LOGGER_NAME = "marketplace.requests"
REQUEST_ID_HEADER = "X-Request-ID"
UNMATCHED = "unmatched"
# Any word is a method to werkzeug; a label (and a log field) per made-up word would grow forever.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A proxy's id is kept so that its logs and ours join up; anything else (too long, or with
# characters that could forge log fields or headers) is replaced by one of ours.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_STARTED_KEY = "request_started"
_USER_HASH_CONTEXT = b"marketplace request log user\x00"

log = logging.getLogger(LOGGER_NAME)


def request_id_from(header: str | None) -> str:
    """The incoming X-Request-ID if it is well formed, otherwise a new random id."""
    if header and _VALID_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def user_hash(user_id: int | str, secret_key: str | bytes) -> str:
    """HMAC-SHA256 of the user id keyed with SECRET_KEY, first 16 hex characters."""
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    digest = hmac.new(key, _USER_HASH_CONTEXT + str(user_id).encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def init_app(app: Flask) -> None:
    """Give every request an id, and time, count and (when JSON_REQUEST_LOGS is on) log it."""
    app.config.setdefault(
        "JSON_REQUEST_LOGS", _env_bool("JSON_REQUEST_LOGS", not app.config.get("TESTING"))
    )
    if app.config["JSON_REQUEST_LOGS"]:
        # The app's logger ("marketplace") is the parent of every module's logger: all of them
        # write JSON lines carrying the request id.
        json_logging.install(app.import_name)
    # First of all before_request hooks, so that the id and the clock are set even when a later
    # hook (CSRF, rate limits) ends the request early.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)


def _start() -> None:
    if _STARTED_KEY not in g:
        setattr(g, _STARTED_KEY, time.perf_counter())
        setattr(g, REQUEST_ID_KEY, request_id_from(request.headers.get(REQUEST_ID_HEADER)))


def _signed_in_user_id() -> int | None:
    # Only a user the request already loaded: loading one here would query the database for
    # requests that never needed to (/healthz, static files).
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "id", None)


def _finish(response: Response) -> Response:
    _start()  # no-op unless the before_request hooks were skipped
    seconds = time.perf_counter() - g.get(_STARTED_KEY)
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    method = request.method if request.method in METHODS else "OTHER"
    request_id = current_request_id() or ""
    response.headers[REQUEST_ID_HEADER] = request_id
    metrics.observe_request(method, route, response.status_code, seconds)
    if current_app.config.get("JSON_REQUEST_LOGS") and log.isEnabledFor(logging.INFO):
        fields: dict[str, object] = {
            "request_id": request_id,
            "method": method,
            "route": route,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
        }
        user_id = _signed_in_user_id()
        if user_id is not None:
            fields["user"] = user_hash(user_id, current_app.config["SECRET_KEY"])
        log.info("%s %s %s", method, route, response.status_code, extra={"fields": fields})
    return response
