"""Invoices for shares paid by a managed account or the council: numbered, sent, chased, paid.

When a share is invoiced (`funding.invoice`: month one from its hold date, later months on their
charge date) an invoice is raised at once: numbered INV-<year>-<sequence>, due `INVOICE_DAYS`
later, and emailed that day to the account holder the member named when they joined. The email
gives the number, the amount, the due date, how to pay and a private link to the invoice page;
it names no service, pool or condition (it may be read by anyone at the account holder's desk).

The job (`chase`) sends reminders 7 days and 1 day before the due date and on it, each once.
An invoice still unpaid after its due date follows the card rule for a refused payment: the
member is told, and if it is still unpaid `GRACE_DAYS` later their place ends (the invoice
stays owed for the months already provided). ULO staff for the pool's area, or an admin,
record money received (amount, date received, reference), in parts if it comes in parts; when
the balance reaches nothing the share is paid and the provider is owed it.

An invoice of a pool that lapses or is cancelled before it is paid is cancelled, and the account
holder is told there is nothing to pay. Never commits.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from marketplace import audit
from marketplace.auth.models import User
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import as_utc, utcnow
from marketplace.email import MONEY
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.money import format_pence
from marketplace.payments import services as payments
from marketplace.pools import notices, offers, schedule
from marketplace.pools.models import (
    GRACE_DAYS,
    Invoice,
    InvoicePayment,
    InvoiceStatus,
    MemberStatus,
    PaymentStatus,
    Pool,
    PoolMember,
    PoolPayment,
    PoolStatus,
    Quote,
)
from marketplace.web.template_globals import format_date

INVOICE_DAYS = 30  # for a managed account or the council to pay
REMINDER_DAYS = (7, 1, 0)  # days before the due date: reminders 1, 2 and 3
MAX_REFERENCE = 60
REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./#_-]*$")
AUDIT_PAYMENT = "pool.invoice_payment_recorded"
NUMBER_TRIES = 5
RECEIPT_PURPOSE = "pool_invoice"  # the ledger reference's prefix; pools describes its receipt


def number_for(year: int, sequence: int) -> str:
    """INV-2026-000123: the year it was raised and its place in that year."""
    return f"INV-{year}-{sequence:06d}"


def clean_reference(value: str | None, field: str, required: bool) -> str | None:
    """A reference as an account holder or a bank gives it: letters, digits and . / # _ -."""
    text = " ".join((value or "").split())
    if not text:
        if required:
            raise DomainError("Enter the reference", field=field)
        return None
    if len(text) > MAX_REFERENCE:
        raise DomainError(f"Keep the reference to {MAX_REFERENCE} characters", field=field)
    if not REFERENCE.match(text):
        raise DomainError(
            "A reference can only have letters, numbers, spaces and . / # _ -", field=field
        )
    return text


def _next_sequence(session: Session, year: int) -> int:
    top = session.scalar(select(func.max(Invoice.sequence)).where(Invoice.year == year))
    return (top or 0) + 1


def invoice_of(session: Session, row: PoolPayment) -> Invoice | None:
    return session.scalars(select(Invoice).where(Invoice.payment_id == row.id)).first()


