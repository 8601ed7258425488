"""Receipts: found for every successful payment, issued exactly once, emailed, shown to the payer.

Issuing is a job (`receipts.issue`, every 5 minutes, and `flask receipts issue`): it looks for
succeeded payments without a receipt (card charges that succeeded, including any refunded
since, and paid subscription invoices) and issues each one. The UNIQUE source columns on
`receipts` are the guard, so two workers and re-runs still give each payment one receipt and
one email. Each receipt is emailed as a MONEY email: sent even during a break or in digest mode.

What a receipt says about what was bought comes from the package that owns the payment
(`registry`); the seller of record is the platform, from SELLER_NAME and SELLER_ADDRESS.

Who may see a receipt: the payer; a carer whose live grant covers that kind of money (pools
or memberships); an admin, for support, which is audited. Everyone else is told it does not
exist. Services never commit: the job, the command and the pages do.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import current_app, url_for
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import Role, User
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import as_utc, utcnow
from marketplace.email import MONEY, send_email_or_log
from marketplace.errors import NotAllowed
from marketplace.money import format_pence
from marketplace.payments.models import (
    Charge,
    ChargeStatus,
    LedgerEntry,
    LedgerKind,
    WebhookEvent,
)
from marketplace.privacy import services as privacy
from marketplace.receipts import registry
from marketplace.receipts.models import Receipt, SourceKind, receipt_number
from marketplace.receipts.registry import Lines, Paid
from marketplace.web.template_globals import format_date

log = logging.getLogger(__name__)

JOB = "receipts.issue"
EVERY = timedelta(minutes=5)
# Every paid subscription invoice here is a ULO membership fee (memberships/billing.py).
INVOICE_PURPOSE = "membership"
AUDIT_VIEWED = "receipt.viewed"
SUBJECT_TYPE = "receipt"
# What the list page promises: true while the worker runs the job every EVERY (see __init__).
# Shares paid by invoice (a managed account or the council) get none yet: issue 18, item 2.
READY_WITHIN = (
    "Every card payment and membership fee that goes through gets a receipt here, usually "
    "within 5 minutes, and we email you a link to it. Shares paid by invoice through a "
    "managed account or the council are not on this page yet."
)
_NUMBER_ATTEMPTS = 20


# --- the seller of record -------------------------------------------------------------------


@dataclass(frozen=True)
class Seller:
    name: str
    address: str


def seller() -> Seller:
    """The platform, which takes every payment: the seller of record on every receipt."""
    return Seller(current_app.config["SELLER_NAME"], current_app.config["SELLER_ADDRESS"])


# --- finding payments without a receipt -----------------------------------------------------


_RECEIPTED = (ChargeStatus.SUCCEEDED.value, ChargeStatus.REFUNDED.value)


def _charges_due(session: Session) -> list[Charge]:
    """Card charges that went through (refunded ones too: the money was taken) and have no
    receipt yet, oldest first."""
    has_receipt = exists().where(Receipt.charge_id == Charge.id)
    return list(
        session.scalars(
            select(Charge).where(Charge.status.in_(_RECEIPTED), ~has_receipt).order_by(Charge.id)
        )
    )


def _invoices_due(
    session: Session, kind: LedgerKind = LedgerKind.SUBSCRIPTION_PAYMENT
) -> list[LedgerEntry]:
    """Paid invoices for a known person with no receipt yet, oldest first: subscription
    invoices (recorded by the invoice.payment_succeeded webhook) or, with kind
    INVOICE_PAYMENT, our own invoices paid by bank transfer (recorded by staff)."""
    has_receipt = exists().where(Receipt.ledger_entry_id == LedgerEntry.id)
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.kind == kind.value,
                LedgerEntry.user_id.is_not(None),
                ~has_receipt,
            )
            .order_by(LedgerEntry.id)
        )
    )


def _charge_paid_at(session: Session, charge: Charge) -> datetime:
    """When the money was taken: the charge's ledger entry, written as it succeeded."""
    taken = session.scalar(
        select(LedgerEntry.created_at)
        .where(LedgerEntry.charge_id == charge.id, LedgerEntry.kind == LedgerKind.CHARGE.value)
        .order_by(LedgerEntry.id)
        .limit(1)
    )
    return as_utc(taken or charge.updated_at)


