"""Periodic jobs: each enqueued once per period, however many workers or machines run.

Every worker enqueues the current period's job with the dedupe key "<kind>@<period start>", so
the first one to do so wins and the rest are skipped by the unique key. Periods are aligned to
the Unix epoch in UTC (every 15 minutes: :00, :15, :30, :45).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from marketplace.db import as_utc, utcnow
from marketplace.jobs.services import enqueue


@dataclass(frozen=True)
class Periodic:
    kind: str
    every: timedelta


# Every package adds its own periodic jobs from its init_app (`every`), beside their handlers.
SCHEDULE: list[Periodic] = []


def every(kind: str, period: timedelta) -> None:
    """Run jobs of `kind` once per `period` (aligned to the Unix epoch in UTC). Registering the
    same kind again replaces its period, so each app may register it."""
    SCHEDULE[:] = [p for p in SCHEDULE if p.kind != kind] + [Periodic(kind, period)]


def period_start(now: datetime, every: timedelta) -> datetime:
    """The start of the period of length `every` that `now` falls in."""
    seconds = int(every.total_seconds())
    epoch = int(as_utc(now).timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def dedupe_key(kind: str, start: datetime) -> str:
    return f"{kind}@{start.isoformat()}"


@dataclass
class Scheduler:
    """Enqueues each periodic job once per period; remembers what this process has done so that
    it asks the database only when a new period begins."""

    schedule: tuple[Periodic, ...] = field(default_factory=lambda: tuple(SCHEDULE))
    _enqueued: dict[str, datetime] = field(default_factory=dict)

    def tick(self, session: Session, now: datetime | None = None) -> int:
        """Enqueue the periods that have begun since the last tick and commit; returns how many
        jobs this call added (0 when another worker got there first)."""
        now = as_utc(now or utcnow())
        due = [
            (periodic, start)
            for periodic in self.schedule
            if self._enqueued.get(periodic.kind) != (start := period_start(now, periodic.every))
        ]
        if not due:
            return 0
        added = 0
        for periodic, start in due:
            job = enqueue(
                session, periodic.kind, run_at=start, dedupe_key=dedupe_key(periodic.kind, start)
            )
            added += job is not None
        session.commit()
        for periodic, start in due:
            self._enqueued[periodic.kind] = start
        return added
