"""Job kinds for the tests. Worker processes import this module through the test hook
MARKETPLACE_EXTRA_JOB_MODULES=tests.jobs.handlers; the in-process tests import it directly."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from marketplace.jobs.registry import handler
from marketplace.jobs.services import enqueue

EFFECTS_TABLE = "job_test_effects"  # created by the tests that need it; no unique constraint
CRASH_MARKER_ENV = "JOBS_TEST_CRASH_MARKER"
BARRIER_ENV = "JOBS_TEST_BARRIER"  # "<directory>:<count>": wait until that many workers start

calls: list[dict[str, Any]] = []  # in-process tests: what the handlers were given


@handler("test.record")
def record(session: Session, payload: dict[str, Any]) -> None:
    """One row per run, so a job run twice shows as two rows (and optionally, says it started)."""
    if "started" in payload:
        Path(payload["started"]).touch()
    session.execute(
        text(f"INSERT INTO {EFFECTS_TABLE} (n, pid) VALUES (:n, :pid)"),  # noqa: S608 - constant
        {"n": payload["n"], "pid": os.getpid()},
    )
    time.sleep(payload.get("sleep", 0))


@handler("test.crash_once")
def crash_once(session: Session, payload: dict[str, Any]) -> None:
    """Writes its row, then the first time kills the process before the worker can commit."""
    record(session, payload)
    marker = Path(os.environ[CRASH_MARKER_ENV])
    if not marker.exists():
        marker.write_text("crashed")
        session.flush()
        os._exit(3)


@handler("test.ok")
def ok(_session: Session, payload: dict[str, Any]) -> None:
    calls.append(payload)


@handler("test.fail")
def fail(session: Session, payload: dict[str, Any]) -> None:
    """Enqueues a follow-up job (a database effect) and then fails: the effect must not stay."""
    calls.append(payload)
    enqueue(session, "test.ok", {"from": "a failed job"})
    session.flush()
    raise RuntimeError(f"this job always fails ({payload.get('why', 'no reason')})")


@handler("test.commits", commits=True)
def commits(session: Session, payload: dict[str, Any]) -> None:
    """Commits part way, as pool charging does."""
    enqueue(session, "test.ok", {"from": "a committing job"})
    session.commit()
    calls.append(payload)
    if payload.get("fail"):
        raise RuntimeError("failed after committing")


def _wait_for_every_worker() -> None:
    # So that no worker process empties the queue before the others have even started.
    setting = os.environ.get(BARRIER_ENV)
    if not setting:
        return
    directory, count = setting.rsplit(":", 1)
    Path(directory, str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(list(Path(directory).iterdir())) < int(count) and time.monotonic() < deadline:
        time.sleep(0.05)


@handler("test.commits_wrongly")
def commits_wrongly(session: Session, payload: dict[str, Any]) -> None:
    """Commits although it was not registered with commits=True."""
    enqueue(session, "test.ok", {"from": "a handler that should not commit"})
    session.commit()


_wait_for_every_worker()
