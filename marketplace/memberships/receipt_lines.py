"""What a membership fee's receipt says: registered with receipts by
`marketplace.memberships.init_app`.

A fee is a paid Stripe subscription invoice. The receipt names the ULO whose membership the
subscription pays for, and the period the invoice paid for: its lines' period as Stripe sent it
in the webhook (Stripe's period ends where the next one starts, so the last day is the day
before), or, without it, the day it was paid.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.carers.models import CarerScope
from marketplace.memberships.models import MembershipSubscription
from marketplace.payments.events import invoice_subscription
from marketplace.receipts.registry import Lines, Paid, register_describer

PURPOSE = "membership"  # receipts.services.INVOICE_PURPOSE
_PREFIX = "subscription:"  # the ledger entry's reference (payments._on_invoice_paid)


def _subscription_id(paid: Paid) -> str | None:
    if paid.invoice is not None and (found := invoice_subscription(paid.invoice)):
        return found
    if paid.reference.startswith(_PREFIX):
        return paid.reference[len(_PREFIX) :] or None
    return None


def _when(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**37:
        return None
    return datetime.fromtimestamp(value, UTC)


def invoice_period(invoice: dict[str, Any] | None) -> tuple[date, date] | None:
    """(first day, last day) the invoice's lines cover, if the invoice says."""
    lines = (invoice or {}).get("lines")
    data = lines.get("data") if isinstance(lines, dict) else None
    starts: list[datetime] = []
    ends: list[datetime] = []
    for line in data if isinstance(data, list) else []:
        period = line.get("period") if isinstance(line, dict) else None
        if not isinstance(period, dict):
            continue
        start, end = _when(period.get("start")), _when(period.get("end"))
        if start is not None and end is not None and end >= start:
            starts.append(start)
            ends.append(end)
    if not starts:
        return None
    first, end = min(starts), max(ends)
    last = (end - timedelta(days=1)).date() if end.date() > first.date() else first.date()
    return first.date(), last


def describe(session: Session, paid: Paid) -> Lines | None:
    """Membership of <ULO>: the fee; None until the subscription is one of ours."""
    subscription_id = _subscription_id(paid)
    if subscription_id is None:
        return None
    record = session.scalars(
        select(MembershipSubscription).where(
            MembershipSubscription.stripe_subscription_id == subscription_id
        )
    ).one_or_none()
    if record is None:
        return None
    ulo = record.membership.organisation
    period = invoice_period(paid.invoice)
    start, end = period or (paid.paid_at.date(), paid.paid_at.date())
    return Lines(
        what_for=f"Membership of {ulo.name}: the membership fee",
        period_start=start,
        period_end=end,
        provider_name=ulo.name,
        provider_address=ulo.postal_address,
        paid_by="Card, by monthly subscription",
    )


def register() -> None:
    """Fees' receipts; a carer with the memberships grant sees them."""
    register_describer(PURPOSE, describe, CarerScope.MEMBERSHIPS)
