"""Reconciliation: our payment records against Stripe's, and payouts against what is owed.

It checks five kinds of record and lists every gap it finds, by kind:

- charges (off-session): a charge succeeded here that Stripe lacks or has not taken, a payment
  Stripe took with our charge key that we have not recorded (or took twice), amounts that
  differ;
- holds and captures (and any charge whose answer was lost): a charge still open here that
  Stripe has moved on (held, captured, cancelled), and a hold released here that Stripe still
  holds on the card;
- refunds: our `refunded_pence` against the refunds Stripe made of the same PaymentIntent;
- subscription invoices: the paid invoices at Stripe for our customers against the ledger's
  subscription payments (keyed by the invoice id, written by the `invoice.payment_succeeded`
  webhook): paid there with no entry here, amounts that differ, an entry with no paid invoice;
- payouts: localstripe has no Connect, so this is a check of our own records: what was paid
  on to each provider (`payouts.record_payout`) against the ledger's payouts owed to them.

`reconcile(..., mend=True)` only writes down what Stripe already did to a charge still open here
(a hold placed, taken or released whose answer a crash lost): it never moves money, never
calls Stripe to change anything, and leaves every other kind of gap for a person. It does not
commit: the caller does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.db import as_utc
from marketplace.payments import payouts
from marketplace.payments.gateway import (
    ChargeResult,
    PaymentGateway,
    RemoteInvoice,
    RemotePayment,
    RemoteRefund,
    get_gateway,
)
from marketplace.payments.models import (
    Charge,
    ChargeStatus,
    LedgerEntry,
    LedgerKind,
    PaymentCustomer,
)
from marketplace.payments.services import (
    _REMOTE_STATUS,
    META_ATTEMPT,
    META_KEY,
    _locked_charge,
    _record_result,
)

MENDED = "Mended to match Stripe"
# Refunds that count as made: Stripe's "pending" is on its way back to the card.
_REFUNDED = ("succeeded", "pending")


@dataclass(frozen=True)
class Gap:
    """One difference: `reference` is ours (a charge key, a subscription, a provider),
    `stripe_id` Stripe's (a PaymentIntent or an invoice), with the pence on each side."""

    reference: str | None
    stripe_id: str | None
    local_pence: int | None
    remote_pence: int | None
    detail: str


