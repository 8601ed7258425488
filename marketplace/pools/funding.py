"""All-or-nothing funding and the monthly running of a pool.

Once a quote is chosen and the minimum is met, each member's month is collected: a card is
charged off-session through `marketplace.payments` (the only module that talks to Stripe) with
a key made from (pool, member, month); a managed account or the council is invoiced. A charge
the bank refuses gives the member `GRACE_DAYS` to put it right. When every payment of the first
month is in (or invoiced), the pool is commissioned and the provider is owed the money. If the
pool would fall below its minimum, every card payment of that month is refunded and the pool
lapses: nobody pays for a service that does not happen.

Exactly once: a `PoolPayment` row, unique per (pool, member, month), is inserted before any
charge. Only the worker whose insert succeeded charges; another worker (a second cron run, a
second machine) finds the row and leaves it alone. A row left pending by a crash is picked up
by the next run, and `payments.charge_once` adopts the Stripe payment if the crash came after
Stripe's answer, so it is never charged twice.

Nothing here commits. The claim is made durable by `payments.charge_once`, which commits the
session (this row with it) before Stripe hears of the charge: the one place that must commit
before money moves. Everything else is committed by the caller: the `pools.fund` and
`pools.charge_due` jobs (pools/jobs.py), `flask pools charge-due`, or the page that asked.
What a member pays is `shares.share_for`, the same rule every page and email uses.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.money import format_pence
from marketplace.payments import services as payments
from marketplace.payments.gateway import PaymentGateway
from marketplace.payments.models import Charge, ChargeStatus
from marketplace.pools import loans, notices, services, shares
from marketplace.pools.models import (
    GATHERING,
    GRACE_DAYS,
    MemberStatus,
    PayBy,
    PaymentStatus,
    Pool,
    PoolMember,
    PoolPayment,
    PoolStatus,
    Quote,
)

# A payment row still pending after this long was left by a worker that died.
STALE_AFTER = timedelta(minutes=10)
BUSY_RETRIES = 5
PURPOSE = "pool"
INVOICE_DAYS = 30  # for a managed account or the council to pay
OVER_MAXIMUM = "Your share is now more than the most you said you would pay"


def charge_key(pool_id: int, user_id: int, month: int) -> str:
    """Our idempotency key for one member's share of one month of one pool."""
    return f"pool:{pool_id}:member:{user_id}:month:{month}"


def chosen_quote(session: Session, pool: Pool) -> Quote:
    """The winning quote of a funded or running pool."""
    quote = session.get(Quote, pool.chosen_quote_id) if pool.chosen_quote_id else None
    if quote is None:
        raise DomainError("This pool has no chosen quote")
    return quote


# The share rules live in shares.py; these names stay for the code and tests that use them.
billable_members = shares.billable_members
add_months = shares.add_months
last_collected_month = shares.last_collected_month


@dataclass
class Collection:
    """What one run of `collect_month` did."""

    charged: int = 0
    invoiced: int = 0
    skipped: int = 0  # another worker has them, or they were already done
    problems: list[str] = field(default_factory=list)