def stored_invoice(session: Session, invoice_id: str) -> dict[str, Any] | None:
    """The Stripe invoice object as its invoice.payment_succeeded webhook delivered it."""
    payloads = session.scalars(
        select(WebhookEvent.payload).where(
            WebhookEvent.type == "invoice.payment_succeeded",
            WebhookEvent.payload.contains(f'"{invoice_id}"', autoescape=True),
        )
    )
    for payload in payloads:
        try:
            obj = (json.loads(payload).get("data") or {}).get("object")
        except (ValueError, AttributeError):
            continue
        if isinstance(obj, dict) and obj.get("id") == invoice_id:
            return obj
    return None


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**37:
        return None
    return datetime.fromtimestamp(value, UTC)


def _invoice_paid_at(entry: LedgerEntry, invoice: dict[str, Any] | None) -> datetime:
    transitions = (invoice or {}).get("status_transitions")
    paid = _timestamp(transitions.get("paid_at")) if isinstance(transitions, dict) else None
    return paid or as_utc(entry.created_at)


def payments_due(session: Session) -> Iterator[Paid]:
    """Every successful payment that has no receipt yet, as a describer is given it."""
    for charge in _charges_due(session):
        yield Paid(
            source_kind=SourceKind.CHARGE.value,
            purpose=charge.purpose,
            user_id=charge.user_id,
            amount_pence=charge.amount_pence,
            paid_at=_charge_paid_at(session, charge),
            reference=charge.reference,
            charge=charge,
        )
    for entry in _invoices_due(session):
        if entry.user_id is None:  # _invoices_due asks for a known person; for the type checker
            continue
        invoice = stored_invoice(session, entry.stripe_id) if entry.stripe_id else None
        yield Paid(
            source_kind=SourceKind.INVOICE.value,
            purpose=INVOICE_PURPOSE,
            user_id=entry.user_id,
            amount_pence=entry.amount_pence,
            paid_at=_invoice_paid_at(entry, invoice),
            reference=entry.reference,
            ledger_entry=entry,
            invoice=invoice,
        )
    for entry in _invoices_due(session, LedgerKind.INVOICE_PAYMENT):
        if entry.user_id is None:
            continue
        # "<purpose>:<invoice number>": the package that sent the invoice describes it.
        purpose, _, number = entry.reference.partition(":")
        yield Paid(
            source_kind=SourceKind.INVOICE.value,
            purpose=purpose,
            user_id=entry.user_id,
            amount_pence=entry.amount_pence,
            paid_at=as_utc(entry.created_at),
            reference=number,
            ledger_entry=entry,
        )


# --- issuing ---------------------------------------------------------------------------------


def _generic_lines(paid: Paid) -> Lines:
    """A payment of a kind no package describes: still receipted, saying only what we know."""
    day = paid.paid_at.date()
    name = seller().name
    return Lines(f"Payment {paid.reference}", day, day, name, seller().address, "Card")


def describe(session: Session, paid: Paid) -> Lines | None:
    """What the receipt says, from the payment's owner (None: it cannot say yet)."""
    kind = registry.kind_of(paid.purpose)
    if kind is None:
        return _generic_lines(paid)
    return kind.describe(session, paid)


def _source_taken(session: Session, paid: Paid) -> bool:
    if paid.charge is not None:
        where = Receipt.charge_id == paid.charge.id
    elif paid.ledger_entry is not None:
        where = Receipt.ledger_entry_id == paid.ledger_entry.id
    else:
        raise ValueError("a payment has a charge or a ledger entry")
    return session.scalar(select(Receipt.id).where(where)) is not None


def _next_sequence(session: Session, year: int) -> int:
    last = session.scalar(select(func.max(Receipt.sequence)).where(Receipt.year == year))
    return (last or 0) + 1


def issue(session: Session, paid: Paid, now: datetime | None = None) -> Receipt | None:
    """Issue this payment's receipt and note its email (sent once the caller commits).

    None when it already has one (another worker got there first) or its owner cannot
    describe it yet. Numbers count up within the year of issue; if another worker took the
    next number first, the next one after it is taken.
    """
    lines = describe(session, paid)
    if lines is None:
        log.info("receipts: %s %s cannot be described yet", paid.source_kind, paid.reference)
        return None
    now = as_utc(now or utcnow())
    sold_by = seller()
    for _ in range(_NUMBER_ATTEMPTS):
        if _source_taken(session, paid):
            return None
        sequence = _next_sequence(session, now.year)
        receipt = Receipt(
            number=receipt_number(now.year, sequence),
            year=now.year,
            sequence=sequence,
            source_kind=paid.source_kind,
            charge_id=paid.charge.id if paid.charge is not None else None,
            ledger_entry_id=paid.ledger_entry.id if paid.ledger_entry is not None else None,
            purpose=paid.purpose,
            user_id=paid.user_id,
            amount_pence=paid.amount_pence,
            paid_at=paid.paid_at,
            what_for=lines.what_for[:300],
            period_start=lines.period_start,
            period_end=max(lines.period_end, lines.period_start),
            provider_name=lines.provider_name[:200],
            provider_address=(lines.provider_address or "")[:500] or None,
            paid_by=lines.paid_by[:120],
            seller_name=sold_by.name[:200],
            seller_address=sold_by.address,
            issued_at=now,
        )
        try:
            with session.begin_nested():
                session.add(receipt)
        except IntegrityError:
            continue  # the source or the number was taken meanwhile: look again
        _email(session, receipt)
        return receipt
    raise RuntimeError(f"could not number a receipt for {paid.source_kind} {paid.reference}")


