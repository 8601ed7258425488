"""When each month of a pool is charged: the one dating rule every page, email and job uses.

Month 1 is charged on the chosen quote's start date, month n on the same day n - 1 months
later (the last day of a shorter month), never before. Pages state these dates; the funding
jobs obey them.

Month one is all or nothing, so its shares are first *held* on each card (authorised, nothing
taken) from `HOLD_LEAD_DAYS` before its charge date, then all taken on the charge date or all
released. Stripe cancels a card hold by itself after 7 days; 5 days ahead keeps every hold
inside that with 2 days to spare for a late job run, and a refused card or a bank's request to
confirm has until the charge date to be put right. A run later still (the job was stopped for
days) places each hold again before taking it (`funding._renew_stale_holds`). Each charge is
reminded `REMINDER_DAYS` before its date. A day here is a UTC calendar day.

Months two onwards are charged on `due_date`: the charge date, unless a member's share rose
and they were told less than `NOTICE_DAYS` before it, in which case the month is charged once
`NOTICE_DAYS` have passed since the last rise was told (rises.py). Every page, email and job
that names the day a later month is charged asks `due_date`; `charge_date` stays the
service's own monthly date. Month one's shares are fixed when the vote closes and told in the
going-ahead email, so its due date is its charge date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.db import as_utc
from marketplace.pools import shares
from marketplace.pools.models import Pool, PoolMember, PoolStatus, Quote, ShareNotice

HOLD_LEAD_DAYS = 5  # at most 6: a Stripe card hold lasts 7 days
REMINDER_DAYS = 3
NOTICE_DAYS = 7  # a rise in someone's share is told at least this long before it is charged

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


def counts_from(told_at: datetime) -> date:
    """The first day an amount told at `told_at` may be charged: `NOTICE_DAYS` later, rounded
    up to the start of the next day when it was told after midnight (so "at least 7 days")."""
    ready = as_utc(told_at) + timedelta(days=NOTICE_DAYS)
    return ready.date() if ready == start_of(ready.date()) else ready.date() + timedelta(days=1)


def due_date(session: Session, pool: Pool, month: int) -> date | None:
    """The day `month` is actually charged: the later of its charge date and the day the last
    rise told for it may be charged (`counts_from`). Month one: its charge date."""
    on = charge_date(session, pool, month)
    if on is None or month < 2:
        return on
    told = session.scalar(
        select(func.max(ShareNotice.told_at)).where(
            ShareNotice.pool_id == pool.id, ShareNotice.month == month
        )
    )
    return max(on, counts_from(told)) if told is not None else on


def notice_date(session: Session, pool: Pool, month: int) -> date | None:
    """From this day the job works out month `month`'s shares and tells anyone whose share
    rises. A day earlier than `NOTICE_DAYS` before the charge date: a rise told during that
    day counts from the charge date itself (`counts_from` rounds up), so a rise the job finds
    on its first look never moves the date."""
    on = charge_date(session, pool, month)
    return on - timedelta(days=NOTICE_DAYS + 1) if on is not None else None


def reminder_date(session: Session, pool: Pool, month: int) -> date | None:
    """The day members are reminded that `month` is about to be charged."""
    on = due_date(session, pool, month)
    return on - timedelta(days=REMINDER_DAYS) if on is not None else None


def first_month_told_at(session: Session, pool: Pool, told_at: datetime) -> int | None:
    """The first month not yet collected that someone told their share at `told_at` can be
    charged for: its charge date is at least `NOTICE_DAYS` later. None if no month is left."""
    if pool.chosen_quote_id is None:
        return None
    ready = counts_from(told_at)
    month = max(shares.last_collected_month(session, pool) + 1, 1)
    while month <= pool.months:
        on = charge_date(session, pool, month)
        if on is not None and on >= ready:
            return month
        month += 1
    return None


def service_period(session: Session, pool: Pool, month: int) -> tuple[date | None, date | None]:
    """The days month `month` of a pool pays for: from its charge date to the day before the
    next month's (`charge_date`, the one dating rule). Statements, receipts and invoices say it."""
    start = charge_date(session, pool, month)
    after = charge_date(session, pool, month + 1)
    return start, (after - timedelta(days=1)) if after else None


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
    on = due_date(session, pool, month)
    if on is None:
        return None
    return Due(month=month, on=on, pence=shares.member_share(session, pool, member, month))