@dataclass(frozen=True)
class ReconciliationReport:
    """Every gap found, by kind; `ok` when there are none."""

    charges_checked: int
    remote_checked: int
    # Charges.
    missing_remote: tuple[Gap, ...] = ()
    missing_local: tuple[Gap, ...] = ()
    amount_mismatches: tuple[Gap, ...] = ()
    # Holds and captures: charges still open here whose state is behind Stripe's (a crash
    # between the call and our record, or a capture or release whose answer was lost) ...
    out_of_date: tuple[Gap, ...] = ()
    # ... the same, brought up to Stripe's state by `mend` ...
    mended: tuple[Gap, ...] = ()
    # ... and holds released (or failed) here that Stripe still holds on the card.
    still_held: tuple[Gap, ...] = ()
    # Refunds.
    refunds_checked: int = 0
    remote_refunds_checked: int = 0
    refunds_missing_remote: tuple[Gap, ...] = ()
    refunds_missing_local: tuple[Gap, ...] = ()
    refund_mismatches: tuple[Gap, ...] = ()
    # Subscription invoices.
    invoices_checked: int = 0
    remote_invoices_checked: int = 0
    invoices_missing_local: tuple[Gap, ...] = ()
    invoice_mismatches: tuple[Gap, ...] = ()
    invoices_missing_remote: tuple[Gap, ...] = ()
    # Payouts (our own records only).
    providers_checked: int = 0
    overpaid: tuple[Gap, ...] = ()
    paid_not_owed: tuple[Gap, ...] = ()

    def sections(self) -> list[tuple[str, tuple[str, str], list[tuple[str, tuple[Gap, ...]]]]]:
        """(kind, (our side, their side), [(what differs, gaps)]) in the order printed."""
        return [
            (
                "Charges",
                ("ours", "stripe"),
                [
                    ("Succeeded here, missing at Stripe", self.missing_remote),
                    ("Taken at Stripe, not recorded as succeeded here", self.missing_local),
                    ("Amounts differ", self.amount_mismatches),
                ],
            ),
            (
                "Holds and captures",
                ("ours", "stripe"),
                [
                    ("Behind Stripe here", self.out_of_date),
                    ("Released here, still held at Stripe", self.still_held),
                    (MENDED, self.mended),
                ],
            ),
            (
                "Refunds",
                ("ours", "stripe"),
                [
                    ("Refunded here, not at Stripe", self.refunds_missing_remote),
                    ("Refunded at Stripe, not here", self.refunds_missing_local),
                    ("Refund amounts differ", self.refund_mismatches),
                ],
            ),
            (
                "Subscription invoices",
                ("ours", "stripe"),
                [
                    ("Paid at Stripe, not in our ledger", self.invoices_missing_local),
                    ("Invoice amounts differ", self.invoice_mismatches),
                    ("In our ledger, no paid invoice at Stripe", self.invoices_missing_remote),
                ],
            ),
            (
                "Payouts",
                ("owed", "paid"),
                [
                    ("Paid out more than owed", self.overpaid),
                    ("Paid out with nothing owed", self.paid_not_owed),
                ],
            ),
        ]

    @property
    def gaps(self) -> tuple[Gap, ...]:
        """Every gap still open: all but those mended, which no longer differ."""
        return tuple(
            gap
            for _kind, _sides, rows in self.sections()
            for title, gaps in rows
            if title != MENDED
            for gap in gaps
        )

    @property
    def ok(self) -> bool:
        """True when nothing differs."""
        return not self.gaps

    def lines(self) -> list[str]:
        """The report as plain text lines: what was checked, then each kind's gaps."""
        lines = [
            f"Checked {self.charges_checked} charges against {self.remote_checked} Stripe "
            "payments.",
            f"Checked {self.refunds_checked} refunded charges against "
            f"{self.remote_refunds_checked} Stripe refunds.",
            f"Checked {self.invoices_checked} subscription payments against "
            f"{self.remote_invoices_checked} paid Stripe invoices.",
            f"Checked payouts to {self.providers_checked} providers against what they are owed.",
        ]
        for kind, (ours, theirs), rows in self.sections():
            lines.append(f"{kind}:")
            for title, gaps in rows:
                lines.append(f"  {title}: {len(gaps)}")
                lines.extend(
                    f"    {g.reference or '-'} {g.stripe_id or '-'} "
                    f"{ours}={g.local_pence} {theirs}={g.remote_pence}: {g.detail}"
                    for g in gaps
                )
        lines.append("No gaps." if self.ok else "Gaps found.")
        return lines


def reconcile(
    session: Session,
    gateway: PaymentGateway | None = None,
    *,
    since: datetime | None = None,
    remote_limit: int = 1000,
    mend: bool = False,
) -> ReconciliationReport:
    """Compare our records with Stripe's (the `remote_limit` most recent of each kind, and any
    older one ours names, asked for by id) and list every gap; see the module docstring.

    `since` limits the check to our records (and Stripe's invoices) made from then on. With
    `mend`, charges only behind Stripe are recorded as Stripe has them (a taken hold gets
    its ledger entry); nothing else is changed and nothing is committed."""
    gateway = gateway or get_gateway()
    remote = gateway.recent_payment_intents(limit=remote_limit)
    out_of_date, mended = _behind_stripe(session, gateway, remote, since, mend)
    settled = _settled(session, since)
    missing_remote, missing_local, mismatches = _charges(session, gateway, remote, settled)
    remote_refunds = gateway.recent_refunds(limit=remote_limit)
    refunds = _refunds(gateway, settled, remote_refunds)
    invoices = _invoices(session, gateway, gateway.paid_invoices(limit=remote_limit), since)
    owed, paid = payouts.owed_by_provider(session), payouts.paid_by_provider(session)
    overpaid, not_owed = _payouts(owed, paid)
    return ReconciliationReport(
        charges_checked=len(settled),
        remote_checked=len(remote),
        missing_remote=missing_remote,
        missing_local=missing_local,
        amount_mismatches=mismatches,
        out_of_date=tuple(out_of_date),
        mended=tuple(mended),
        still_held=_still_held(session, gateway, remote, since),
        refunds_checked=sum(1 for c in settled if c.refunded_pence),
        remote_refunds_checked=len(remote_refunds),
        refunds_missing_remote=refunds[0],
        refunds_missing_local=refunds[1],
        refund_mismatches=refunds[2],
        invoices_checked=invoices.entries,
        remote_invoices_checked=invoices.remote,
        invoices_missing_local=invoices.missing_local,
        invoice_mismatches=invoices.mismatches,
        invoices_missing_remote=invoices.missing_remote,
        providers_checked=len(set(owed) | set(paid)),
        overpaid=overpaid,
        paid_not_owed=not_owed,
    )


