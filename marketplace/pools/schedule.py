"""When each month of a pool is charged: the one dating rule every page, email and job uses.

Month 1 is charged on the chosen quote's start date, month n on the same day n - 1 months
later (the last day of a shorter month), never before. Pages state these dates; the funding
jobs obey them.

Month one is all or nothing, so its shares are first *held* on each card (authorised, nothing
taken) from `HOLD_LEAD_DAYS` before its charge date, then all taken on the charge date or all
released. Stripe cancels a card hold by itself after 7 days; 5 days ahead keeps every hold
inside that with 2 days to spare for a late job run, and a refused card or a bank's request to
confirm has until the charge date to be put right. A run later still (the job was stopped for
days) places each hold again before taking it (`funding._renew_stale_holds`). Each charge is reminded `REMINDER_DAYS`
before its date. A day here is a UTC calendar day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from marketplace.pools import shares
from marketplace.pools.models import Pool, PoolMember, PoolStatus, Quote

HOLD_LEAD_DAYS = 5  # at most 6: a Stripe card hold lasts 7 days
REMINDER_DAYS = 3

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


def hold_date(session: Session, pool: Pool) -> date | None:
    """The first day month one's shares may be held on cards (and invoices sent)."""
    first = charge_date(session, pool, 1)
    return first - timedelta(days=HOLD_LEAD_DAYS) if first is not None else None


def reminder_date(session: Session, pool: Pool, month: int) -> date | None:
    """The day members are reminded that `month` is about to be charged."""
    on = charge_date(session, pool, month)
    return on - timedelta(days=REMINDER_DAYS) if on is not None else None


def start_of(day: date) -> datetime:
    """The first moment of a (UTC) day: when something due "on" it falls due."""
    return datetime.combine(day, time(), tzinfo=UTC)


def is_due(day: date | None, now: datetime) -> bool:
    """Whether `day` has come (False when there is no date yet)."""
    return day is not None and now >= start_of(day)


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
