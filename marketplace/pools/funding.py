"""All-or-nothing funding and the monthly running of a pool: hold, then capture.

Dates come from `schedule.py` alone: month n is charged on the chosen quote's start date plus
n - 1 months. When a vote chooses a quote the pool is FUNDED: going ahead if every share is
secured. Month one is all or nothing:

- From `schedule.HOLD_LEAD_DAYS` before its charge date (or at once, if the vote closed later
  than that), each card member's share is *held* on their card off-session (a PaymentIntent
  with capture_method=manual: authorised, nothing taken) and each managed-account or council
  member's share is invoiced. A refused card, or a bank asking the member to confirm, can be
  put right until the charge date. ULO staff mark an invoice *accepted* (the account holder
  will pay it): that secures the share; nothing is paid on it before the pool runs.
- On the charge date, if every paying member's share is held or accepted, every hold is
  captured and the pool runs. Otherwise every hold is released and every invoice cancelled,
  and the pool lapses: nobody paid anything, so there is nothing to refund.

Months two onwards are charged on their due date (`schedule.due_date`: the charge date, or
later when a member's share rose and they were told less than `schedule.NOTICE_DAYS` before),
never before, by a direct off-session charge (a refused card then has `GRACE_DAYS`, or the
member's place goes). From `schedule.notice_date` the job works out the month's shares and
tells anyone whose share rises (`rises.check`, the one rule `collect_month` asks too). A place
that frees is offered to the first person waiting (offers.py), who pays nothing until they
confirm it.

Exactly once: a `PoolPayment` row, unique per (pool, member, month), is inserted before any
hold or charge, and the payments package's own row, keyed by (pool, member, month), is
committed before Stripe hears of it (`payments.hold_once`, `charge_once`, `capture_holds`,
`release_hold`: the one place that commits before money moves). Moving a row from held to paid
is a conditional UPDATE, and so is starting the pool, so two workers capturing the same pool
count each share, and the provider's money, once. A crash between Stripe and our record is
picked up by the next run (payments adopts Stripe's answer) or by `flask payments reconcile`.

Nothing else here commits: the `pools.fund` and `pools.charge_due` jobs (pools/jobs.py),
`flask pools charge-due` or the page that asked do. What a member pays is `shares.py`, the
same rule every page and email uses.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from marketplace.auth.models import User
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.money import format_pence
from marketplace.payments import events
from marketplace.payments import services as payments
from marketplace.payments.gateway import PaymentGateway
from marketplace.payments.models import Charge, ChargeStatus
from marketplace.pools import (
    invoices,
    notices,
    offers,
    rises,
    schedule,
    services,
    shares,
)
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
from marketplace.web.template_globals import format_datetime

# A payment row still pending after this long was left by a worker that died.
STALE_AFTER = timedelta(minutes=10)
BUSY_RETRIES = 5
PURPOSE = "pool"
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
    # Not charged yet: a rise was told too recently (rises.check); charged on this date.
    waiting_until: date | None = None
    told: int = 0  # members told this time that their share rises


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
        return existing if _stale(existing, now) else None
    # Not committed here: charge_once commits it with its Charge row before calling Stripe,
    # and an invoice or a held-back share moves no money, so the caller's commit is enough.
    return row


def _first_deadline(session: Session, pool: Pool) -> datetime:
    """Until when a month-one share can be put right: the start of its charge date."""
    first = schedule.charge_date(session, pool, 1)
    return schedule.start_of(first) if first is not None else utcnow()


def _charge(
    session: Session,
    pool: Pool,
    member: PoolMember,
    row: PoolPayment,
    now: datetime,
    gateway: PaymentGateway | None,
) -> None:
    """Month one: hold the share on the member's card. Later months: charge it."""
    if not member.payment_method_id:
        row.status = PaymentStatus.FAILED.value
        row.message = "No card is saved"
        row.due_by = _due_by(session, pool, row.month, now)
        return
    if "user" in inspect(member).unloaded:
        _load_users(session, pool)  # every member's at once, not one query each
    move = payments.hold_once if row.month == 1 else payments.charge_once
    charge = move(
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
    _apply_charge(session, pool, row, charge, now)


def _load_users(session: Session, pool: Pool) -> None:
    """Load the people of the pool's members in one query and attach each to its member, so
    that going through the members does not read them one by one."""
    members = [m for m in pool.members if "user" in inspect(m).unloaded]
    if not members:
        return
    users = {
        u.id: u
        for u in session.scalars(select(User).where(User.id.in_({m.user_id for m in members})))
    }
    for member in members:
        if member.user_id in users:
            set_committed_value(member, "user", users[member.user_id])


def _due_by(session: Session, pool: Pool, month: int, now: datetime) -> datetime:
    if month == 1:
        return _first_deadline(session, pool)  # grace inside the hold's 7 days
    return now + timedelta(days=GRACE_DAYS)


def _charge_claimed(
    session: Session,
    pool: Pool,
    member: PoolMember,
    row: PoolPayment,
    now: datetime,
    gateway: PaymentGateway | None,
) -> None:
    """Hold or charge a payment this worker has claimed, trying again if the database was busy.

    Nobody else will touch a claimed row until it is stale, so if SQLite's lock wait runs out
    (another worker held it), the claimant tries again itself rather than leaving the member
    unpaid until the row goes stale. `hold_once`/`charge_once` never send a key twice.
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


def _apply_charge(
    session: Session, pool: Pool, row: PoolPayment, charge: Charge, now: datetime
) -> None:
    row.charge_id = charge.id
    if charge.status == ChargeStatus.SUCCEEDED.value:
        row.status = PaymentStatus.PAID.value
        row.paid_at = row.paid_at or now
        row.message = None
        row.due_by = None
    elif charge.status == ChargeStatus.HELD.value:
        if row.status != PaymentStatus.HELD.value or row.held_at is None:
            row.held_at = now  # on the job's clock: Stripe keeps a hold for 7 days
        row.status = PaymentStatus.HELD.value  # secured; nothing taken until the charge date
        row.message = None
        row.due_by = None
    elif charge.status == ChargeStatus.RELEASED.value:
        row.status = PaymentStatus.RELEASED.value
    elif charge.status == ChargeStatus.REQUIRES_ACTION.value:
        row.status = PaymentStatus.ACTION_NEEDED.value
        row.message = ACTION_MESSAGE
        row.due_by = row.due_by or _due_by(session, pool, row.month, now)
    elif charge.status == ChargeStatus.FAILED.value:
        row.status = PaymentStatus.FAILED.value
        row.message = charge.failure_message or "Your bank refused the payment"
        row.due_by = row.due_by or _due_by(session, pool, row.month, now)
    # A pending charge (still processing) is settled later by its webhook.


ACTION_MESSAGE = "Your bank wants you to confirm this payment"


def collect_month(
    session: Session,
    pool: Pool,
    month: int,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
) -> Collection:
    """Hold (month one) or charge (later months) every card member's share of this month and
    invoice the others, once each. The caller decides when (see `charge_due_steps`).

    Does not commit, but each card hold or charge commits the session first (see the module
    docstring).
    """
    now = as_utc(now or utcnow())
    chosen_quote(session, pool)
    members = billable_members(pool, month)
    result = Collection()
    try:
        ready = rises.check(session, pool, month, now)  # months 2+: told in time?
        owed = shares.month_amounts(session, pool, month, members)
    except shares.NoShare as error:
        result.problems.append(error.message)
        return result
    result.told = ready.told
    if not ready.ready:
        result.waiting_until = ready.due_on
        return result
    if month > 1 and len(members) < pool.min_members:
        return result  # the month will not run: settle_month winds the pool down
    for member in members:
        amount = owed[member.user_id]
        row = _claim(session, pool, member, month, amount, now)
        if row is None:
            result.skipped += 1
            continue
        if amount > member.max_pence:
            # Never more than they agreed to: they confirm the new share, or their place goes.
            row.status = PaymentStatus.FAILED.value
            row.message = OVER_MAXIMUM
            row.due_by = _due_by(session, pool, month, now)
        elif member.pay_by == PayBy.CARD.value:
            _charge_claimed(session, pool, member, row, now, gateway)
            result.charged += 1
        else:
            invoice(session, row, member, now)
            if month == 1:
                row.due_by = _first_deadline(session, pool)  # to be accepted by then
            result.invoiced += 1
        notices.payment_problem(session, row)  # sent once this is committed
    return result


def invoice(session: Session, row: PoolPayment, member: PoolMember, now: datetime) -> None:
    """Send this month's share to the managed account or council as a numbered invoice, due
    `invoices.INVOICE_DAYS` later (raised and emailed now, chased by the invoices job)."""
    row.status = PaymentStatus.INVOICED.value
    row.message = None
    raised = invoices.raise_for(session, row, member, now)
    row.due_by = schedule.start_of(raised.due_on)


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
    """A later month that will not run (the pool fell below its minimum) gives back what was
    charged for it. Never month one: it is held, not charged, until it is certain."""
    for row in payments_for(session, pool, month):
        if row.status == PaymentStatus.PAID.value and row.charge_id is not None:
            charge = session.get(Charge, row.charge_id)
            if charge is not None:
                # Commits first: a refund is durable before Stripe hears of it.
                payments.refund_charge(session, charge, gateway=gateway)
            row.status = PaymentStatus.REFUNDED.value
    release_all(session, pool, gateway)


# Rows of a month not yet taken: released (a hold) or cancelled (an invoice, a claim).
_UNTAKEN = (
    PaymentStatus.PENDING.value,
    PaymentStatus.HELD.value,
    PaymentStatus.FAILED.value,
    PaymentStatus.ACTION_NEEDED.value,
    PaymentStatus.INVOICED.value,
    PaymentStatus.ACCEPTED.value,
)


def release_all(session: Session, pool: Pool, gateway: PaymentGateway | None = None) -> int:
    """Release every hold and cancel every open invoice or pending payment of any month not
    taken, so nothing more is taken for this pool. Months already paid stay paid (refunding
    them is a separate decision). Safe to run again; returns how many rows it closed.

    Each hold's release COMMITS before Stripe hears of it (`payments.release_hold`); the
    rows' new states are for the caller to commit.
    """
    closed = 0
    rows = session.scalars(
        select(PoolPayment)
        .where(PoolPayment.pool_id == pool.id, PoolPayment.status.in_(_UNTAKEN))
        .order_by(PoolPayment.id)
        .execution_options(populate_existing=True)
    ).all()
    for row in rows:
        charge = session.get(Charge, row.charge_id) if row.charge_id is not None else None
        if charge is None and row.pay_by == PayBy.CARD.value and row.status == "pending":
            # A claim whose hold may have reached Stripe unrecorded (a crash): find it by key.
            charge = session.scalars(
                select(Charge).where(
                    Charge.idempotency_key == charge_key(pool.id, row.user_id, row.month)
                )
            ).first()
        if charge is not None:
            charge = payments.release_hold(session, charge, gateway=gateway)
            if charge.status == ChargeStatus.SUCCEEDED.value:
                _apply_charge(session, pool, row, charge, utcnow())  # it was taken: say so
                continue
            row.charge_id = charge.id
        # "Released" only where a hold was placed; a refused card never held anything.
        row.status = (
            PaymentStatus.RELEASED.value
            if charge is not None
            and charge.manual_capture
            and charge.status == ChargeStatus.RELEASED.value
            else PaymentStatus.CANCELLED.value
        )
        row.due_by = None
        closed += 1
    invoices.cancel_for(session, pool, utcnow())  # each account holder told: nothing to pay
    return closed


def lapse(session: Session, pool: Pool, reason: str, gateway: PaymentGateway | None = None) -> None:
    """End a pool that will not happen: every hold released, every invoice cancelled. Month
    one is never taken before it is certain, so nobody paid and nothing is refunded."""
    release_all(session, pool, gateway)
    pool.status = PoolStatus.LAPSED.value
    pool.end_reason = reason
    pool.ended_at = utcnow()
    notices.lapsed(session, pool)  # people offered a place are told too, then the offers end
    offers.withdraw_all(session, pool, pool.ended_at)


def _overdue(row: PoolPayment, now: datetime) -> bool:
    return (
        row.status in (PaymentStatus.FAILED.value, PaymentStatus.ACTION_NEEDED.value)
        and row.due_by is not None
        and as_utc(row.due_by) <= now
    )


def _lock(session: Session, pool: Pool) -> None:
    # One settler at a time per pool (PostgreSQL; SQLite's write lock already is one).
    session.scalars(
        select(Pool)
        .where(Pool.id == pool.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _sync_rows(session: Session, pool: Pool, month: int, now: datetime) -> list[PoolPayment]:
    """The month's rows, brought up to their charges (a webhook, a confirmation on session or
    `flask payments reconcile` may have moved a charge on since)."""
    rows = payments_for(session, pool, month)
    open_rows = [
        row
        for row in rows
        if row.charge_id is not None
        and row.status
        in (
            PaymentStatus.PENDING.value,
            PaymentStatus.HELD.value,
            PaymentStatus.ACTION_NEEDED.value,
            PaymentStatus.FAILED.value,
        )
    ]
    charges = _charges(session, [row.charge_id for row in open_rows])
    for row in open_rows:
        charge = charges.get(row.charge_id) if row.charge_id is not None else None
        if charge is not None:
            _apply_charge(session, pool, row, charge, now)
    return rows


def _charges(session: Session, ids: list[int | None]) -> dict[int, Charge]:
    """These charges, read afresh in one query (not one `get` each)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    found = session.scalars(
        select(Charge).where(Charge.id.in_(wanted)).execution_options(populate_existing=True)
    )
    return {charge.id: charge for charge in found}