def issue_due_steps(session: Session, now: datetime | None = None) -> Iterator[Receipt]:
    """Issue every receipt that is due, yielding after each so the caller commits each one
    (with its email) on its own."""
    for paid in list(payments_due(session)):
        receipt = issue(session, paid, now)
        if receipt is not None:
            yield receipt


# --- the email -------------------------------------------------------------------------------


def _link(endpoint: str, **values: Any) -> str:
    """An absolute link when the app knows its address (SERVER_NAME or a request), else a path."""
    try:
        return url_for(endpoint, _external=True, **values)
    except RuntimeError:
        with current_app.test_request_context():
            return url_for(endpoint, **values)


def email_text(receipt: Receipt, person: User) -> tuple[str, str]:
    """(subject, body) of the receipt email: the amount, what for and a link; nothing private."""
    amount = format_pence(receipt.amount_pence)
    subject = f"Receipt {receipt.number}: {amount} paid"
    body = (
        f"Hello {person.display_name},\n\n"
        f"We have received your payment of {amount} on {format_date(receipt.paid_at)} "
        f"for: {receipt.what_for}.\n\n"
        f"Your receipt number is {receipt.number}. See or print your receipt (sign in first):\n"
        f"{_link('receipts.show', number=receipt.number)}\n"
    )
    return subject, body


def _email(session: Session, receipt: Receipt) -> None:
    person = session.get(User, receipt.user_id)
    if person is None or person.erased_at is not None:
        return
    subject, body = email_text(receipt, person)
    send_email_or_log(
        person.email,
        subject,
        body,
        user_id=person.id,
        kind=MONEY,
        session=session,
        about="a receipt",
    )


# --- what a receipt says ---------------------------------------------------------------------


@dataclass(frozen=True)
class Refund:
    pence: int
    on: datetime | None


def refund_of(session: Session, receipt: Receipt) -> Refund | None:
    """Money given back since the receipt was issued (read from the payment, never stored)."""
    charge = receipt.charge
    if charge is None or not charge.refunded_pence:
        return None
    on = session.scalar(
        select(LedgerEntry.created_at)
        .where(LedgerEntry.charge_id == charge.id, LedgerEntry.kind == LedgerKind.REFUND.value)
        .order_by(LedgerEntry.id.desc())
        .limit(1)
    )
    return Refund(charge.refunded_pence, as_utc(on) if on else as_utc(charge.updated_at))


def period_words(start: date, end: date) -> str:
    """ "4 March 2026 to 3 April 2026", or the one date when the period is a single day."""
    if start == end:
        return format_date(start)
    return f"{format_date(start)} to {format_date(end)}"


def refund_words(refund: Refund | None, amount_pence: int) -> str | None:
    if refund is None:
        return None
    whole = "in full" if refund.pence == amount_pence else format_pence(refund.pence)
    return f"Refunded {whole} on {format_date(refund.on)}."


@dataclass(frozen=True)
class ReceiptPage:
    """The receipt's sentences, built once here so the page and the tests read the same words."""

    receipt: Receipt
    number: str
    amount: str
    paid_on: str
    what_for: str
    period: str
    provider_name: str
    provider_address: str
    paid_by: str
    seller_name: str
    seller_address: str
    seller_words: str
    refunded: str | None
    payer_name: str


NO_ADDRESS = "No postal address given"


def page_for(session: Session, receipt: Receipt) -> ReceiptPage:
    """What the receipt page says."""
    payer = session.get(User, receipt.user_id)
    return ReceiptPage(
        receipt=receipt,
        number=receipt.number,
        amount=format_pence(receipt.amount_pence),
        paid_on=format_date(receipt.paid_at),
        what_for=receipt.what_for,
        period=period_words(receipt.period_start, receipt.period_end),
        provider_name=receipt.provider_name,
        provider_address=receipt.provider_address or NO_ADDRESS,
        paid_by=receipt.paid_by,
        seller_name=receipt.seller_name,
        seller_address=receipt.seller_address,
        seller_words=(
            f"{receipt.seller_name} is the seller of record: it took this payment, and "
            f"{receipt.provider_name} provides the service."
        ),
        refunded=refund_words(refund_of(session, receipt), receipt.amount_pence),
        payer_name=payer.display_name if payer is not None else "",
    )