def raise_for(session: Session, row: PoolPayment, member: PoolMember, now: datetime) -> Invoice:
    """The invoice for this invoiced share, raised and emailed once (a second call returns
    it). The number is the next in the year; two workers raising at once cannot share one:
    UNIQUE (year, sequence) refuses the second, which takes the next."""
    existing = invoice_of(session, row)
    if existing is not None:
        return existing
    now = as_utc(now)
    raised = now.date()
    session.flush()  # the row's id
    for _attempt in range(NUMBER_TRIES):
        sequence = _next_sequence(session, raised.year)
        invoice = Invoice(
            number=number_for(raised.year, sequence),
            year=raised.year,
            sequence=sequence,
            payment_id=row.id,
            pool_id=row.pool_id,
            user_id=row.user_id,
            amount_pence=row.amount_pence,
            bill_to=member.invoice_to or "The council",
            # An older pledge has no address: the member is sent it to pass on.
            bill_to_email=member.invoice_email or member.user.email,
            bill_to_reference=member.invoice_reference,
            raised_on=raised,
            due_on=raised + timedelta(days=INVOICE_DAYS),
            status=InvoiceStatus.OPEN.value,
            reminders_sent=0,
            access_token=secrets.token_urlsafe(32),
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(invoice)
        except IntegrityError:
            continue
        _send_to_holder(session, invoice, "sent")
        notices.invoice_sent(session, row.pool, member, invoice.number, invoice.bill_to)
        return invoice
    raise DomainError("An invoice number could not be given: try again")


def holder_link(invoice: Invoice) -> str:
    """The account holder's private link to the invoice page (they have no account here)."""
    return notices.link("invoices.shared", token=invoice.access_token)


def _seller() -> str:
    return str(current_app.config.get("SELLER_NAME") or "Budget Marketplace")


def _send_to_holder(session: Session, invoice: Invoice, what: str) -> None:
    """The account holder's email: number, amount, dates, how to pay, the link; nothing else
    (the service, the pool and the person's condition are on the page, behind the link)."""
    amount = format_pence(invoice.amount_pence)
    due = format_date(invoice.due_on)
    ref = f" (your reference {invoice.bill_to_reference})" if invoice.bill_to_reference else ""
    subjects = {
        "sent": f"Invoice {invoice.number} from {_seller()}",
        "reminder": f"Reminder: invoice {invoice.number} is due on {due}",
        "due": f"Invoice {invoice.number} is due today",
        "overdue": f"Invoice {invoice.number} is overdue",
        "cancelled": f"Invoice {invoice.number} is cancelled: there is nothing to pay",
    }
    if what == "cancelled":
        lines = (
            f"Invoice {invoice.number} for {amount}{ref} is cancelled: the service it was for "
            "will not go ahead, so there is nothing to pay. If you have already paid part of "
            "it, the user-led organisation will return it."
        )
    else:
        still = format_pence(invoice.balance_pence)
        lines = (
            f"Invoice {invoice.number}{ref}\n"
            f"Amount: {amount}\n"
            f"Still to pay: {still}\n"
            f"Raised on: {format_date(invoice.raised_on)}\n"
            f"Due by: {due}\n\n"
            f"{how_to_pay(invoice)}"
        )
    notices.send_to_address(
        session,
        invoice.bill_to_email,
        subjects[what],
        f"Hello,\n\n{lines}\n\nThe invoice, ready to print, is here:\n\n{holder_link(invoice)}\n",
        MONEY,
    )


def how_to_pay(invoice: Invoice) -> str:
    """The sentence the invoice page and every email give: true to `record_payment`."""
    return (
        f"Pay {_seller()} by bank transfer, quoting {invoice.number} as the reference. The "
        "user-led organisation records your payment when it arrives; part payments are "
        "recorded as they come in."
    )


def check_area(session: Session, staff: User, pool: Pool) -> None:
    """ULO staff for the pool's council, or an admin: who may accept or record invoices."""
    areas = moderation.moderated_council_codes(session, staff)
    if areas is not None and pool.council.code not in areas:
        raise NotAllowed("Only ULO staff for this area can record this")


MEMBER = "member"
CARER = "carer"
STAFF = "staff"


def access(session: Session, user: User, invoice: Invoice) -> str | None:
    """How this person may see the invoice: as the member whose share it is, as their carer
    (pools or view grant), as ULO staff for the area or an admin; None: not at all."""
    if user.id == invoice.user_id:
        return MEMBER
    if can_manage(session, user, invoice.pool):
        return STAFF
    for scope in (CarerScope.POOLS, CarerScope.VIEW):
        try:
            carers.authorise(session, user, invoice.user_id, scope)
        except NotAllowed:
            continue
        return CARER
    return None


def can_manage(session: Session, user: User | None, pool: Pool) -> bool:
    if user is None:
        return False
    try:
        check_area(session, user, pool)
    except NotAllowed:
        return False
    return True


@dataclass(frozen=True)
class Received:
    amount_pence: int
    received_on: date
    reference: str


def record_payment(
    session: Session, staff: User, invoice: Invoice, received: Received, now: datetime
) -> Invoice:
    """Record money received against an invoice. When nothing is left to pay, the share is
    paid (on the date the last money arrived) and the provider is owed it."""
    pool = invoice.pool
    check_area(session, staff, pool)
    if invoice.status != InvoiceStatus.OPEN.value:
        raise DomainError(f"This invoice is {invoice.status}: nothing more can be recorded")
    if pool.status == PoolStatus.FUNDED.value:
        raise DomainError(
            "The pool has not started yet, so nothing can be paid on it: accept the invoice "
            "instead, and record the money once the pool is running",
            field="amount",
        )
    if received.amount_pence <= 0:
        raise DomainError("Enter an amount more than £0", field="amount")
    if received.amount_pence > invoice.balance_pence:
        raise DomainError(
            f"That is more than the {format_pence(invoice.balance_pence)} still to pay",
            field="amount",
        )
    today = as_utc(now).date()
    if received.received_on > today:
        raise DomainError("The date received must be today or in the past", field="received_on")
    reference = clean_reference(received.reference, "reference", required=True)
    assert reference is not None  # noqa: S101 - required above
    session.add(
        InvoicePayment(
            invoice=invoice,
            amount_pence=received.amount_pence,
            received_on=received.received_on,
            reference=reference,
            recorded_by_id=staff.id,
            recorded_at=now,
        )
    )
    session.flush()
    session.refresh(invoice, ["received"])
    audit.record(
        session,
        staff.id,
        AUDIT_PAYMENT,
        "pool_invoice",
        invoice.id,
        f"{format_pence(received.amount_pence)} received on {received.received_on.isoformat()}, "
        f"reference {reference}; {format_pence(invoice.balance_pence)} still to pay",
    )
    if invoice.balance_pence == 0:
        _paid(session, staff, invoice, received.received_on, now)
    return invoice


def _paid(session: Session, staff: User, invoice: Invoice, on: date, now: datetime) -> None:
    invoice.status = InvoiceStatus.PAID.value
    invoice.closed_at = now
    invoice.overdue_until = None
    row = invoice.payment
    row.status = PaymentStatus.PAID.value
    row.paid_at = schedule.start_of(on)
    row.recorded_by_id = staff.id
    row.due_by = None
    pool = invoice.pool
    quote = session.get(Quote, pool.chosen_quote_id) if pool.chosen_quote_id else None
    if quote is not None:
        payments.record_payout_owed(
            session,
            quote.organisation_id,
            row.amount_pence,
            f"pool {row.pool_id} month {row.month} invoice",
        )
    # Money in, as a card share's charge is: receipts issues the member's receipt for it.
    payments.record_invoice_paid(
        session, invoice.user_id, invoice.amount_pence, RECEIPT_PURPOSE, invoice.number
    )
    notices.invoice_paid(session, invoice.pool, invoice.user, invoice.number, row.month)


def cancel_for(session: Session, pool: Pool, now: datetime) -> int:
    """Cancel the open invoices of shares the pool no longer asks for (it lapsed or was
    cancelled: `funding.release_all` cancelled the shares), telling each account holder."""
    found = session.scalars(
        select(Invoice)
        .join(PoolPayment, PoolPayment.id == Invoice.payment_id)
        .where(
            Invoice.pool_id == pool.id,
            Invoice.status == InvoiceStatus.OPEN.value,
            PoolPayment.status == PaymentStatus.CANCELLED.value,
        )
        .options(selectinload(Invoice.received))
    ).all()
    for invoice in found:
        invoice.status = InvoiceStatus.CANCELLED.value
        invoice.closed_at = now
        invoice.overdue_until = None
        _send_to_holder(session, invoice, "cancelled")
    return len(found)


def reminder_due(invoice: Invoice, today: date) -> int:
    """Which reminder is due on `today` (0: none yet): the latest one whose day has come."""
    due = 0
    for stage, days in enumerate(REMINDER_DAYS, start=1):
        if today >= invoice.due_on - timedelta(days=days):
            due = stage
    return due


@dataclass
class Chased:
    reminded: int = 0
    overdue: int = 0
    places_ended: int = 0


def chase(session: Session, now: datetime | None = None) -> Chased:
    """The job: remind, mark overdue, and end the places of invoices unpaid past their grace.
    Each reminder is claimed by a conditional UPDATE, so two runs send it once."""
    now = as_utc(now or utcnow())
    today = now.date()
    result = Chased()
    open_invoices = session.scalars(
        select(Invoice)
        .where(Invoice.status == InvoiceStatus.OPEN.value)
        .options(selectinload(Invoice.received))
        .order_by(Invoice.id)
    ).all()
    for invoice in open_invoices:
        if invoice.pool.status == PoolStatus.FUNDED.value:
            continue  # accepted or not, nothing is payable before the pool runs
        stage = reminder_due(invoice, today)
        if stage > invoice.reminders_sent:
            claimed = session.execute(
                update(Invoice)
                .where(Invoice.id == invoice.id, Invoice.reminders_sent < stage)
                .values(reminders_sent=stage)
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", 0) == 1:
                invoice.reminders_sent = stage
                _send_to_holder(session, invoice, "due" if stage == 3 else "reminder")
                result.reminded += 1
        if today > invoice.due_on and invoice.overdue_until is None:
            invoice.overdue_until = schedule.start_of(invoice.due_on) + timedelta(
                days=1 + GRACE_DAYS
            )
            _send_to_holder(session, invoice, "overdue")
            notices.invoice_overdue(
                session, invoice.pool, invoice.user, invoice.number, invoice.overdue_until
            )
            result.overdue += 1
        elif (
            invoice.overdue_until is not None
            and invoice.grace_ended_at is None
            and now >= as_utc(invoice.overdue_until)
        ):
            if _end_place(session, invoice, now):
                result.places_ended += 1
    return result


def _end_place(session: Session, invoice: Invoice, now: datetime) -> bool:
    """The card rule for an unpaid share: the place goes (the invoice stays owed)."""
    # Handled once, whatever follows: `overdue_until` stays, so the overdue notice is not sent
    # again either.
    invoice.grace_ended_at = now
    member = session.scalars(
        select(PoolMember).where(
            PoolMember.pool_id == invoice.pool_id,
            PoolMember.user_id == invoice.user_id,
            PoolMember.status == MemberStatus.MEMBER.value,
        )
    ).first()
    if member is None or invoice.pool.status != PoolStatus.RUNNING.value:
        return False
    offers.remove_unpaid(session, invoice.pool, [member], now)
    notices.invoice_place_ended(session, invoice.pool, invoice.user, invoice.number)
    return True


def for_pool(session: Session, pool: Pool) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice)
            .where(Invoice.pool_id == pool.id)
            .options(selectinload(Invoice.received))
            .order_by(Invoice.id)
        )
    )


def by_number(session: Session, number: str) -> Invoice | None:
    return session.scalars(
        select(Invoice).where(Invoice.number == number).options(selectinload(Invoice.received))
    ).first()


def by_token(session: Session, token: str) -> Invoice | None:
    if not token or len(token) > 64:
        return None
    return session.scalars(
        select(Invoice).where(Invoice.access_token == token).options(selectinload(Invoice.received))
    ).first()