SECURED = (PaymentStatus.HELD.value, PaymentStatus.ACCEPTED.value, PaymentStatus.PAID.value)


def not_secured_reason(session: Session, pool: Pool) -> str:
    """Why a pool lapsed on its first charge date (the true reason, with the date)."""
    first = schedule.charge_date(session, pool, 1)
    when = format_datetime(schedule.start_of(first)) if first else "its start date"
    return f"Not every share could be secured by {when}, so nobody paid"


def _settle_first_month(
    session: Session, pool: Pool, now: datetime, gateway: PaymentGateway | None
) -> str:
    """On the first charge date: take every held share and start the pool, or release them
    all and lapse it. Before that date, nothing (there is still time to put a share right)."""
    if pool.status == PoolStatus.FUNDED.value:
        if not schedule.is_due(schedule.charge_date(session, pool, 1), now):
            return pool.status
        _renew_stale_holds(session, pool, now, gateway)
        rows = {r.user_id: r for r in _sync_rows(session, pool, 1, now)}
        members = billable_members(pool, 1)
        secured = len(members) >= pool.min_members and all(
            m.user_id in rows and rows[m.user_id].status in SECURED for m in members
        )
        started = any(r.status == PaymentStatus.PAID.value for r in rows.values())
        if not secured and not started:
            lapse(session, pool, not_secured_reason(session, pool), gateway)
            return pool.status
        # Going ahead: decided before the first capture, which commits it with its claim, so
        # a second worker (or the next run) finishes the captures instead of deciding again.
        pool.status = PoolStatus.RUNNING.value
        pool.commissioned_at = now
    elif pool.status == PoolStatus.RUNNING.value and pool.months_started < 1:
        _renew_stale_holds(session, pool, now, gateway)  # a run that stopped half way, days ago
    if pool.status == PoolStatus.RUNNING.value and pool.months_started < 1:
        _capture_first_month(session, pool, now, gateway)
    return pool.status


