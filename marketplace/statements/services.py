"""One statement per person: every pool share and membership fee they paid, and every refund,
for any date range, as a council monitoring a direct payment asks for it.

Each line says when the money moved, the service period it paid for, the provider (name and
address), what for, how it was paid, its reference, and where the money went: it is taken by
the platform, so a pool share is "held by <platform> and paid on to <provider> on <date>" only
once a payout covering it is recorded (payments/payouts.py), and "owed to <provider>" before.
Only money that moved is listed (paid, refunded): holds, invoices not yet paid and refused
cards are not payments. Days are UTC calendar days, like the pools' schedule. Never commits.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError
from marketplace.memberships.models import Membership, MembershipSubscription
from marketplace.money import format_pence
from marketplace.organisations.models import Organisation
from marketplace.payments import payouts
from marketplace.payments.models import (
    Charge,
    LedgerEntry,
    LedgerKind,
    WebhookEvent,
)
from marketplace.places.models import Council
from marketplace.pools import schedule
from marketplace.pools.models import Invoice, PayBy, PaymentStatus, Pool, PoolPayment, Quote
from marketplace.providers.csv_io import safe_cell
from marketplace.statements.models import MAX_NAME, MAX_REFERENCE, StatementDetails
from marketplace.web.template_globals import SERVICE_NAME, format_date

PAYMENT = "payment"
REFUND = "refund"
POOL = "pool"
FEE = "fee"
NO_ADDRESS = "No address given"


def pounds(pence: int) -> str:
    """Money on a statement: £0 is "£0" here, never "Free"."""
    return format_pence(pence) if pence else "£0"


# --- the person's own details ------------------------------------------------------------------


def details_of(session: Session, user: User) -> StatementDetails | None:
    """What this person added for the top of their statement, if anything."""
    return session.scalars(
        select(StatementDetails).where(StatementDetails.user_id == user.id)
    ).one_or_none()


def save_details(
    session: Session,
    user: User,
    name: str | None,
    council_id: int | None,
    reference: str | None,
) -> StatementDetails:
    """Set (or clear, with blanks) the name, council and direct-payment reference shown at the
    top of this person's statement. Does not commit."""
    name = " ".join((name or "").split()) or None
    reference = " ".join((reference or "").split()) or None
    if name and len(name) > MAX_NAME:
        raise DomainError(f"The name must be {MAX_NAME} characters or fewer", field="name")
    if reference and len(reference) > MAX_REFERENCE:
        raise DomainError(
            f"The reference must be {MAX_REFERENCE} characters or fewer", field="reference"
        )
    if council_id is not None and session.get(Council, council_id) is None:
        raise DomainError("Choose a council from the list", field="council_id")
    details = details_of(session, user)
    if details is None:
        details = StatementDetails(user_id=user.id)
        session.add(details)
    details.name_for_statements = name
    details.council_id = council_id
    details.direct_payment_reference = reference
    session.flush()
    return details


# --- date ranges -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateRange:
    """The days a statement covers, both included; `start` None means from the first payment."""

    start: date | None
    end: date

    def __contains__(self, day: date) -> bool:
        return (self.start is None or day >= self.start) and day <= self.end

    @property
    def words(self) -> str:
        if self.start is None:
            return f"Everything up to {format_date(self.end)}"
        return f"{format_date(self.start)} to {format_date(self.end)}"


def check_range(start: date | None, end: date | None, today: date | None = None) -> DateRange:
    """A range a person asked for: `end` left out means today. It cannot start in the future
    (nothing is paid there yet), nor end before it starts."""
    today = today or utcnow().date()
    end = end or today
    if start is not None and start > today:
        raise DomainError("The start date must be today or in the past", field="start")
    if start is not None and end < start:
        raise DomainError("The end date must be the same as or after the start date", field="end")
    return DateRange(start, end)


@dataclass(frozen=True)
class QuickChoice:
    """A usual council period, offered as a link."""

    label: str
    range: DateRange


