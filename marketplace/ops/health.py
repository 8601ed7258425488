"""Health checks for the load balancer and the orchestrator.

/healthz says the process is up and answering (it touches nothing, so a slow database never
gets a healthy worker restarted); /readyz says this worker can do real work: the database
answers and the search index opens. A failed check is named with a short reason, never a stack
trace or a connection string.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from marketplace.extensions import db

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


def check_database() -> None:
    """Raise unless the database answers `SELECT 1` (on this request's session, which takes a
    connection from the pool and gives it back when the request ends)."""
    db.session.execute(text("SELECT 1")).scalar_one()


# Each part the site cannot work without adds its own check (the directory adds the search
# index's) from its init_app.
CHECKS: dict[str, Callable[[], None]] = {"database": check_database}


def register_check(name: str, check: Callable[[], None]) -> None:
    """Add a readiness check: `check()` raises when that part cannot serve requests."""
    CHECKS[name] = check


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    return _no_store(jsonify(status="ok"))


@bp.get("/readyz")
def readyz() -> Response:
    checks: dict[str, str] = {}
    failed = False
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:  # any failure at all means "not ready", not a 500
            log.warning("Readiness check %s failed", name, exc_info=True)
            # The exception's class says what kind of failure it was; its message can hold a URL
            # with a password, a file path or SQL, so that goes to the log only.
            checks[name] = f"failed: {type(error).__name__}"
            failed = True
        else:
            checks[name] = "ok"
    response = jsonify(status="unavailable" if failed else "ready", checks=checks)
    response.status_code = 503 if failed else 200
    return _no_store(response)