def _renew_stale_holds(
    session: Session, pool: Pool, now: datetime, gateway: PaymentGateway | None
) -> None:
    """Holds placed `HOLD_LEAD_DAYS` ahead are taken well inside Stripe's 7 days. If the job
    was stopped for longer than that, a hold may be gone: each one that is (or nearly is) is
    placed again before anything counts on it, so a late run still takes all or nothing."""
    members = {m.user_id: m for m in pool.members}
    rows = [
        row
        for row in payments_for(session, pool, 1)
        if row.charge_id is not None
        and row.status in (PaymentStatus.HELD.value, PaymentStatus.FAILED.value)
    ]
    # The pool's charges in one query, not one a member.
    charges = {
        charge.id: charge
        for charge in session.scalars(
            select(Charge).where(Charge.id.in_({row.charge_id for row in rows}))
        )
    }
    for row in rows:
        charge = charges.get(row.charge_id) if row.charge_id is not None else None
        member = members.get(row.user_id)
        if charge is None or member is None:
            continue
        if not payments.hold_is_stale(charge, row.held_at, now):
            continue
        if not member.payment_method_id:
            continue
        charge = payments.renew_hold(  # commits
            session,
            charge,
            user=member.user,
            payment_method_id=member.payment_method_id,
            metadata={"pool": str(pool.id), "month": "1"},
            gateway=gateway,
        )
        _apply_charge(session, pool, row, charge, now)