def _settled(session: Session, since: datetime | None) -> list[Charge]:
    query = select(Charge).where(
        Charge.status.in_([ChargeStatus.SUCCEEDED.value, ChargeStatus.REFUNDED.value])
    )
    if since is not None:
        query = query.where(Charge.created_at >= since)
    return list(session.scalars(query.order_by(Charge.id)))


def _charges(
    session: Session, gateway: PaymentGateway, remote: list[RemotePayment], settled: list[Charge]
) -> tuple[tuple[Gap, ...], tuple[Gap, ...], tuple[Gap, ...]]:
    """Charges taken here against PaymentIntents taken there, both ways."""
    remote_by_id = {r.id: r for r in remote}
    missing_remote: list[Gap] = []
    mismatches: list[Gap] = []
    for charge in settled:
        intent_id = charge.stripe_payment_intent_id
        found = remote_by_id.get(intent_id) if intent_id else None
        if found is None and intent_id:
            # Older than the page we listed: ask for it by id.
            found = gateway.get_payment_intent(intent_id)
        gap = Gap(charge.idempotency_key, intent_id, charge.amount_pence, None, "")
        if found is None:
            missing_remote.append(replace(gap, detail="no such payment at Stripe"))
        elif found.status != "succeeded":
            missing_remote.append(
                replace(gap, remote_pence=found.amount_pence, detail=f"Stripe says {found.status}")
            )
        elif found.amount_pence != charge.amount_pence:
            mismatches.append(replace(gap, remote_pence=found.amount_pence, detail="amount"))

    # Stripe payments without our metadata (subscription invoices, say) are not charges of ours.
    ours = [r for r in remote if META_KEY in r.metadata and r.status == "succeeded"]
    local_by_key = _charges_by_key(session, {r.metadata[META_KEY] for r in ours})
    missing_local: list[Gap] = []
    for remote_payment in ours:
        key = remote_payment.metadata[META_KEY]
        local = local_by_key.get(key)
        gap = Gap(key, remote_payment.id, None, remote_payment.amount_pence, "")
        if local is None:
            missing_local.append(replace(gap, detail="no charge here with this key"))
        elif local.status not in (ChargeStatus.SUCCEEDED, ChargeStatus.REFUNDED):
            missing_local.append(
                replace(gap, local_pence=local.amount_pence, detail=f"ours is {local.status}")
            )
        elif local.stripe_payment_intent_id != remote_payment.id:
            # The same key taken twice at Stripe: a double charge to refund.
            missing_local.append(
                replace(gap, local_pence=local.amount_pence, detail="a second payment, same key")
            )
    return tuple(missing_remote), tuple(missing_local), tuple(mismatches)


def _charges_by_key(session: Session, keys: Iterable[str]) -> dict[str, Charge]:
    wanted = list(keys)
    if not wanted:
        return {}
    query = select(Charge).where(Charge.idempotency_key.in_(wanted))
    return {c.idempotency_key: c for c in session.scalars(query)}


