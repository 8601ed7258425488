"""Money to put on statements: a running pool paid by card or invoice, a refund, fee payments
arriving by webhook as Stripe sends them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import stripe
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.memberships.models import Membership, MembershipStatus, MembershipSubscription
from marketplace.organisations.models import Organisation, OrganisationKind
from marketplace.payments.models import LedgerEntry, LedgerKind
from marketplace.pools import funding
from marketplace.pools.models import PoolPayment
from tests.factories import OrganisationFactory


def rows(db_session, pool, month: int) -> dict[int, PoolPayment]:
    return {r.user_id: r for r in funding.payments_for(db_session, pool, month)}


def fee_member(db_session, person: User, subscription_id: str = "sub_statement") -> Organisation:
    """`person` pays a ULO's £7 fee through a subscription (as memberships records it)."""
    ulo = OrganisationFactory(
        kind=OrganisationKind.ULO.value,
        name="Leeds Disabled People's Organisation",
        postal_address="1 Park Row\nLeeds LS1 5AB",
    )
    membership = Membership(
        organisation_id=ulo.id,
        user_id=person.id,
        basis="fee",
        basis_from=date(2026, 1, 1),
        status=MembershipStatus.ACTIVE.value,
        live=True,
    )
    db_session.add(membership)
    db_session.add(
        MembershipSubscription(
            membership=membership,
            stripe_subscription_id=subscription_id,
            stripe_plan_id="plan_x",
            fee_pence=700,
        )
    )
    db_session.commit()
    return ulo


def stamp(day: date) -> int:
    return int(datetime.combine(day, time(9, 30), tzinfo=UTC).timestamp())


def pay_fee(
    app: Flask,
    client: FlaskClient,
    invoice_id: str,
    paid_on: date,
    period: tuple[date, date] | None = None,
    subscription_id: str = "sub_statement",
    amount: int = 700,
) -> None:
    """Stripe's invoice.payment_succeeded for one month's fee, signed, to our webhook."""
    invoice: dict = {
        "id": invoice_id,
        "object": "invoice",
        "subscription": subscription_id,
        "amount_paid": amount,
        "status_transitions": {"paid_at": stamp(paid_on)},
    }
    if period is not None:
        invoice["lines"] = {
            "object": "list",
            "data": [{"period": {"start": stamp(period[0]), "end": stamp(period[1])}}],
        }
    body = json.dumps(
        {
            "id": f"evt_{invoice_id}",
            "object": "event",
            "type": "invoice.payment_succeeded",
            "created": stamp(paid_on),
            "data": {"object": invoice},
        }
    )
    header = stripe.WebhookSignature.generate_signature_header(
        body, app.config["STRIPE_WEBHOOK_SECRET"]
    )
    response = client.post(
        "/payments/webhook",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )
    assert response.status_code == 200


def refunds(db_session, charge_id: int) -> list[LedgerEntry]:
    return list(
        db_session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.kind == LedgerKind.REFUND.value, LedgerEntry.charge_id == charge_id
            )
        )
    )


def day_after(value: datetime) -> datetime:
    return value + timedelta(days=1)
