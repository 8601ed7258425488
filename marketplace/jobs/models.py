"""The job table: one row per piece of background work."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, utcnow

DEFAULT_MAX_ATTEMPTS = 5
MAX_ERROR = 4000  # characters of the last traceback kept on the row (its end says the most)


class JobStatus(enum.StrEnum):
    # Waiting for run_at. A job that failed and will be tried again is queued with attempts > 0.
    QUEUED = "queued"
    # Taken by a worker for a handler that commits as it goes; run_at is then the end of the
    # worker's lease, after which another worker takes it over (see services.run_next).
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"  # the dead letter: failed max_attempts times, or no handler; `flask jobs retry`


class Job(Base):
    """A piece of background work of some `kind`, run by the handler registered for it."""

    __tablename__ = "jobs"
    __table_args__ = (
        # The worker's one query: the next due job among the queued (and lapsed leases).
        Index("ix_jobs_status_run_at", "status", "run_at"),
        CheckConstraint("status IN ('queued', 'running', 'done', 'dead')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failed runs so far
    max_attempts: Mapped[int] = mapped_column(Integer, default=DEFAULT_MAX_ATTEMPTS)
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    worker: Mapped[str | None] = mapped_column(String(200))  # the worker that last took it
    # A periodic job's "<kind>@<period start>": any number of schedulers enqueue it once.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.status}>"
