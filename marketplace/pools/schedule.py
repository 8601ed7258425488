"""When each month of a pool is charged: the one dating rule every page, email and job uses.

Month 1 is charged on the chosen quote's start date, month n on the same day n - 1 months
later (the last day of a shorter month), never before. Pages state these dates; the funding
jobs obey them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy.orm import Session

from marketplace.pools import shares
from marketplace.pools.models import Pool, PoolMember, PoolStatus, Quote

# States in which a month may still be charged.
CHARGING = (PoolStatus.FUNDED.value, PoolStatus.RUNNING.value)


def _quote(session: Session, pool: Pool) -> Quote | None:
    return session.get(Quote, pool.chosen_quote_id) if pool.chosen_quote_id else None


def charge_date(session: Session, pool: Pool, month: int) -> date | None:
    """The date `month` of the pool is charged (None until a quote is chosen)."""
    quote = _quote(session, pool)
    if quote is None:
        return None
    start = datetime.combine(quote.start_date, time(), tzinfo=UTC)
    return shares.add_months(start, month - 1).date()


@dataclass(frozen=True)
class Due:
    """What a member pays next for a pool, and when."""

    month: int
    on: date
    pence: int | None  # None: no share yet (the quote has no price for that many people)


def next_due(session: Session, pool: Pool, member: PoolMember) -> Due | None:
    """The next payment this member owes the pool, or None (not charging, or nothing left)."""
    if pool.status not in CHARGING:
        return None
    month = shares.next_month(pool)
    if pool.months_started >= pool.months:
        return None
    on = charge_date(session, pool, month)
    if on is None:
        return None
    return Due(month=month, on=on, pence=shares.member_share(session, pool, member, month))
