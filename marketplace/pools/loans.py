"""Lending a pool place while away on a break.

A member of a running pool who takes a break may offer their place to the first person on the
waiting list for the months they are away: in those months the borrower pays the share (never
above the maximum they agreed to when they joined the list) and the lender pays nothing. The
lender keeps their place and has it back from the first month that starts after they return.
A month already collected never moves: the loan starts with the next month to be collected.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace import outbox
from marketplace.db import as_utc
from marketplace.email import GENERAL, MONEY, send_email_or_log
from marketplace.money import format_pence
from marketplace.pools import schedule, shares
from marketplace.pools.models import (
    MemberStatus,
    PlaceLoan,
    Pool,
    PoolMember,
    PoolStatus,
)


def last_month_starting_before(session: Session, pool: Pool, moment: datetime) -> int:
    """The last of the pool's months that starts before `moment` (0 if none does). Month n
    starts on its charge date (`schedule.charge_date`: the chosen quote's start date, then
    monthly), the same date every page states, not on the day the pool was funded."""
    month = 0
    while month < pool.months:
        starts = schedule.charge_date(session, pool, month + 1)
        if starts is None or schedule.start_of(starts) >= as_utc(moment):
            break
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
    to_month = last_month_starting_before(session, pool, ends_at) if ends_at is not None else None
    if from_month > pool.months or (to_month is not None and to_month < from_month):
        return None
    live = [loan for loan in pool.loans if loan.to_month is None or loan.to_month >= from_month]
    borrower = _first_waiting(pool, {loan.borrower_id for loan in live})
    if borrower is None:
        return None
    return _new_loan(session, pool, member.id, borrower.id, from_month, to_month)


def _new_loan(
    session: Session,
    pool: Pool,
    lender_id: int,
    borrower_id: int,
    from_month: int,
    to_month: int | None,
) -> PlaceLoan:
    loan = PlaceLoan(
        pool_id=pool.id,
        lender_id=lender_id,
        borrower_id=borrower_id,
        from_month=from_month,
        to_month=to_month,
    )
    session.add(loan)
    pool.loans.append(loan)
    session.flush()  # the after-commit key names the loan
    to, subject, body = _borrower_email(loan)
    user_id = loan.borrower.user_id
    outbox.note(
        session,
        ("pool-loan", loan.id),
        lambda own: _send(to, subject, body, user_id, own=own),
        loan,
    )
    return loan


def hand_on(session: Session, borrower: PoolMember) -> PlaceLoan | None:
    """The borrower of a lent place has stopped waiting (given a place of their own, left the
    waiting list, or removed): call this after changing their status.

    Their loan ends with the last month already collected. The months left of it go to the next
    person waiting who is not borrowing already (returned, and emailed after the commit); with
    nobody waiting, the lender's share is due again from the next month and they are emailed.
    Without this, the loan would silently stop applying and the lender, who is away, would be
    charged without being told.
    """
    if borrower.status == MemberStatus.WAITING.value:
        return None  # still waiting: the loan still applies
    pool = borrower.pool
    collected = shares.last_collected_month(session, pool)
    handed: PlaceLoan | None = None
    for loan in list(pool.loans):
        if loan.borrower_id != borrower.id or not _runs_past(loan, collected):
            continue
        rest_to = loan.to_month
        loan.to_month = max(collected, loan.from_month - 1)
        rest_from = loan.to_month + 1
        if not _place_continues(loan.lender, rest_from):
            continue  # nothing left to pay for: the pool or the lender's place ends first
        handed = _lend_rest(session, loan, rest_from, rest_to) or handed
    session.flush()
    return handed


def _place_continues(lender: PoolMember, month: int) -> bool:
    pool = lender.pool
    return (
        pool.status == PoolStatus.RUNNING.value
        and month <= pool.months
        and lender.status == MemberStatus.MEMBER.value
        and (lender.leave_after_month is None or lender.leave_after_month >= month)
    )


def _runs_past(loan: PlaceLoan, month: int) -> bool:
    return loan.to_month is None or loan.to_month > month


def _lend_rest(
    session: Session, ended: PlaceLoan, from_month: int, to_month: int | None
) -> PlaceLoan | None:
    """Lend what is left of an ended loan to the next person waiting, or give it back to the
    lender (telling them their share is due again)."""
    pool = ended.lender.pool
    live = {loan.borrower_id for loan in pool.loans if _runs_past(loan, from_month - 1)}
    borrower = _first_waiting(pool, live)
    if borrower is None:
        to, subject, body = _lender_email(ended, from_month)
        lender_id = ended.lender.user_id
        outbox.note(
            session,
            ("pool-loan-returned", ended.id),
            lambda own: _send(to, subject, body, lender_id, MONEY, own=own),
            ended,
        )
        return None
    return _new_loan(session, pool, ended.lender_id, borrower.id, from_month, to_month)


def _lender_email(ended: PlaceLoan, from_month: int) -> tuple[str, str, str]:
    lender = ended.lender
    pool = lender.pool
    body = (
        f"Hello {lender.user.display_name},\n\n"
        f"While you are away, someone from the waiting list has been paying for your place in "
        f"{pool.title}. They are no longer on the waiting list, and nobody else is waiting, so "
        f"from month {from_month} of the pool your share is due from you again, never more "
        f"than the most you agreed to pay ({format_pence(lender.max_pence)} a month). You keep "
        "your place.\n\n"
        "If you would rather not pay while you are away, you can leave the pool at the end of "
        "a paid month from the pool's page.\n"
    )
    return lender.user.email, "Your pool share is due again", body


def end_loans_of(session: Session, user_id: int, now: datetime) -> None:
    """The lender is back: months that start from now on are theirs again."""
    for loan in session.scalars(
        select(PlaceLoan)
        .join(PoolMember, PlaceLoan.lender_id == PoolMember.id)
        .where(PoolMember.user_id == user_id)
    ):
        # Months already started stay lent; the next one is the lender's again.
        last = last_month_starting_before(session, loan.lender.pool, now)
        if loan.to_month is None or loan.to_month > last:
            loan.to_month = max(last, loan.from_month - 1)


def _borrower_email(loan: PlaceLoan) -> tuple[str, str, str]:
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
    return borrower.user.email, "A place in your pool is free for a while", body


def _send(
    to: str, subject: str, body: str, user_id: int, kind: str = GENERAL, *, own: Session
) -> None:
    # Outbox work: given the runner's own session.
    send_email_or_log(
        to,
        subject,
        body,
        user_id=user_id,
        kind=kind,
        about="an email about a lent pool place",
        session=own,
    )
