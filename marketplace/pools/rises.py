"""Seven days' notice of a rise in a member's share, months two onwards of a running pool.

What a member was last told they pay for month n is their notice for n, if there is one, or
else what they were asked for month n - 1. From `schedule.notice_date(n)` on, each run of the
`pools.charge_due` job works out month n's amounts (`shares.month_amounts` over its billable
members) and tells every member whose amount is more than they were last told: a notice row
(one per person and month, replaced by a later one) and an email, once per change. Month n is
charged only when every member's amount is no more than what they paid for month n - 1 or an
amount told to them at least `schedule.NOTICE_DAYS` before (`schedule.counts_from`), and not
before `schedule.due_date(n)`, the date every page and email gives. A fall needs no notice.

`check` is that one rule: the job and `funding.collect_month` both ask it. Leaving before the
due date is free (`funding.leave_running` ends a place at the last month collected), so a
member told of a rise can always say no to it.

Month one is not here: its shares are set when the vote closes and told in the going-ahead
email (and the hold, which takes nothing, is the month's all-or-nothing check).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.pools import notices, schedule, shares
from marketplace.pools.models import Pool, PoolMember, PoolPayment, ShareNotice


@dataclass(frozen=True)
class Told:
    """What a member was last told they pay for a month, and from when it may be charged."""

    pence: int | None  # None: never told (nothing asked of them the month before)
    counts_from: date | None  # None: already chargeable (what they were asked last month)
    before: int | None  # what they were asked for the month before (None: nothing)


@dataclass(frozen=True)
class Check:
    """Whether month n may be charged now, and what was told this time."""

    month: int
    ready: bool
    due_on: date | None
    told: int  # how many members were sent a notice by this call


def last_told(session: Session, pool: Pool, member: PoolMember, month: int) -> Told:
    before = session.scalar(
        select(PoolPayment.amount_pence).where(
            PoolPayment.pool_id == pool.id,
            PoolPayment.user_id == member.user_id,
            PoolPayment.month == month - 1,
        )
    )
    notice = session.scalars(
        select(ShareNotice).where(
            ShareNotice.pool_id == pool.id,
            ShareNotice.user_id == member.user_id,
            ShareNotice.month == month,
        )
    ).first()
    if notice is not None:
        return Told(notice.amount_pence, schedule.counts_from(notice.told_at), before)
    return Told(before, None, before)


def record_told(
    session: Session, pool: Pool, user_id: int, month: int, pence: int, now: datetime
) -> ShareNotice:
    """Note what someone was told they pay for `month` and when (one row per person and month:
    a later notice replaces an earlier one)."""
    row = session.scalars(
        select(ShareNotice).where(
            ShareNotice.pool_id == pool.id,
            ShareNotice.user_id == user_id,
            ShareNotice.month == month,
        )
    ).first()
    if row is None:
        row = ShareNotice(pool_id=pool.id, user_id=user_id, month=month)
        session.add(row)
    row.amount_pence = pence
    row.told_at = now
    session.flush()
    return row


def _chargeable(told: Told, pence: int, now: datetime) -> bool:
    """`pence` was told in time: no more than last month's, or than a notice now old enough."""
    if told.before is not None and pence <= told.before:
        return True
    if told.pence is None or pence > told.pence:
        return False
    return told.counts_from is None or schedule.is_due(told.counts_from, now)


def check(session: Session, pool: Pool, month: int, now: datetime) -> Check:
    """The one rule for charging month `month` (>= 2) of a running pool: tell each member whose
    share rose (once per change; the email goes after the commit), then say whether every
    amount was told in time and the due date has come. Raises `shares.NoShare` when there is
    no share to charge. Month one (and a month already being collected) is always ready."""
    if month < 2 or shares.last_collected_month(session, pool) >= month:
        return Check(month, True, schedule.due_date(session, pool, month), 0)
    members = shares.billable_members(pool, month)
    if len(members) < pool.min_members:
        # The month will not run (funding.settle_month winds the pool down): nothing to tell.
        return Check(month, True, schedule.due_date(session, pool, month), 0)
    owed = shares.month_amounts(session, pool, month, members)
    ready = True
    told = []
    for member in members:
        pence = owed[member.user_id]
        last = last_told(session, pool, member, month)
        if last.pence is None or pence > last.pence:
            record_told(session, pool, member.user_id, month, pence, now)
            told.append((member, last.pence, pence))
            ready = False
        elif not _chargeable(last, pence, now):
            ready = False
    due_on = schedule.due_date(session, pool, month)
    if told and pool.reminded_month >= month:
        pool.reminded_month = month - 1  # the reminder gave the old date: remind again
    for member, before, pence in told:
        notices.share_rise(session, pool, member, month, before, pence, due_on)
    return Check(month, ready and schedule.is_due(due_on, now), due_on, len(told))