def _behind_stripe(
    session: Session,
    gateway: PaymentGateway,
    remote: list[RemotePayment],
    since: datetime | None,
    mend: bool,
) -> tuple[list[Gap], list[Gap]]:
    """Open charges whose intent Stripe has moved on; mended (recorded) if asked."""
    by_id = {r.id: r for r in remote}
    by_attempt = {
        (r.metadata.get(META_KEY), r.metadata.get(META_ATTEMPT)): r
        for r in remote
        if META_KEY in r.metadata
    }
    open_states = [
        ChargeStatus.PENDING.value,
        ChargeStatus.HELD.value,
        ChargeStatus.REQUIRES_ACTION.value,
    ]
    query = select(Charge).where(Charge.status.in_(open_states))
    if since is not None:
        query = query.where(Charge.created_at >= since)
    behind: list[Gap] = []
    mended: list[Gap] = []
    for charge in session.scalars(query.order_by(Charge.id)).all():
        intent_id = charge.stripe_payment_intent_id
        found = (
            by_id.get(intent_id)
            if intent_id
            else by_attempt.get((charge.idempotency_key, str(charge.attempts)))
        )
        if found is None and intent_id:
            found = gateway.get_payment_intent(intent_id)
        if found is None:
            continue  # a claim Stripe never heard of: the next run of its job makes the call
        theirs = _REMOTE_STATUS.get(found.status, "failed")
        ours = {
            ChargeStatus.PENDING.value: "processing" if intent_id else None,
            ChargeStatus.HELD.value: "held",
            ChargeStatus.REQUIRES_ACTION.value: "requires_action",
        }[charge.status]
        if theirs == ours:
            continue
        gap = Gap(
            charge.idempotency_key,
            found.id,
            charge.amount_pence,
            found.amount_pence,
            f"ours is {charge.status}, Stripe says {found.status}",
        )
        if not mend:
            behind.append(gap)
            continue
        locked = _locked_charge(session, id=charge.id)
        if locked is not None:
            _record_result(session, locked, ChargeResult(theirs, found.id, None))
            mended.append(gap)
    session.flush()
    return behind, mended


def _still_held(
    session: Session, gateway: PaymentGateway, remote: list[RemotePayment], since: datetime | None
) -> tuple[Gap, ...]:
    """Holds we recorded as released (or refused) whose card Stripe still holds: the money is
    out of the holder's reach until someone cancels it. Not mended: that would be a call."""
    by_id = {r.id: r for r in remote}
    query = select(Charge).where(
        Charge.manual_capture.is_(True),
        Charge.status.in_([ChargeStatus.RELEASED.value, ChargeStatus.FAILED.value]),
        Charge.stripe_payment_intent_id.is_not(None),
    )
    if since is not None:
        query = query.where(Charge.created_at >= since)
    found: list[Gap] = []
    for charge in session.scalars(query.order_by(Charge.id)):
        intent_id = charge.stripe_payment_intent_id or ""  # the query asked for one
        intent = by_id.get(intent_id) or gateway.get_payment_intent(intent_id)
        if intent is not None and intent.status == "requires_capture":
            found.append(
                Gap(
                    charge.idempotency_key,
                    intent_id,
                    charge.amount_pence,
                    intent.amount_pence,
                    f"ours is {charge.status}, Stripe still holds it (requires_capture)",
                )
            )
    return tuple(found)


def _refunds(
    gateway: PaymentGateway, settled: list[Charge], remote: list[RemoteRefund]
) -> tuple[tuple[Gap, ...], tuple[Gap, ...], tuple[Gap, ...]]:
    """Each taken charge's refunded pence here against Stripe's refunds of its intent."""
    refunded_there: dict[str, int] = defaultdict(int)
    listed: set[str] = set()
    for refund in remote:
        if refund.payment_intent_id:
            listed.add(refund.payment_intent_id)
            if refund.status in _REFUNDED:
                refunded_there[refund.payment_intent_id] += refund.amount_pence
    missing_remote: list[Gap] = []
    missing_local: list[Gap] = []
    mismatches: list[Gap] = []
    for charge in settled:
        intent_id = charge.stripe_payment_intent_id
        if not intent_id:
            continue  # reported as a charge gap already
        ours = charge.refunded_pence or 0
        if ours and intent_id not in listed:
            # Older than the refunds we listed: ask for this intent's own.
            refunded_there[intent_id] = sum(
                r.amount_pence for r in gateway.refunds_for(intent_id) if r.status in _REFUNDED
            )
        theirs = refunded_there.get(intent_id, 0)
        if ours == theirs:
            continue
        gap = Gap(charge.idempotency_key, intent_id, ours, theirs, "")
        if not theirs:
            missing_remote.append(replace(gap, detail="no refund of this payment at Stripe"))
        elif not ours:
            missing_local.append(replace(gap, detail=f"ours is {charge.status}, not refunded"))
        else:
            mismatches.append(replace(gap, detail="refunded amount"))
    return tuple(missing_remote), tuple(missing_local), tuple(mismatches)