def _capture_first_month(
    session: Session, pool: Pool, now: datetime, gateway: PaymentGateway | None
) -> None:
    """Take every held share of month one (each once), then, once, owe the provider the month
    and tell everyone. Safe on two workers at once and after a crash half way."""
    held_rows = [
        row
        for row in payments_for(session, pool, 1)
        if row.status == PaymentStatus.HELD.value and row.charge_id is not None
    ]
    charge_ids = [row.charge_id for row in held_rows if row.charge_id is not None]
    taken = {charge.id: charge for charge in payments.capture_holds(session, charge_ids, gateway)}
    paid: list[int] = []
    gone: list[int] = []
    for row in held_rows:
        charge = taken.get(row.charge_id) if row.charge_id is not None else None
        if charge is None:
            continue  # another worker is taking it, or already took it
        (paid if charge.status == ChargeStatus.SUCCEEDED.value else gone).append(row.id)
    outcomes = (
        (paid, {"status": PaymentStatus.PAID.value, "paid_at": now, "due_by": None}),
        # The hold was gone (Stripe drops one left past 7 days): the share is asked for again
        # like a later month's, with GRACE_DAYS to pay or the place goes.
        (
            gone,
            {
                "status": PaymentStatus.FAILED.value,
                "message": "The hold on your card ran out before the payment was taken",
                "due_by": now + timedelta(days=GRACE_DAYS),
            },
        ),
    )
    for ids, new in outcomes:
        if ids:
            session.execute(
                update(PoolPayment)
                .where(PoolPayment.id.in_(ids), PoolPayment.status == PaymentStatus.HELD.value)
                .values(**new)
                # The rows are read afresh just below; matching the UPDATE against every
                # object the session holds ("evaluate") costs a scan of them.
                .execution_options(synchronize_session=False)
            )
    session.flush()
    rows = payments_for(session, pool, 1)
    if any(r.status == PaymentStatus.HELD.value for r in rows):
        return  # another worker is still taking some: it finishes the month
    started = session.execute(
        update(Pool).where(Pool.id == pool.id, Pool.months_started < 1).values(months_started=1)
    )
    session.refresh(pool)
    if getattr(started, "rowcount", 0) != 1:
        return  # another worker finished the month first
    collected = sum(r.amount_pence for r in rows if r.status == PaymentStatus.PAID.value)
    if collected:
        payments.record_payout_owed(
            session,
            chosen_quote(session, pool).organisation_id,
            collected,
            f"pool {pool.id} month 1",
        )
    for row in rows:
        if row.status == PaymentStatus.ACCEPTED.value:
            row.status = PaymentStatus.INVOICED.value  # now due; staff record it paid
    _load_users(session, pool)  # everyone is told: read them in one query
    notices.commissioned(session, pool)