def quick_choices(today: date | None = None) -> list[QuickChoice]:
    """The council's usual periods: the last 4 weeks (28 days to today), the last full quarter
    (councils' quarters start in January, April, July and October) and the last full financial
    year (1 April to 31 March, the year councils audit direct payments by)."""
    today = today or utcnow().date()
    four_weeks = DateRange(today - timedelta(days=27), today)
    this_quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    quarter_end = this_quarter_start - timedelta(days=1)
    quarter_start = date(quarter_end.year, 3 * ((quarter_end.month - 1) // 3) + 1, 1)
    year_end_year = today.year if today.month >= 4 else today.year - 1
    year = DateRange(date(year_end_year - 1, 4, 1), date(year_end_year, 3, 31))
    return [
        QuickChoice("Last 4 weeks", four_weeks),
        QuickChoice("Last quarter", DateRange(quarter_start, quarter_end)),
        QuickChoice("Last financial year", year),
    ]


# --- lines -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    name: str
    address: str

    @staticmethod
    def of(org: Organisation | None) -> Provider:
        if org is None:
            return Provider("Not known", NO_ADDRESS)
        return Provider(org.name, (org.postal_address or "").strip() or NO_ADDRESS)


@dataclass(frozen=True)
class Line:
    """One money movement on a statement: a payment (positive) or a refund (negative)."""

    on: date
    kind: str  # PAYMENT or REFUND
    source: str  # POOL or FEE
    what_for: str
    service_from: date | None
    service_to: date | None
    provider: Provider
    amount_pence: int
    how_paid: str
    reference: str
    stripe_id: str  # the PaymentIntent, refund or invoice at Stripe; "" for an invoice
    where_money_went: str
    pool_id: int | None = None
    running_total_pence: int = 0

    @property
    def service_period(self) -> str:
        if self.service_from is None:
            return "Not known"
        if self.service_to is None:
            return f"From {format_date(self.service_from)}"
        return f"{format_date(self.service_from)} to {format_date(self.service_to)}"


HOW_PAID = {
    PayBy.CARD.value: "Card",
    PayBy.MANAGED_ACCOUNT.value: "Invoice to managed account",
    PayBy.COUNCIL_ARRANGED.value: "Invoice to the council",
}


def _how_paid(row: PoolPayment) -> str:
    words = HOW_PAID.get(row.pay_by, row.pay_by)
    if row.pay_by == PayBy.MANAGED_ACCOUNT.value and row.invoice_to:
        return f"{words} ({row.invoice_to})"
    return words


def held_and_paid_on(provider: str, paid_on: date) -> str:
    return f"Held by {SERVICE_NAME} and paid on to {provider} on {format_date(paid_on)}"


def held_and_owed(provider: str) -> str:
    return f"Held by {SERVICE_NAME} and owed to {provider}: not paid on yet"


def held_until_settled(provider: str) -> str:
    return (
        f"Held by {SERVICE_NAME}: owed to {provider} once every member's payment for this "
        "month is in"
    )


def held_then_refunded(refunded_on: date | None) -> str:
    when = f" on {format_date(refunded_on)}" if refunded_on else ""
    return f"Held by {SERVICE_NAME}, then refunded to you{when}"


def refunded_to_card(on: date) -> str:
    return f"Refunded to your card by {SERVICE_NAME} on {format_date(on)}"


def fee_held(ulo: str) -> str:
    return f"Held by {SERVICE_NAME} for {ulo}: no payout of membership fees is recorded yet"


@dataclass
class _OwedIndex:
    """Owed items by (organisation, what for), oldest first, to find the one a payment is in."""

    items: dict[tuple[int, str], list[payouts.OwedItem]] = field(default_factory=dict)

    @classmethod
    def build(cls, session: Session, organisation_ids: set[int]) -> _OwedIndex:
        grouped: dict[tuple[int, str], list[payouts.OwedItem]] = defaultdict(list)
        for org_id, items in payouts.owed_items(session, organisation_ids).items():
            for item in items:
                grouped[(org_id, item.what)].append(item)
        return cls(dict(grouped))

    def find(self, org_id: int, what: str, index: int = 0) -> payouts.OwedItem | None:
        found = self.items.get((org_id, what), [])
        return found[index] if index < len(found) else None


def _invoice_rank(session: Session, row: PoolPayment) -> int:
    """Which of its pool month's paid invoices this one is: funding owes each paid invoice on
    its own ("pool P month N invoice"), in the order staff recorded them paid."""
    paid = session.execute(
        select(PoolPayment.id)
        .where(
            PoolPayment.pool_id == row.pool_id,
            PoolPayment.month == row.month,
            PoolPayment.pay_by != PayBy.CARD.value,
            PoolPayment.status == PaymentStatus.PAID.value,
        )
        .order_by(PoolPayment.paid_at, PoolPayment.id)
    ).scalars()
    return list(paid).index(row.id)


def _where_pool_money_went(
    session: Session,
    row: PoolPayment,
    org: Organisation | None,
    owed: _OwedIndex,
    refunded_on: date | None,
) -> str:
    if row.status == PaymentStatus.REFUNDED.value:
        return held_then_refunded(refunded_on)
    if org is None:
        return f"Held by {SERVICE_NAME}"
    if row.pay_by == PayBy.CARD.value:
        # Funding owes a month's card shares together when the month settles.
        item = owed.find(org.id, f"pool {row.pool_id} month {row.month}")
    else:
        what = f"pool {row.pool_id} month {row.month} invoice"
        item = owed.find(org.id, what, _invoice_rank(session, row))
    if item is None:
        return held_until_settled(org.name)
    if item.paid_on is None:
        return held_and_owed(org.name)
    return held_and_paid_on(org.name, item.paid_on)


def _pool_lines(session: Session, user: User) -> list[Line]:
    rows = session.execute(
        select(PoolPayment, Pool, Organisation, Charge, Invoice)
        .join(Pool, Pool.id == PoolPayment.pool_id)
        .outerjoin(Quote, Quote.id == Pool.chosen_quote_id)
        .outerjoin(Organisation, Organisation.id == Quote.organisation_id)
        .outerjoin(Charge, Charge.id == PoolPayment.charge_id)
        .outerjoin(Invoice, Invoice.payment_id == PoolPayment.id)
        .where(
            PoolPayment.user_id == user.id,
            PoolPayment.status.in_([PaymentStatus.PAID.value, PaymentStatus.REFUNDED.value]),
            PoolPayment.paid_at.is_not(None),
        )
        .order_by(PoolPayment.paid_at, PoolPayment.id)
    ).all()
    owed = _OwedIndex.build(session, {org.id for _r, _p, org, _c, _i in rows if org is not None})
    refunds = _refunds(session, [c.id for _r, _p, _o, c, _i in rows if c is not None])
    lines: list[Line] = []
    for row, pool, org, charge, invoice in rows:
        start, end = schedule.service_period(session, pool, row.month)
        provider = Provider.of(org)
        what_for = f"{pool.title}: month {row.month} of {pool.months} (pool)"
        reference = (
            charge.idempotency_key
            if charge
            else invoice_reference(invoice)
            if invoice
            else f"pool-payment-{row.id}"
        )
        refund = refunds.get(charge.id) if charge else None
        refunded_on = as_utc(refund.created_at).date() if refund else None
        lines.append(
            Line(
                on=as_utc(row.paid_at).date() if row.paid_at else date.min,
                kind=PAYMENT,
                source=POOL,
                what_for=what_for,
                service_from=start,
                service_to=end,
                provider=provider,
                amount_pence=charge.amount_pence if charge else row.amount_pence,
                how_paid=_how_paid(row),
                reference=reference,
                stripe_id=(charge.stripe_payment_intent_id or "") if charge else "",
                where_money_went=_where_pool_money_went(session, row, org, owed, refunded_on),
                pool_id=pool.id,
            )
        )
        if refund is not None and refunded_on is not None:
            lines.append(
                Line(
                    on=refunded_on,
                    kind=REFUND,
                    source=POOL,
                    what_for=f"Refund: {what_for}",
                    service_from=start,
                    service_to=end,
                    provider=provider,
                    amount_pence=refund.amount_pence,  # negative: money back
                    how_paid="Refund to card",
                    reference=reference,
                    stripe_id=refund.stripe_id or "",
                    where_money_went=refunded_to_card(refunded_on),
                    pool_id=pool.id,
                )
            )
    return lines


def invoice_reference(invoice: Invoice) -> str:
    """An invoiced share's reference: the invoice number and the references it was paid with."""
    paid_with = ", ".join(p.reference for p in invoice.received)
    return f"{invoice.number} (paid with {paid_with})" if paid_with else invoice.number


def _refunds(session: Session, charge_ids: list[int]) -> dict[int, LedgerEntry]:
    if not charge_ids:
        return {}
    entries = session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.kind == LedgerKind.REFUND.value, LedgerEntry.charge_id.in_(charge_ids))
        .order_by(LedgerEntry.id)
    )
    return {e.charge_id: e for e in entries if e.charge_id is not None}