class _InvoiceCheck(NamedTuple):
    entries: int
    remote: int
    missing_local: tuple[Gap, ...]
    mismatches: tuple[Gap, ...]
    missing_remote: tuple[Gap, ...]


def _invoices(
    session: Session,
    gateway: PaymentGateway,
    remote: list[RemoteInvoice],
    since: datetime | None,
) -> _InvoiceCheck:
    """Paid invoices at Stripe for our customers against the ledger's subscription payments."""
    customers = set(session.scalars(select(PaymentCustomer.stripe_customer_id)))
    if since is not None:
        remote = [r for r in remote if r.created is None or r.created >= as_utc(since)]
    # An invoice for nothing (a free first month, say) is paid with no money and no entry.
    ours = [r for r in remote if r.customer_id in customers and r.amount_paid_pence > 0]
    query = select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.SUBSCRIPTION_PAYMENT.value)
    if since is not None:
        query = query.where(LedgerEntry.created_at >= since)
    entries = list(session.scalars(query.order_by(LedgerEntry.id)))
    by_invoice = {e.stripe_id: e for e in entries if e.stripe_id}

    missing_local: list[Gap] = []
    mismatches: list[Gap] = []
    for invoice in ours:
        entry = by_invoice.get(invoice.id)
        gap = Gap(invoice.subscription_id, invoice.id, None, invoice.amount_paid_pence, "")
        if entry is None:
            if since is None or _entry_for(session, invoice.id) is None:
                missing_local.append(replace(gap, detail="no subscription payment here"))
        elif entry.amount_pence != invoice.amount_paid_pence:
            mismatches.append(replace(gap, local_pence=entry.amount_pence, detail="amount paid"))

    listed = {r.id for r in remote}
    missing_remote: list[Gap] = []
    for entry in entries:
        gap = Gap(entry.reference, entry.stripe_id, entry.amount_pence, None, "")
        if not entry.stripe_id:
            missing_remote.append(replace(gap, detail="no Stripe invoice named"))
            continue
        if entry.stripe_id in listed:
            continue  # compared above
        # Older than the invoices we listed, or never paid: ask for it by id.
        found = gateway.get_invoice(entry.stripe_id)
        if found is None:
            missing_remote.append(replace(gap, detail="no such invoice at Stripe"))
        elif found.status != "paid":
            missing_remote.append(
                replace(
                    gap, remote_pence=found.amount_paid_pence, detail=f"Stripe says {found.status}"
                )
            )
        elif found.amount_paid_pence != entry.amount_pence:
            mismatches.append(
                replace(gap, remote_pence=found.amount_paid_pence, detail="amount paid")
            )
    return _InvoiceCheck(
        entries=len(entries),
        remote=len(ours),
        missing_local=tuple(missing_local),
        mismatches=tuple(mismatches),
        missing_remote=tuple(missing_remote),
    )


def _entry_for(session: Session, invoice_id: str) -> LedgerEntry | None:
    """The subscription payment for an invoice, whenever it was written."""
    return session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.kind == LedgerKind.SUBSCRIPTION_PAYMENT.value,
            LedgerEntry.stripe_id == invoice_id,
        )
    ).first()


def _payouts(owed: dict[str, int], paid: dict[str, int]) -> tuple[tuple[Gap, ...], tuple[Gap, ...]]:
    """What was paid on to each provider against what the ledger says they are owed, in all
    (a payout may cover several months, so they are compared per provider, not per entry)."""
    overpaid: list[Gap] = []
    not_owed: list[Gap] = []
    for provider in sorted(paid, key=lambda p: (len(p), p)):
        gap = Gap(f"provider:{provider}", None, owed.get(provider, 0), paid[provider], "")
        if provider not in owed:
            not_owed.append(replace(gap, detail=f"paid {paid[provider]}p, nothing owed"))
        elif paid[provider] > owed[provider]:
            overpaid.append(
                replace(gap, detail=f"paid {paid[provider]}p against {owed[provider]}p owed")
            )
    return tuple(overpaid), tuple(not_owed)