def settle_month(
    session: Session,
    pool: Pool,
    month: int,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
) -> str:
    """Decide what a month's payments mean: wait, commission or go on, or lapse.

    Month one is all or nothing on its charge date (`_settle_first_month`). A later month
    waits for refused payments until their grace runs out, then goes on without those
    members, or winds the pool down below its minimum. Returns the pool's status afterwards.
    """
    now = as_utc(now or utcnow())
    _lock(session, pool)
    if month == 1:
        return _settle_first_month(session, pool, now, gateway)
    if pool.months_started >= month:
        return pool.status  # another worker settled this month first
    _sync_rows(session, pool, month, now)
    rows = payments_for(session, pool, month)
    by_user = {r.user_id: r for r in rows}
    unpaid = []
    for member in billable_members(pool, month):
        row = by_user.get(member.user_id)
        if row is not None and _overdue(row, now):
            # Their place goes: they could not pay in time (their card was never charged).
            row.status = PaymentStatus.CANCELLED.value
            unpaid.append(member)
    offers.remove_unpaid(session, pool, unpaid, now)
    members = billable_members(pool, month)
    if len(members) < pool.min_members:
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
    return pool.status


def fund(
    session: Session,
    pool: Pool,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
) -> str:
    """Month one of a pool whose vote chose a quote, as far as today allows: hold every share
    from `HOLD_LEAD_DAYS` before the charge date (or at once if that is sooner), and on the
    charge date take them all or release them all."""
    if pool.status != PoolStatus.FUNDED.value:
        raise DomainError("Only a funded pool can be collected")
    now = as_utc(now or utcnow())
    if schedule.is_due(schedule.hold_date(session, pool), now) and _unclaimed(session, pool, now):
        collect_month(session, pool, 1, now, gateway)
    return settle_month(session, pool, 1, now, gateway)