def _invoice_details(session: Session, invoice_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The invoices Stripe sent us (in the stored invoice.payment_succeeded events), by id."""
    if not invoice_ids:
        return {}
    events = session.scalars(
        select(WebhookEvent.payload).where(
            WebhookEvent.type == "invoice.payment_succeeded",
            or_(*[WebhookEvent.payload.contains(f'"{i}"') for i in invoice_ids]),
        )
    )
    found: dict[str, dict[str, Any]] = {}
    for payload in events:
        try:
            invoice = ((json.loads(payload).get("data") or {}).get("object")) or {}
        except (ValueError, AttributeError):
            continue
        if isinstance(invoice, dict) and invoice.get("id") in invoice_ids:
            found[str(invoice["id"])] = invoice
    return found


def _timestamp(value: Any) -> date | None:
    try:
        return datetime.fromtimestamp(int(value), UTC).date()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _invoice_period(invoice: dict[str, Any]) -> tuple[date | None, date | None]:
    """The subscription period an invoice paid for: its line's period (an invoice's own
    period_start/period_end are the previous period at Stripe), else the invoice's."""
    items = invoice.get("lines")
    data = items.get("data") if isinstance(items, dict) else None
    first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    found = first.get("period")
    period: dict[str, Any] = found if isinstance(found, dict) else {}
    start = _timestamp(period.get("start")) or _timestamp(invoice.get("period_start"))
    end = _timestamp(period.get("end")) or _timestamp(invoice.get("period_end"))
    if start is None:
        return None, None
    # Stripe's period ends at the moment the next begins: the last day paid for is the day before.
    return start, (end - timedelta(days=1)) if end and end > start else end


