"""The worker loop behind `flask worker`."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from marketplace.jobs import registry
from marketplace.jobs.schedule import Scheduler
from marketplace.jobs.services import run_next

log = logging.getLogger(__name__)

MAX_ERRORS_IN_BURST = 10


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def work(
    session: Session,
    worker_id: str,
    *,
    burst: bool = False,
    poll: float = 5.0,
    scheduler: Scheduler | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Run jobs until told to stop (or, in burst mode, until none is due); returns how many ran.

    `should_stop` is checked between jobs, never during one: a job that has started finishes.
    """
    registry.load_handlers()
    ran = errors = 0
    while not should_stop():
        try:
            if scheduler is not None:
                scheduler.tick(session)
            outcome = run_next(session, worker_id)
        except DBAPIError:
            # The database is away, or (SQLite) another writer held the lock too long. Nothing
            # was committed; the job, if one was taken, is still due. Try again shortly.
            session.rollback()
            log.exception("worker %s: database error; trying again", worker_id)
            errors += 1
            if burst and errors >= MAX_ERRORS_IN_BURST:
                raise
            _sleep(min(poll, 1.0) * errors, should_stop)
            continue
        errors = 0
        if outcome is not None:
            ran += 1
            continue
        if burst:
            break
        _sleep(poll, should_stop)
    return ran


def _sleep(seconds: float, should_stop: Callable[[], bool]) -> None:
    # In short steps, so that SIGTERM during a quiet spell stops the worker promptly.
    deadline = time.monotonic() + seconds
    while not should_stop() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.25))