def _unclaimed(session: Session, pool: Pool, now: datetime) -> bool:
    """Whether month one has a share nobody has claimed yet (or a claim left by a worker that
    died): on the charge date every share was held days before, and trying each claim again
    (an INSERT that fails, one member at a time) would be all the work collect_month did."""
    rows = {row.user_id: row for row in payments_for(session, pool, 1)}
    return any(
        member.user_id not in rows or _stale(rows[member.user_id], now)
        for member in billable_members(pool, 1)
    )


def _stale(row: PoolPayment, now: datetime) -> bool:
    """A payment row still pending after STALE_AFTER was left by a worker that died."""
    return row.status == PaymentStatus.PENDING.value and as_utc(row.created_at) <= now - STALE_AFTER


def _my_row(session: Session, user: User, pool: Pool, month: int) -> PoolPayment:
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
    return row


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
    """The member puts a refused payment right (optionally with a new card). Month one is held
    again, not taken: it is taken on the charge date with everyone else's. An intent still
    waiting for the bank is cancelled first (payments does), so it cannot be confirmed too."""
    now = as_utc(now or utcnow())
    row = _my_row(session, user, pool, month)
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


def confirm_payment(
    session: Session,
    user: User,
    pool: Pool,
    month: int,
    success: bool = True,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
) -> PoolPayment:
    """The member confirms, on session, a payment their bank asked about (3-D Secure). Month
    one then becomes a hold, taken on the charge date with everyone else's; a later month is
    taken. Refusing leaves it to be put right (another card) before the deadline."""
    now = as_utc(now or utcnow())
    row = _my_row(session, user, pool, month)
    if row.status != PaymentStatus.ACTION_NEEDED.value or row.charge_id is None:
        raise DomainError("Your bank has not asked you to confirm this payment")
    charge = session.get(Charge, row.charge_id)
    if charge is None:
        raise DomainError("There is no such payment")
    charge = payments.authenticate(session, charge, success, gateway=gateway)  # commits
    _apply_charge(session, pool, row, charge, now)
    if row.status == PaymentStatus.FAILED.value:
        row.message = "You did not confirm the payment with your bank"
    if month > 1:
        settle_month(session, pool, month, now, gateway)
    return row