def _paid_on(invoice: dict[str, Any], entry: LedgerEntry) -> date:
    transitions = invoice.get("status_transitions")
    paid_at = transitions.get("paid_at") if isinstance(transitions, dict) else None
    return _timestamp(paid_at) or as_utc(entry.created_at).date()


def _fee_lines(session: Session, user: User) -> list[Line]:
    subscriptions = session.execute(
        select(MembershipSubscription, Membership, Organisation)
        .join(Membership, Membership.id == MembershipSubscription.membership_id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.user_id == user.id)
    ).all()
    by_reference = {f"subscription:{s.stripe_subscription_id}": o for s, _m, o in subscriptions}
    conditions = [LedgerEntry.user_id == user.id]
    if by_reference:
        conditions.append(LedgerEntry.reference.in_(list(by_reference)))
    entries = list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.kind == LedgerKind.SUBSCRIPTION_PAYMENT.value, or_(*conditions))
            .order_by(LedgerEntry.created_at, LedgerEntry.id)
        )
    )
    invoices = _invoice_details(session, [e.stripe_id for e in entries if e.stripe_id])
    lines = []
    for entry in entries:
        org = by_reference.get(entry.reference)
        invoice = invoices.get(entry.stripe_id or "", {})
        start, end = _invoice_period(invoice)
        ulo = org.name if org else "a user-led organisation"
        lines.append(
            Line(
                on=_paid_on(invoice, entry),
                kind=PAYMENT,
                source=FEE,
                what_for=f"Membership fee: {ulo}",
                service_from=start,
                service_to=end,
                provider=Provider.of(org),
                amount_pence=entry.amount_pence,
                how_paid="Card (monthly subscription)",
                reference=entry.stripe_id or entry.reference,
                stripe_id=entry.stripe_id or "",
                where_money_went=fee_held(ulo),
            )
        )
    return lines


# --- the statement -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderTotal:
    provider: Provider
    paid_pence: int
    refunded_pence: int

    @property
    def net_pence(self) -> int:
        return self.paid_pence + self.refunded_pence


@dataclass(frozen=True)
class Statement:
    """A person's money in a date range: lines oldest first, each with the running total."""

    holder_name: str
    council: str | None
    direct_payment_reference: str | None
    range: DateRange
    made_on: date
    lines: list[Line]

    @property
    def paid_pence(self) -> int:
        return sum(line.amount_pence for line in self.lines if line.kind == PAYMENT)

    @property
    def refunded_pence(self) -> int:
        """Negative: money given back."""
        return sum(line.amount_pence for line in self.lines if line.kind == REFUND)

    @property
    def net_pence(self) -> int:
        return self.paid_pence + self.refunded_pence

    @property
    def by_provider(self) -> list[ProviderTotal]:
        paid: dict[Provider, int] = defaultdict(int)
        refunded: dict[Provider, int] = defaultdict(int)
        for line in self.lines:
            (paid if line.kind == PAYMENT else refunded)[line.provider] += line.amount_pence
        providers = dict.fromkeys(line.provider for line in self.lines)
        return [ProviderTotal(p, paid[p], refunded[p]) for p in providers]


