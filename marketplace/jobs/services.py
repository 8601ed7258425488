"""Enqueue jobs and run them: exactly once for database effects, with retries and a dead letter.

Enqueueing adds a row to the caller's transaction (the outbox pattern): the job exists only if
the change that asked for it commits, and is visible to workers from that moment.

Taking a job (run_next) is one transaction. On PostgreSQL the next due job is selected
`FOR UPDATE SKIP LOCKED`: each worker locks a different row, and a locked row is skipped rather
than waited for, so any number of workers on any number of machines take each job once. The
handler runs in a SAVEPOINT of that same transaction and the job is marked done in it, so the
handler's changes and the "done" mark commit together: a worker that dies half way rolls both
back and the job is simply taken again. On SQLite our engine begins every transaction with
BEGIN IMMEDIATE (marketplace/db.py), which takes the database's one write lock: workers (and web
requests) queue behind each other, one job at a time. That is the safe single-worker mode for
development and tests; several workers on SQLite are correct but never run in parallel.

A handler that commits as it goes (registry.handler(commits=True)) cannot share the worker's
transaction. Its job is leased instead: marked running with run_at at the end of the lease and
committed, then run, then marked done. If the worker dies, another takes the job over once the
lease has run out, counting the lost run as a failed attempt. Such handlers run at least once and
must be safe to run again (pool charging claims each month before charging, for that reason).

Effects outside the database are never covered by the transaction: Stripe calls must carry
idempotency keys (payments use our own), an email may, rarely, be sent twice.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace import outbox
from marketplace.db import as_utc, utcnow
from marketplace.jobs import registry
from marketplace.jobs.models import MAX_ERROR, Job, JobStatus
from marketplace.ops.metrics import record_job

log = logging.getLogger(__name__)

LEASE = timedelta(hours=1)  # how long a commits=True handler may run before it is taken over
MAX_BACKOFF = timedelta(hours=1)


class JobError(Exception):
    """A job cannot be changed as asked (e.g. retrying one that is not dead)."""


@dataclass(frozen=True)
class Outcome:
    """What one run_next did: the job and "done", "failed" (will be retried) or "dead"."""

    job_id: int
    kind: str
    outcome: str


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int | None = None,
) -> Job | None:
    """Add a job to the caller's transaction; it runs only if the caller commits.

    With a dedupe_key, a job that already has that key (committed, or being added by a
    concurrent transaction that then commits) means this one is skipped: returns None, and
    the caller's transaction carries on unharmed.
    """
    values: dict[str, Any] = {
        "kind": kind,
        "payload": dict(payload or {}),
        "status": JobStatus.QUEUED.value,
        "run_at": as_utc(run_at) if run_at else utcnow(),
    }
    if max_attempts is not None:
        values["max_attempts"] = max_attempts
    if dedupe_key is None:
        job = Job(**values)
        session.add(job)
        return job
    job_id = _insert_once(session, {**values, "dedupe_key": dedupe_key})
    return None if job_id is None else session.get(Job, job_id)


def _insert_once(session: Session, values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT (dedupe_key) DO NOTHING; the new id, or None if it existed."""
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        module = postgresql if dialect == "postgresql" else sqlite
        statement = (
            module.insert(Job)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Job.dedupe_key])
            .returning(Job.id)
        )
        return session.execute(statement).scalar_one_or_none()
    # Elsewhere: a SAVEPOINT, so that the duplicate's error is undone without the caller's work.
    try:
        with session.begin_nested():
            return session.execute(insert(Job).values(**values).returning(Job.id)).scalar_one()
    except IntegrityError:
        return None


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure: 20 s, 40 s, 80 s, ... up to an hour."""
    return min(timedelta(seconds=10 * 2 ** min(attempts, 20)), MAX_BACKOFF)


def _take(session: Session, now: datetime) -> Job | None:
    statement = (
        select(Job)
        .where(
            Job.status.in_((JobStatus.QUEUED.value, JobStatus.RUNNING.value)),
            Job.run_at <= now,
        )
        .order_by(Job.run_at, Job.id)
        .limit(1)
        # PostgreSQL: lock it, and pass over rows other workers hold. SQLite ignores this;
        # its BEGIN IMMEDIATE already made this transaction the only writer.
        .with_for_update(skip_locked=True)
        # The row may be in this session from an earlier read; the locked read is the truth.
        .execution_options(populate_existing=True)
    )
    return session.scalars(statement).first()


def _error_text(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error[-MAX_ERROR:]
    return "".join(traceback.format_exception(error))[-MAX_ERROR:]


def _fail(job: Job, error: BaseException | str, now: datetime) -> str:
    """Count a failed run: try again after a backoff, or into the dead letter."""
    job.attempts += 1
    job.last_error = _error_text(error)
    if job.attempts >= job.max_attempts:
        job.status = JobStatus.DEAD.value
        job.finished_at = now
        return "dead"
    job.status = JobStatus.QUEUED.value
    job.run_at = now + backoff(job.attempts)
    return "failed"


def _later(start: datetime) -> datetime:
    # The handler took some time; a `now` given by a test may be ahead of the clock.
    return max(start, utcnow())


def _done(job: Job) -> str:
    job.status = JobStatus.DONE.value
    job.finished_at = utcnow()
    return "done"


def _finish(session: Session, job_id: int, kind: str, outcome: str) -> Outcome:
    outbox.commit(session)  # then the emails and index updates the job noted
    record_job(kind, outcome)
    if outcome != "done":
        log.warning("job %s (%s) %s", job_id, kind, outcome)
    return Outcome(job_id, kind, outcome)


def run_next(session: Session, worker_id: str, now: datetime | None = None) -> Outcome | None:
    """Take the next due job, run it and commit; None when no job is due.

    `session` is the worker's own (db.session in `flask worker`): anything a handler enqueues
    on it, emails included, commits with the job.
    """
    now = as_utc(now or utcnow())
    job = _take(session, now)
    if job is None:
        session.rollback()  # end the read at once (on SQLite, let go of the write lock)
        return None
    job_id, kind = job.id, job.kind
    if job.status == JobStatus.RUNNING.value:
        # A lease that ran out: the worker that took the job stopped without finishing it.
        outcome = _fail(job, f"Worker {job.worker} did not finish the job within its lease", now)
        return _finish(session, job_id, kind, outcome)
    job.worker = worker_id
    spec = registry.lookup(kind)
    if spec is None:
        job.attempts += 1
        job.last_error = f"No handler is registered for jobs of kind {kind!r}"
        job.status = JobStatus.DEAD.value
        job.finished_at = now
        return _finish(session, job_id, kind, "dead")
    payload = dict(job.payload or {})
    if spec.commits:
        return _run_leased(session, job, spec, payload, worker_id, now)
    committed = False
    try:
        with session.begin_nested() as savepoint:
            spec.function(session, payload)
            committed = not savepoint.is_active
    except Exception as error:
        log.exception("job %s (%s) failed", job_id, kind)
        return _finish(session, job_id, kind, _fail(job, error, _later(now)))
    if not committed:
        return _finish(session, job_id, kind, _done(job))
    # The handler committed: its changes are in, and our lock on the job went with the commit.
    # A mistake in the code, which another run would repeat, so straight to the dead letter.
    job = session.get_one(Job, job_id, populate_existing=True, with_for_update=True)
    job.status = JobStatus.DEAD.value
    job.finished_at = _later(now)
    job.last_error = (
        f"The handler for {kind!r} committed the worker's transaction; a handler that "
        "commits must be registered with commits=True"
    )
    return _finish(session, job_id, kind, "dead")


def _run_leased(
    session: Session,
    job: Job,
    spec: registry.Handler,
    payload: dict[str, Any],
    worker_id: str,
    now: datetime,
) -> Outcome:
    job_id, kind, due = job.id, job.kind, job.run_at
    job.status = JobStatus.RUNNING.value
    job.run_at = now + LEASE
    session.commit()  # the lease is ours: other workers pass over it until it runs out
    error: Exception | None = None
    try:
        spec.function(session, payload)
        outbox.commit(session)
    except Exception as caught:
        log.exception("job %s (%s) failed", job_id, kind)
        session.rollback()
        error = caught
    job = session.scalars(
        select(Job)
        .where(Job.id == job_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if job.status != JobStatus.RUNNING.value or job.worker != worker_id:
        # We overran the lease and another worker has the job now; its run decides.
        session.rollback()
        log.warning("job %s (%s) was taken over by %s", job_id, kind, job.worker)
        return Outcome(job_id, kind, "failed" if error else "done")
    job.run_at = due  # the lease is over; keep when the job was due, for `flask jobs list`
    outcome = _fail(job, error, _later(now)) if error else _done(job)
    return _finish(session, job_id, kind, outcome)


def retry(session: Session, job_id: int) -> Job:
    """Put a dead job back in the queue, to run now with its attempts counted afresh."""
    job = session.get(Job, job_id)
    if job is None:
        raise JobError(f"There is no job {job_id}")
    if job.status != JobStatus.DEAD.value:
        raise JobError(f"Job {job_id} is {job.status}, not dead")
    job.status = JobStatus.QUEUED.value
    job.attempts = 0
    job.run_at = utcnow()
    job.finished_at = None
    return job


def list_jobs(session: Session, status: str | None = None, limit: int = 50) -> Sequence[Job]:
    """The most recent jobs, newest first, optionally only those in one status."""
    statement = select(Job).order_by(Job.id.desc()).limit(limit)
    if status:
        statement = statement.where(Job.status == status)
    return session.scalars(statement).all()


def purge_done(session: Session, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete jobs done more than `older_than` ago (periodic jobs leave one row per period)."""
    cutoff = as_utc(now or utcnow()) - older_than
    result = session.execute(
        delete(Job)
        .where(Job.status == JobStatus.DONE.value, Job.finished_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