def accept_invoice(session: Session, staff: User, row: PoolPayment) -> None:
    """ULO staff confirm the managed account or council will pay this month-one invoice: the
    share is then secured. Nothing is paid on it until the pool runs."""
    invoices.check_area(session, staff, row.pool)
    if row.status != PaymentStatus.INVOICED.value or row.pool.status != PoolStatus.FUNDED.value:
        raise DomainError("This invoice is not waiting to be accepted")
    row.status = PaymentStatus.ACCEPTED.value
    row.recorded_by_id = staff.id


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
    reminded: int = 0
    told: int = 0  # members told their share rises
    offers_ended: int = 0


def charge_due(
    session: Session, now: datetime | None = None, gateway: PaymentGateway | None = None
) -> JobReport:
    """Everything `charge_due_steps` does, in one go, for callers that commit once after."""
    report = JobReport()
    for _ in charge_due_steps(session, report, now, gateway):
        pass
    return report


def deadline_reason(pool: Pool) -> str:
    """Why a pool still gathering on its deadline ends: the true one of the two."""
    if len(pool.current_members) < pool.min_members:
        return (
            f"The pool did not reach its minimum of {pool.min_members} members by the deadline, "
            "so nobody paid anything"
        )
    return "No quote was chosen by the deadline, so the pool did not go ahead and nobody paid"


def charge_due_steps(
    session: Session,
    report: JobReport,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
) -> Iterator[None]:
    """The `pools.charge_due` job, on the dates `schedule.py` gives: lapse pools past their
    deadline; remind members `REMINDER_DAYS` before each charge; hold month one from
    `HOLD_LEAD_DAYS` before its charge date (a pool whose `pools.fund` job was lost, too) and
    take it or release it on that date; charge later months on theirs; settle months whose
    grace has run out; end pools whose last month is over. Safe to run twice or on two
    machines.

    Counts what it did in `report` and yields after each pool, so that the caller commits each
    pool's work on its own: one pool that fails does not undo the others. Never commits itself.
    """
    now = as_utc(now or utcnow())
    report.offers_ended += offers.end_expired(session, now)
    yield
    for pool in session.scalars(
        select(Pool).where(Pool.status.in_(GATHERING), Pool.deadline < now.date())
    ).all():
        lapse(session, pool, deadline_reason(pool), gateway)
        report.lapsed += 1
        yield
    for pool in session.scalars(
        select(Pool).where(Pool.status.in_(schedule.CHARGING)).order_by(Pool.id)
    ).all():
        if _remind(session, pool, now):
            report.reminded += 1
    yield
    for pool in session.scalars(
        select(Pool).where(Pool.status == PoolStatus.FUNDED.value).order_by(Pool.id)
    ).all():
        if not schedule.is_due(schedule.hold_date(session, pool), now):
            continue
        fund(session, pool, now, gateway)
        report.funded += 1
        yield
    for pool in session.scalars(
        select(Pool).where(Pool.status == PoolStatus.RUNNING.value).order_by(Pool.id)
    ).all():
        if pool.months_started < 1:
            # Decided to go ahead, but a worker stopped before every hold was taken.
            settle_month(session, pool, 1, now, gateway)
            report.settled += 1
            yield
            continue
        month = pool.months_started + 1
        if month <= pool.months and schedule.is_due(
            schedule.notice_date(session, pool, month), now
        ):
            # From a little over NOTICE_DAYS before the charge date: leavers go, their places
            # are offered, rises are told, and the month is charged once it is due.
            _lock(session, pool)
            if shares.last_collected_month(session, pool) < month:
                _retire_leavers(session, pool, month, now)
            collection = collect_month(session, pool, month, now, gateway)
            report.told += collection.told
            if collection.waiting_until is None and schedule.is_due(
                schedule.due_date(session, pool, month), now
            ):
                # Charged, or there is no share to charge (too few members): settle decides.
                settle_month(session, pool, month, now, gateway)
                report.collected += 1
            yield
        elif month > pool.months and schedule.is_due(
            schedule.charge_date(session, pool, pool.months + 1), now
        ):
            pool.status = PoolStatus.CLOSED.value  # the last month paid for is over
            pool.ended_at = now
            report.closed += 1
            yield
    for pool in session.scalars(
        select(Pool).where(Pool.status == PoolStatus.WINDING_DOWN.value)
    ).all():
        if schedule.is_due(schedule.charge_date(session, pool, pool.months_started + 1), now):
            pool.status = PoolStatus.CLOSED.value  # the last paid month is over
            pool.ended_at = now
            report.closed += 1
            yield
    yield