# --- who may see receipts --------------------------------------------------------------------

PAYER = "payer"
CARER = "carer"
ADMIN = "admin"


def receipts_of(session: Session, person: User) -> list[Receipt]:
    """This person's receipts, newest first."""
    return list(
        session.scalars(
            select(Receipt)
            .where(Receipt.user_id == person.id)
            .order_by(Receipt.issued_at.desc(), Receipt.id.desc())
        )
    )


def _scope_for(receipt: Receipt) -> CarerScope | None:
    kind = registry.kind_of(receipt.purpose)
    return kind.carer_scope if kind is not None else None


def _carer_may(session: Session, viewer: User, holder_id: int, scope: CarerScope | None) -> bool:
    if scope is None:
        return False
    try:
        carers.authorise(session, viewer, holder_id, scope)
    except NotAllowed:
        return False
    return True


def access(session: Session, viewer: User, receipt: Receipt) -> str | None:
    """How `viewer` may see this receipt: PAYER, CARER (a live grant covering this money), ADMIN
    (support; to be audited), or None (they are told it does not exist)."""
    if viewer.id == receipt.user_id:
        return PAYER
    payer = session.get(User, receipt.user_id)
    if payer is not None and payer.erased_at is None:
        if _carer_may(session, viewer, receipt.user_id, _scope_for(receipt)):
            return CARER
    if viewer.has_role(Role.ADMIN):
        return ADMIN
    return None


def find(session: Session, number: str) -> Receipt | None:
    return session.scalars(select(Receipt).where(Receipt.number == number)).one_or_none()


def record_view(session: Session, viewer: User, receipt: Receipt, how: str) -> None:
    """A carer's look is recorded for the holder; an admin's view goes in the audit log."""
    scope = _scope_for(receipt)
    if how == CARER and scope is not None:  # access() gives CARER only with a scope
        carers.act_for(
            session, viewer, receipt.user_id, scope, f"Looked at your receipt {receipt.number}"
        )
    elif how == ADMIN:
        detail = f"for support: {receipt.number}"
        audit.record(session, viewer.id, AUDIT_VIEWED, SUBJECT_TYPE, receipt.id, detail)


def carer_scopes() -> tuple[CarerScope, ...]:
    """The grants that cover some kind of receipt."""
    return tuple(dict.fromkeys(k.carer_scope for k in registry.all_kinds()))


def people_i_can_see(session: Session, carer: User) -> list[User]:
    """Holders whose receipts (some kind of them) this carer may see."""
    found: dict[int, User] = {}
    for scope in carer_scopes():
        for holder in carers.people_i_act_for(session, carer, scope):
            found.setdefault(holder.id, holder)
    return list(found.values())


def receipts_for_carer(session: Session, carer: User, holder: User) -> list[Receipt]:
    """The holder's receipts that the carer's grants cover, newest first; NotAllowed (and
    nothing recorded) when they cover none. The look is recorded for the holder."""
    allowed = [s for s in carer_scopes() if _carer_may(session, carer, holder.id, s)]
    if not allowed or holder.erased_at is not None:
        raise NotAllowed("You do not have permission to see this person's receipts")
    shown = [r for r in receipts_of(session, holder) if _scope_for(r) in allowed]
    carers.act_for(session, carer, holder.id, allowed[0], "Looked at your receipts")
    return shown


# --- your data -------------------------------------------------------------------------------


def _export(session: Session, user: User) -> list[dict[str, Any]]:
    return [
        {
            "number": r.number,
            "purpose": r.purpose,
            "amount_pence": r.amount_pence,
            "paid_at": as_utc(r.paid_at).isoformat(),
            "what_for": r.what_for,
            "period_start": r.period_start.isoformat(),
            "period_end": r.period_end.isoformat(),
            "provider_name": r.provider_name,
            "provider_address": r.provider_address,
            "paid_by": r.paid_by,
            "seller_name": r.seller_name,
            "seller_address": r.seller_address,
            "issued_at": as_utc(r.issued_at).isoformat(),
        }
        for r in reversed(receipts_of(session, user))
    ]


def register_privacy() -> None:
    """Receipts are financial records, kept on erasure like the payments they are for (the user
    row stays, anonymised), so there is an exporter and no eraser."""
    privacy.register_exporter("receipts", _export)