def statement_for(session: Session, user: User, period: DateRange) -> Statement:
    """This person's statement for the days in `period`: pool shares, membership fees and
    refunds (each on the day it happened), oldest first, with a running total."""
    order = {PAYMENT: 0, REFUND: 1}
    everything = sorted(
        _pool_lines(session, user) + _fee_lines(session, user),
        key=lambda line: (line.on, order[line.kind]),
    )
    running = 0
    lines = []
    for line in everything:
        if line.on not in period:
            continue
        running += line.amount_pence
        lines.append(_with_total(line, running))
    details = details_of(session, user)
    return Statement(
        holder_name=(details.name_for_statements if details else None) or user.display_name,
        council=details.council.name if details and details.council else None,
        direct_payment_reference=details.direct_payment_reference if details else None,
        range=period,
        made_on=utcnow().date(),
        lines=lines,
    )


def _with_total(line: Line, total: int) -> Line:
    return Line(**{**line.__dict__, "running_total_pence": total})


CSV_COLUMNS = [
    "Date",
    "Type",
    "What for",
    "Service from",
    "Service to",
    "Provider",
    "Provider address",
    "Amount (pounds)",
    "Amount (pence)",
    "How paid",
    "Reference",
    "Stripe reference",
    "Where the money went",
    "Running total (pence)",
]


def as_csv(statement: Statement) -> str:
    """The statement as CSV: a few lines saying whose it is and for when, then one row per
    line (dates as YYYY-MM-DD, amounts in pounds and exactly in pence)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Statement for", safe_cell(statement.holder_name)])
    writer.writerow(["Council", safe_cell(statement.council or "Not given")])
    writer.writerow(
        ["Direct-payment reference", safe_cell(statement.direct_payment_reference or "Not given")]
    )
    writer.writerow(["Dates", statement.range.words])
    writer.writerow(["Made on", statement.made_on.isoformat()])
    writer.writerow([])
    writer.writerow(CSV_COLUMNS)
    for line in statement.lines:
        writer.writerow(
            [
                line.on.isoformat(),
                "Refund" if line.kind == REFUND else "Payment",
                safe_cell(line.what_for),
                line.service_from.isoformat() if line.service_from else "",
                line.service_to.isoformat() if line.service_to else "",
                safe_cell(line.provider.name),
                safe_cell(line.provider.address.replace("\n", ", ")),
                format_pence(line.amount_pence),
                line.amount_pence,
                line.how_paid,
                safe_cell(line.reference),
                line.stripe_id,
                safe_cell(line.where_money_went),
                line.running_total_pence,
            ]
        )
    writer.writerow([])
    writer.writerow(["Total paid (pence)", statement.paid_pence])
    writer.writerow(["Total refunded (pence)", -statement.refunded_pence])
    writer.writerow(["Net total (pence)", statement.net_pence])
    return out.getvalue()


# --- a provider's payout ledger, in words ------------------------------------------------------


def describe_owed(session: Session, items: list[payouts.OwedItem]) -> dict[int, str]:
    """Words for what each owed item is for ("Art group: month 2, 1 March to 31 March 2027"),
    by ledger entry id; payments cannot name pools, so the words are made here."""
    pool_ids = {pm[0] for item in items if (pm := item.pool_month)}
    pools = {p.id: p for p in session.scalars(select(Pool).where(Pool.id.in_(pool_ids)))}
    words = {}
    for item in items:
        found = item.pool_month
        pool = pools.get(found[0]) if found else None
        if found is None or pool is None:
            words[item.entry_id] = item.what
            continue
        _pool_id, month, invoice = found
        start, end = schedule.service_period(session, pool, month)
        period = f", {format_date(start)} to {format_date(end)}" if start and end else ""
        extra = " (one member's invoice)" if invoice else ""
        words[item.entry_id] = f"{pool.title}: month {month}{period}{extra}"
    return words