def _remind(session: Session, pool: Pool, now: datetime) -> bool:
    """Note the "charged in 3 days" email for the pool's next month, once (a conditional
    UPDATE claims it, so two runs send one). Sent through the outbox after the commit."""
    month = shares.next_month(pool)
    if pool.months_started >= pool.months or pool.reminded_month >= month:
        return False
    on = schedule.due_date(session, pool, month)
    if on is None or not schedule.is_due(schedule.reminder_date(session, pool, month), now):
        return False
    if schedule.is_due(on, now):
        return False  # the charge date has come: too late to remind
    claimed = session.execute(
        update(Pool)
        .where(Pool.id == pool.id, Pool.reminded_month < month)
        .values(reminded_month=month)
    )
    session.refresh(pool)
    if getattr(claimed, "rowcount", 0) != 1:
        return False
    notices.charge_reminder(session, pool, month, on)
    return True


def _retire_leavers(session: Session, pool: Pool, month: int, now: datetime) -> None:
    """Members who asked to leave after an earlier month have now left; their places are
    offered to the people waiting (offers.py), who pay nothing unless they confirm."""
    for member in pool.current_members:
        if member.leave_after_month is not None and member.leave_after_month < month:
            member.status = MemberStatus.LEFT.value
            member.left_at = now
    session.flush()
    offers.offer_free_places(session, pool, now)


def _on_intent_succeeded(session: Session, event: dict[str, Any]) -> None:
    """A member's payment went through later (they confirmed it with their bank, or it was
    still processing): the month's row is paid. The next `charge-due` run settles the month.

    Runs after the payments package's own handler has marked the charge succeeded; a replayed
    or out-of-order event finds the row already paid and changes nothing.
    """
    key = events.metadata(events.data_object(event)).get(payments.META_KEY)
    if not key or not key.startswith(f"{PURPOSE}:"):
        return
    charge = session.scalars(select(Charge).where(Charge.idempotency_key == key)).first()
    if charge is None or charge.status != ChargeStatus.SUCCEEDED.value:
        return
    row = session.scalars(select(PoolPayment).where(PoolPayment.charge_id == charge.id)).first()
    if row is not None and row.status in (
        PaymentStatus.PENDING.value,
        PaymentStatus.ACTION_NEEDED.value,
        PaymentStatus.FAILED.value,
        PaymentStatus.HELD.value,  # taken on the charge date; our capture records it too
    ):
        _apply_charge(session, row.pool, row, charge, utcnow())


def register_webhooks() -> None:
    """Settle a pool when Stripe says a member's payment went through (after payments')."""
    payments.register_handler("payment_intent.succeeded", _on_intent_succeeded)
