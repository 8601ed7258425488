"""Log records as one JSON object a line, each tagged with the request it belongs to.

Kept apart from the request hooks so that gunicorn's master process can format its own log
lines with it (see gunicorn.conf.py) without importing the app.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from flask import g, has_request_context

# Set by the request hooks; read here so that any log line written while answering a request
# (a warning from a service, an exception) can be joined up with that request's access line.
REQUEST_ID_KEY = "request_id"


def current_request_id() -> str | None:
    """The id of the request being answered, if there is one."""
    if has_request_context():
        return g.get(REQUEST_ID_KEY)
    return None


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, then either the record's `fields`
    (structured lines such as the request log) or its message."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        else:
            line["message"] = record.getMessage()
        request_id = getattr(record, REQUEST_ID_KEY, None) or current_request_id()
        if request_id and REQUEST_ID_KEY not in line:
            line[REQUEST_ID_KEY] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, separators=(",", ":"), default=str)


class JsonStreamHandler(logging.StreamHandler):
    """A stream handler (stderr unless told otherwise) that writes JSON lines."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self.setFormatter(JsonFormatter())


def _writes_json(logger: logging.Logger) -> bool:
    return any(isinstance(handler.formatter, JsonFormatter) for handler in logger.handlers)


def install(logger_name: str, level: int = logging.INFO) -> logging.Logger:
    """Send this logger's records (and its children's) to stderr as JSON lines, once."""
    from flask.logging import default_handler

    logger = logging.getLogger(logger_name)
    # The app's logger is named after the package ("marketplace"): replace Flask's plain handler.
    logger.removeHandler(default_handler)
    # Under gunicorn the root logger already writes JSON (gunicorn.conf.py): records go up to it.
    if not _writes_json(logger) and not _writes_json(logging.getLogger()):
        logger.addHandler(JsonStreamHandler())
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    # Records still propagate, so that a test's log capture sees them too.
    return logger
