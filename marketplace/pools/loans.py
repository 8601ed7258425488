"""Lending a pool place while away on a break.

A member of a running pool who takes a break may offer their place to the first person on the
waiting list for the months they are away: in those months the borrower pays the share (never
above the maximum they agreed to when they joined the list) and the lender pays nothing. The
lender keeps their place and has it back from the first month that starts after they return.
A month already collected never moves: the loan starts with the next month to be collected.
"""

from __future__ import annotations

import smtplib
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.db import as_utc
from marketplace.email import send_email
from marketplace.pools.funding import add_months
from marketplace.pools.models import MemberStatus, PlaceLoan, Pool, PoolMember, PoolStatus


def _start(pool: Pool) -> datetime | None:
    start = pool.commissioned_at or pool.funded_at
    return as_utc(start) if start else None


def last_month_starting_before(pool: Pool, moment: datetime) -> int:
    """The last of the pool's months that starts before `moment` (0 if none does)."""
    start = _start(pool)
    if start is None:
        return 0
    month = 0
    while month < pool.months and add_months(start, month) < as_utc(moment):
        month += 1
    return month


def _first_waiting(pool: Pool, lent: set[int]) -> PoolMember | None:
    return next((m for m in pool.waiting_list if m.id not in lent), None)


def lend_place(session: Session, member: PoolMember, ends_at: datetime | None) -> PlaceLoan | None:
    """Lend this member's place to the first person waiting for the months that start before
    `ends_at` (None: until they come back). None if the pool is not running, nobody is waiting,
    or the break ends before the next month starts."""
    pool = member.pool
    if pool.status != PoolStatus.RUNNING.value or member.status != MemberStatus.MEMBER.value:
        return None
    from_month = pool.months_started + 1
    to_month = last_month_starting_before(pool, ends_at) if ends_at is not None else None
    if from_month > pool.months or (to_month is not None and to_month < from_month):
        return None
    live = [loan for loan in pool.loans if loan.to_month is None or loan.to_month >= from_month]
    borrower = _first_waiting(pool, {loan.borrower_id for loan in live})
    if borrower is None:
        return None
    loan = PlaceLoan(
        pool_id=pool.id,
        lender_id=member.id,
        borrower_id=borrower.id,
        from_month=from_month,
        to_month=to_month,
    )
    session.add(loan)
    pool.loans.append(loan)
    session.flush()
    return loan


def end_loans_of(session: Session, user_id: int, now: datetime) -> None:
    """The lender is back: months that start from now on are theirs again."""
    for loan in session.scalars(
        select(PlaceLoan)
        .join(PoolMember, PlaceLoan.lender_id == PoolMember.id)
        .where(PoolMember.user_id == user_id)
    ):
        # Months already started stay lent; the next one is the lender's again.
        last = last_month_starting_before(loan.lender.pool, now)
        if loan.to_month is None or loan.to_month > last:
            loan.to_month = max(last, loan.from_month - 1)


def made_since(session: Session, user_id: int, since: datetime) -> list[PlaceLoan]:
    """Loans this person made as lender from `since` (their break's start), to announce."""
    return list(
        session.scalars(
            select(PlaceLoan)
            .join(PoolMember, PlaceLoan.lender_id == PoolMember.id)
            .where(PoolMember.user_id == user_id, PlaceLoan.created_at >= since)
        )
    )


def tell_borrower(loan: PlaceLoan) -> None:
    """Email the person who takes the place for a while (after the commit)."""
    borrower = loan.borrower
    pool = borrower.pool
    until = f"month {loan.to_month}" if loan.to_month else "the member comes back"
    body = (
        f"Hello {borrower.user.display_name},\n\n"
        f"A place in {pool.title} is free for a while, and you are first on the waiting list. "
        f"From month {loan.from_month} of the pool until {until}, you have the place and pay "
        "the share each month, never more than the most you said you would pay. After that "
        "you go back to the top of the waiting list.\n\n"
        "If you would rather not, you can leave the waiting list from the pool's page.\n"
    )
    try:
        send_email(borrower.user.email, "A place in your pool is free for a while", body)
    except (OSError, smtplib.SMTPException):
        current_app.logger.exception("Could not tell a borrower about a pool place")