def _claim(
    session: Session, pool: Pool, member: PoolMember, month: int, amount: int, now: datetime
) -> PoolPayment | None:
    """Insert this month's payment row; None if another worker already has it."""
    row = PoolPayment(
        pool_id=pool.id,
        user_id=member.user_id,
        month=month,
        amount_pence=amount,
        pay_by=member.pay_by,
        status=PaymentStatus.PENDING.value,
        invoice_to=member.invoice_to,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = session.scalars(
            select(PoolPayment)
            .where(
                PoolPayment.pool_id == pool.id,
                PoolPayment.user_id == member.user_id,
                PoolPayment.month == month,
            )
            .execution_options(populate_existing=True)
        ).one()
        stale = (
            existing.status == PaymentStatus.PENDING.value
            and as_utc(existing.created_at) <= now - STALE_AFTER
        )
        return existing if stale else None
    # Not committed here: charge_once commits it with its Charge row before calling Stripe,
    # and an invoice or a held-back share moves no money, so the caller's commit is enough.
    return row


def _charge(
    session: Session,
    pool: Pool,
    member: PoolMember,
    row: PoolPayment,
    now: datetime,
    gateway: PaymentGateway | None,
) -> None:
    if not member.payment_method_id:
        row.status = PaymentStatus.FAILED.value
        row.message = "No card is saved"
        row.due_by = now + timedelta(days=GRACE_DAYS)
        return
    charge = payments.charge_once(
        session,
        user=member.user,
        idempotency_key=charge_key(pool.id, member.user_id, row.month),
        amount_pence=row.amount_pence,
        payment_method_id=member.payment_method_id,
        purpose=PURPOSE,
        reference=f"{pool.id}:{row.month}",
        metadata={"pool": str(pool.id), "month": str(row.month)},
        gateway=gateway,
    )
    _apply_charge(row, charge, now)


def _charge_claimed(
    session: Session,
    pool: Pool,
    member: PoolMember,
    row: PoolPayment,
    now: datetime,
    gateway: PaymentGateway | None,
) -> None:
    """Charge a payment this worker has claimed, trying again if the database was busy.

    Nobody else will touch a claimed row until it is stale, so if SQLite's lock wait runs out
    (another worker held it), the claimant tries again itself rather than leaving the member
    unpaid until the row goes stale. `charge_once` never charges a key twice.
    """
    for attempt in range(BUSY_RETRIES):
        try:
            _charge(session, pool, member, row, now, gateway)
            return
        except OperationalError:
            if attempt == BUSY_RETRIES - 1:
                raise
            session.rollback()
            time.sleep(0.05 * (attempt + 1))


def _apply_charge(row: PoolPayment, charge: Charge, now: datetime) -> None:
    row.charge_id = charge.id
    if charge.status == ChargeStatus.SUCCEEDED.value:
        row.status = PaymentStatus.PAID.value
        row.paid_at = now
        row.message = None
        row.due_by = None
    elif charge.status == ChargeStatus.REQUIRES_ACTION.value:
        row.status = PaymentStatus.ACTION_NEEDED.value
        row.message = "Your bank wants you to confirm this payment"
        row.due_by = now + timedelta(days=GRACE_DAYS)
    elif charge.status == ChargeStatus.FAILED.value:
        row.status = PaymentStatus.FAILED.value
        row.message = charge.failure_message or "Your bank refused the payment"
        row.due_by = now + timedelta(days=GRACE_DAYS)
    # A pending charge (still processing) is settled later by its webhook.


def collect_month(
    session: Session,
    pool: Pool,
    month: int,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
) -> Collection:
    """Charge or invoice every member's share of this month, once each.

    Does not commit, but each card charge commits the session first (see the module docstring).
    """
    now = as_utc(now or utcnow())
    chosen_quote(session, pool)
    members = billable_members(pool, month)
    result = Collection()
    try:
        share = shares.share_for(session, pool, month)
    except shares.NoShare as error:
        result.problems.append(error.message)
        return result
    before = shares.collected_share(session, pool, month - 1)
    if before is not None and share > before:
        notices.share_rises(session, pool, members, before, share)
    for member in members:
        row = _claim(session, pool, member, month, share, now)
        if row is None:
            result.skipped += 1
            continue
        if share > member.max_pence:
            # Never more than they agreed to: they confirm the new share, or their place goes.
            row.status = PaymentStatus.FAILED.value
            row.message = OVER_MAXIMUM
            row.due_by = now + timedelta(days=GRACE_DAYS)
        elif member.pay_by == PayBy.CARD.value:
            _charge_claimed(session, pool, member, row, now, gateway)
            result.charged += 1
        else:
            invoice(row, now)
            result.invoiced += 1
        notices.payment_problem(session, row)  # sent once this is committed
    return result


def invoice(row: PoolPayment, now: datetime) -> None:
    """Send this month's share to the managed account or council as an invoice, due in 30 days."""
    row.status = PaymentStatus.INVOICED.value
    row.message = None
    row.due_by = now + timedelta(days=INVOICE_DAYS)


def payments_for(session: Session, pool: Pool, month: int) -> list[PoolPayment]:
    """Every member's payment row for this month of the pool."""
    # Always read afresh: another worker may have settled rows this session saw earlier.
    return list(
        session.scalars(
            select(PoolPayment)
            .where(PoolPayment.pool_id == pool.id, PoolPayment.month == month)
            .order_by(PoolPayment.id)
            .execution_options(populate_existing=True)
        )
    )


def _refund_month(session: Session, pool: Pool, month: int, gateway: PaymentGateway | None) -> None:
    for row in payments_for(session, pool, month):
        if row.status == PaymentStatus.PAID.value and row.charge_id is not None:
            charge = session.get(Charge, row.charge_id)
            if charge is not None:
                # Commits first: a refund is durable before Stripe hears of it.
                payments.refund_charge(session, charge, gateway=gateway)
            row.status = PaymentStatus.REFUNDED.value
        elif row.status in (
            PaymentStatus.INVOICED.value,
            PaymentStatus.PENDING.value,
            PaymentStatus.FAILED.value,
            PaymentStatus.ACTION_NEEDED.value,
        ):
            row.status = PaymentStatus.CANCELLED.value


def lapse(session: Session, pool: Pool, reason: str, gateway: PaymentGateway | None = None) -> None:
    """End a pool that will not happen; any money taken for it is refunded."""
    if pool.status in (PoolStatus.FUNDED.value,):
        _refund_month(session, pool, 1, gateway)
    pool.status = PoolStatus.LAPSED.value
    pool.end_reason = reason
    pool.ended_at = utcnow()
    notices.lapsed(session, pool)


def _overdue(row: PoolPayment, now: datetime) -> bool:
    return (
        row.status in (PaymentStatus.FAILED.value, PaymentStatus.ACTION_NEEDED.value)
        and row.due_by is not None
        and as_utc(row.due_by) <= now
    )


def settle_month(
    session: Session,
    pool: Pool,
    month: int,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
) -> str:
    """Decide what a month's payments mean: wait, commission or go on, or lapse.

    Returns the pool's status afterwards.
    """
    now = as_utc(now or utcnow())
    # One settler at a time per pool (PostgreSQL; SQLite's write lock already is one): two
    # workers that charged half the members each would otherwise each read the other's last
    # payment as still pending, and neither would settle; or both would, owing the payout twice.
    session.scalars(
        select(Pool)
        .where(Pool.id == pool.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if pool.months_started >= month:
        return pool.status  # another worker settled this month first
    rows = payments_for(session, pool, month)
    by_user = {r.user_id: r for r in rows}
    for member in billable_members(pool, month):
        row = by_user.get(member.user_id)
        if row is not None and _overdue(row, now):
            # Their place goes: they could not pay in time (their card was never charged).
            member.status = MemberStatus.REMOVED.value
            member.left_at = now
            row.status = PaymentStatus.CANCELLED.value
            loans.hand_on(session, member)  # a borrower's lent place goes on
    session.flush()
    members = billable_members(pool, month)
    if len(members) < pool.min_members:
        if month == 1:
            lapse(
                session,
                pool,
                f"Fewer than {pool.min_members} members could pay, so nobody pays",
                gateway,
            )
        else:
            # Nobody pays for a month that will not run; the months already paid still happen.
            _refund_month(session, pool, month, gateway)
            pool.status = PoolStatus.WINDING_DOWN.value
            pool.end_reason = (
                f"Fewer than {pool.min_members} members for month {month}, so the pool ends "
                f"after month {month - 1}"
            )
            notices.winding_down(session, pool)
        return pool.status
    unsettled = (
        PaymentStatus.PENDING.value,
        PaymentStatus.FAILED.value,
        PaymentStatus.ACTION_NEEDED.value,
    )
    waiting = [r for r in payments_for(session, pool, month) if r.status in unsettled]
    if waiting:
        return pool.status  # someone still has time to put their payment right
    collected = sum(
        r.amount_pence
        for r in payments_for(session, pool, month)
        if r.status == PaymentStatus.PAID.value
    )
    quote = chosen_quote(session, pool)
    if collected:
        payments.record_payout_owed(
            session, quote.organisation_id, collected, f"pool {pool.id} month {month}"
        )
    pool.months_started = max(pool.months_started, month)
    going_ahead = month == 1 and pool.status == PoolStatus.FUNDED.value
    if going_ahead:
        pool.status = PoolStatus.RUNNING.value
        pool.commissioned_at = now
    if pool.months_started >= pool.months and pool.status == PoolStatus.RUNNING.value:
        pool.status = PoolStatus.CLOSED.value  # the last month is paid: it ends after it
        pool.ended_at = now
    if going_ahead:
        notices.commissioned(session, pool)
    return pool.status


def fund(
    session: Session,
    pool: Pool,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
) -> str:
    """Collect the first month of a pool whose vote chose a quote, then settle it."""
    if pool.status != PoolStatus.FUNDED.value:
        raise DomainError("Only a funded pool can be collected")
    collect_month(session, pool, 1, now, gateway)
    return settle_month(session, pool, 1, now, gateway)


def retry_payment(
    session: Session,
    user: User,
    pool: Pool,
    month: int,
    payment_method_id: str | None = None,
    card_description: str | None = None,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
) -> PoolPayment:
    """The member puts a refused payment right (optionally with a new card)."""
    now = as_utc(now or utcnow())
    row = session.scalars(
        select(PoolPayment).where(
            PoolPayment.pool_id == pool.id,
            PoolPayment.user_id == user.id,
            PoolPayment.month == month,
        )
    ).first()
    if row is None:
        raise NotAllowed("There is no such payment")
    if row.status not in (PaymentStatus.FAILED.value, PaymentStatus.ACTION_NEEDED.value):
        raise DomainError("This payment does not need putting right")
    member = session.scalars(
        select(PoolMember).where(PoolMember.pool_id == pool.id, PoolMember.user_id == user.id)
    ).one()
    if row.amount_pence > member.max_pence:
        # A new card does not change what they agreed to: never charge above their maximum.
        raise DomainError(
            f"Your share of {format_pence(row.amount_pence)} is more than the most you agreed "
            f"to pay ({format_pence(member.max_pence)}). Raise your maximum first, or leave"
        )
    if payment_method_id:
        member.payment_method_id = payment_method_id
        member.card_description = card_description
    _charge(session, pool, member, row, now, gateway)
    settle_month(session, pool, month, now, gateway)
    return row


def record_invoice_paid(session: Session, staff: User, row: PoolPayment) -> None:
    """ULO staff record that a managed account or the council paid its invoice."""
    pool = row.pool
    areas = moderation.moderated_council_codes(session, staff)
    if areas is not None and pool.council.code not in areas:
        raise NotAllowed("Only ULO staff for this area can record this")
    if row.status != PaymentStatus.INVOICED.value:
        raise DomainError("This invoice is not waiting to be paid")
    row.status = PaymentStatus.PAID.value
    row.paid_at = utcnow()
    row.recorded_by_id = staff.id
    payments.record_payout_owed(
        session,
        chosen_quote(session, pool).organisation_id,
        row.amount_pence,
        f"pool {pool.id} month {row.month} invoice",
    )


def leave_running(
    session: Session, user: User, pool: Pool, acting_carer: User | None = None
) -> PoolMember:
    """In a running pool, leave at the end of the month already paid, without penalty."""
    services.act_as(session, acting_carer, user.id, f"Left the pool {pool.title}")
    services.lock_pool(session, pool)  # queue behind a charging run reading the members
    if pool.status != PoolStatus.RUNNING.value:
        raise DomainError("The pool is not running")
    member = session.scalars(
        select(PoolMember).where(
            PoolMember.pool_id == pool.id,
            PoolMember.user_id == user.id,
            PoolMember.status == MemberStatus.MEMBER.value,
        )
    ).first()
    if member is None:
        raise DomainError("You are not in this pool")
    # A month charged but not yet settled (its grace period is running) was paid for: the
    # member stays to the end of it, or the month's re-run would count them out of it.
    member.leave_after_month = last_collected_month(session, pool)
    return member


@dataclass
class JobReport:
    lapsed: int = 0
    funded: int = 0
    collected: int = 0
    settled: int = 0
    closed: int = 0


def charge_due(
    session: Session, now: datetime | None = None, gateway: PaymentGateway | None = None
) -> JobReport:
    """Everything `charge_due_steps` does, in one go, for callers that commit once after."""
    report = JobReport()
    for _ in charge_due_steps(session, report, now, gateway):
        pass
    return report


def charge_due_steps(
    session: Session,
    report: JobReport,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
) -> Iterator[None]:
    """The `pools.charge_due` job: lapse pools past their deadline, collect months that are
    due (a pool whose vote chose a quote but was never collected, too: its `pools.fund` job may
    have been lost), and settle months whose grace has run out. Safe to run twice or on two
    machines.

    Counts what it did in `report` and yields after each pool, so that the caller commits each
    pool's work on its own: one pool that fails does not undo the others. Never commits itself.
    """
    now = as_utc(now or utcnow())
    for pool in session.scalars(
        select(Pool).where(Pool.status.in_(GATHERING), Pool.deadline < now.date())
    ).all():
        lapse(session, pool, "The pool did not reach its minimum by the deadline", gateway)
        report.lapsed += 1
        yield
    for pool in session.scalars(select(Pool).where(Pool.status == PoolStatus.FUNDED.value)).all():
        collect_month(session, pool, 1, now, gateway)
        settle_month(session, pool, 1, now, gateway)
        report.funded += 1
        yield
    for pool in session.scalars(select(Pool).where(Pool.status == PoolStatus.RUNNING.value)).all():
        start = pool.commissioned_at or pool.funded_at or now
        month = pool.months_started + 1
        if month <= pool.months and add_months(as_utc(start), month - 1) <= now:
            _retire_leavers(session, pool, month)
            collect_month(session, pool, month, now, gateway)
            settle_month(session, pool, month, now, gateway)
            report.collected += 1
            yield
    for pool in session.scalars(
        select(Pool).where(Pool.status == PoolStatus.WINDING_DOWN.value)
    ).all():
        start = pool.commissioned_at or pool.funded_at or now
        if add_months(as_utc(start), pool.months_started) <= now:
            pool.status = PoolStatus.CLOSED.value  # the last paid month is over
            pool.ended_at = now
            report.closed += 1
            yield
    yield


def _retire_leavers(session: Session, pool: Pool, month: int) -> None:
    """Members who asked to leave after an earlier month have now left; the waiting list
    fills their places."""
    for member in pool.current_members:
        if member.leave_after_month is not None and member.leave_after_month < month:
            member.status = MemberStatus.LEFT.value
            member.left_at = utcnow()
    free = pool.max_members - len(pool.current_members)
    promoted = pool.waiting_list[: max(free, 0)]
    for waiting in promoted:
        waiting.status = MemberStatus.MEMBER.value
    for member in promoted:
        loans.hand_on(session, member)  # a place they were borrowing goes on without them


def _on_intent_succeeded(session: Session, event: dict[str, Any]) -> None:
    """A member's payment went through later (they confirmed it with their bank, or it was
    still processing): the month's row is paid. The next `charge-due` run settles the month.

    Runs after the payments package's own handler has marked the charge succeeded; a replayed
    or out-of-order event finds the row already paid and changes nothing.
    """
    intent = (event.get("data") or {}).get("object") or {}
    key = (intent.get("metadata") or {}).get(payments.META_KEY)
    if not key or not str(key).startswith(f"{PURPOSE}:"):
        return
    charge = session.scalars(select(Charge).where(Charge.idempotency_key == key)).first()
    if charge is None or charge.status != ChargeStatus.SUCCEEDED.value:
        return
    row = session.scalars(select(PoolPayment).where(PoolPayment.charge_id == charge.id)).first()
    if row is not None and row.status in (
        PaymentStatus.PENDING.value,
        PaymentStatus.ACTION_NEEDED.value,
        PaymentStatus.FAILED.value,
    ):
        _apply_charge(row, charge, utcnow())


def register_webhooks() -> None:
    """Settle a pool when Stripe says a member's payment went through (after payments')."""
    payments.register_handler("payment_intent.succeeded", _on_intent_succeeded)


# release_all: replaced by the holds branch
def release_all(session: Session, pool: Pool) -> int:
    """Stop every payment of this pool that has not been taken: pending, refused, waiting for
    the bank or invoiced rows are cancelled. Refunds nothing. Returns how many were cancelled."""
    open_rows = (
        PaymentStatus.PENDING.value,
        PaymentStatus.FAILED.value,
        PaymentStatus.ACTION_NEEDED.value,
        PaymentStatus.INVOICED.value,
    )
    rows = session.scalars(
        select(PoolPayment)
        .where(PoolPayment.pool_id == pool.id, PoolPayment.status.in_(open_rows))
        .execution_options(populate_existing=True)
    ).all()
    for row in rows:
        row.status = PaymentStatus.CANCELLED.value
        row.due_by = None
    return len(rows)
