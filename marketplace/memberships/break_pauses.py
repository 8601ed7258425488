"""Which months a wellbeing break covers for a membership it paused: the break promises "no
hours of time are expected for {months}, and no month counts as short", so a month it touches
asks for nothing (reciprocity.owed).

Wellbeing sits above memberships (it pauses them, importing memberships.services), so this
reads the break's own rows by table name rather than importing its models, which would make
the packages import each other round a circle. The tables and the "membership" kind are those
of marketplace/wellbeing/models.py (Break, BreakPaused, PausedKind.MEMBERSHIP); the wellbeing
tests (a break covers each month it touches) hold the two in step.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from marketplace.db import Base, as_utc

BREAKS = "wellbeing_breaks"
BREAK_PAUSED = "wellbeing_break_paused"
MEMBERSHIP = "membership"


def _table(name: str) -> Table | None:
    return Base.metadata.tables.get(name)


def touches(session: Session, membership_id: int, first: date, last: date) -> bool:
    """Whether a break that paused this membership covered any day from `first` to `last`."""
    breaks, paused = _table(BREAKS), _table(BREAK_PAUSED)
    if breaks is None or paused is None:  # wellbeing not installed
        return False
    rows = session.execute(
        select(breaks.c.starts_at, breaks.c.ends_at, breaks.c.ended_at)
        .join(paused, paused.c.break_id == breaks.c.id)
        .where(paused.c.kind == MEMBERSHIP, paused.c.ref_id == membership_id)
    )
    for starts_at, ends_at, ended_at in rows:
        start = as_utc(starts_at).date()
        stop = ended_at or ends_at
        end = as_utc(stop).date() if stop is not None else None
        if start <= last and (end is None or end >= first):
            return True
    return False
