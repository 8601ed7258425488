"""Fee memberships through the official Stripe SDK against a real localstripe (no mocks)."""

from __future__ import annotations

import json

import pytest
import stripe
from sqlalchemy import func, select

from marketplace.errors import DomainError
from marketplace.memberships import billing, dashboard, services
from marketplace.memberships.models import Membership, MembershipStatus, MembershipSubscription
from marketplace.memberships.services import OfferData
from marketplace.payments.models import LedgerEntry
from marketplace.payments.services import CardDetails
from tests.factories import UserFactory
from tests.memberships.conftest import DECLINED_AT_ATTACH, DECLINED_AT_CHARGE, GOOD_CARD, KINDS, NOW


def card(number=GOOD_CARD):
    return CardDetails(number, 12, 2034, "123")


def signed(app, payload):
    body = json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(
        body, app.config["STRIPE_WEBHOOK_SECRET"]
    )
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


def test_a_fee_offer_makes_a_plan_and_a_new_fee_a_new_plan(
    db_session, staff, org, both_offer, gateway, localstripe
):
    sdk = stripe.StripeClient("sk_test_localstripe", base_addresses={"api": localstripe})
    first = both_offer.stripe_plan_id
    plan = sdk.v1.plans.retrieve(first)
    assert (plan.amount, plan.currency, plan.interval) == (700, "gbp", "month")
    same = billing.set_offer(db_session, staff, org, OfferData(700, 120, KINDS), gateway)
    assert same.stripe_plan_id == first  # the fee did not change
    changed = billing.set_offer(db_session, staff, org, OfferData(900, 120, KINDS), gateway)
    assert changed.stripe_plan_id != first and changed.fee_pence == 900
    assert sdk.v1.plans.retrieve(changed.stripe_plan_id).amount == 900


def test_join_by_fee_starts_a_subscription(db_session, org, both_offer, gateway):
    person = UserFactory()
    membership = billing.join_paying(db_session, person, org, card(), gateway=gateway, now=NOW)
    db_session.commit()
    assert membership.status == MembershipStatus.ACTIVE and membership.basis == "fee"
    record = services.current_subscription(membership)
    assert record is not None and record.stripe_subscription_id.startswith("sub_")
    assert (record.fee_pence, record.stripe_plan_id) == (700, both_offer.stripe_plan_id)
    assert record.current_period_end is not None


@pytest.mark.parametrize("number", [DECLINED_AT_ATTACH, DECLINED_AT_CHARGE])
def test_a_declined_card_saves_no_membership(db_session, org, both_offer, gateway, number):
    person = UserFactory()
    with pytest.raises(DomainError) as error:
        billing.join_paying(db_session, person, org, card(number), gateway=gateway, now=NOW)
    assert error.value.field == "card" and "declined" in error.value.message.lower()
    assert db_session.scalar(select(func.count()).select_from(Membership)) == 0


def test_a_fee_join_needs_a_card(db_session, org, both_offer, gateway):
    with pytest.raises(DomainError) as error:
        billing.join_paying(db_session, UserFactory(), org, None, gateway=gateway, now=NOW)
    assert error.value.field == "card"


def test_leaving_a_fee_membership_cancels_at_period_end(db_session, org, both_offer, gateway):
    person = UserFactory()
    membership = billing.join_paying(db_session, person, org, card(), gateway=gateway, now=NOW)
    billing.leave(db_session, person, membership, gateway=gateway, now=NOW)
    assert membership.status == MembershipStatus.ACTIVE and membership.leaving


def test_the_whole_fee_story_through_webhooks(
    app, client, db_session, staff, org, both_offer, gateway
):
    """Paid → payment failed → lapsed → a retry paid → subscription deleted → ended; and the
    fee income appears on the dashboard from the payments ledger."""
    person = UserFactory()
    membership = billing.join_paying(db_session, person, org, card(), gateway=gateway, now=NOW)
    db_session.commit()
    sub_id = services.current_subscription(membership).stripe_subscription_id
    created = int(NOW.timestamp())

    def send(event_id, event_type, obj, at):
        body, headers = signed(
            app,
            {
                "id": event_id,
                "object": "event",
                "type": event_type,
                "created": at,
                "data": {"object": obj},
            },
        )
        response = client.post("/payments/webhook", data=body, headers=headers)
        assert response.status_code == 200
        db_session.expire_all()

    invoice = {
        "id": "in_1",
        "object": "invoice",
        "subscription": sub_id,
        "amount_paid": 700,
        "customer": None,
    }
    send("evt_paid_1", "invoice.payment_succeeded", invoice, created)
    assert membership.status == MembershipStatus.ACTIVE
    send(
        "evt_fail_2",
        "invoice.payment_failed",
        {**invoice, "id": "in_2", "amount_paid": 0},
        created + 100,
    )
    assert membership.status == MembershipStatus.PAYMENT_DUE
    assert services.lapse_overdue(db_session, NOW) == 0
    from datetime import timedelta

    assert services.lapse_overdue(db_session, NOW + timedelta(days=14, seconds=101)) == 1
    db_session.expire_all()
    assert membership.status == MembershipStatus.LAPSED
    send("evt_paid_3", "invoice.payment_succeeded", {**invoice, "id": "in_3"}, created + 200)
    assert membership.status == MembershipStatus.ACTIVE and membership.payment_due_by is None

    income = dict(
        dashboard.fee_income_per_month(
            db_session, staff, org, months=1, today=_today_of_ledger(db_session)
        )
    )
    assert sum(income.values()) == 1400

    send(
        "evt_del_4",
        "customer.subscription.deleted",
        {"id": sub_id, "object": "subscription"},
        created + 300,
    )
    assert membership.status == MembershipStatus.ENDED and membership.live is None


def _today_of_ledger(db_session):
    from marketplace.db import as_utc

    return as_utc(db_session.scalars(select(LedgerEntry.created_at)).first()).date()


def test_a_real_invoice_from_localstripe_is_matched_to_the_ulo(
    app, client, db_session, staff, org, both_offer, gateway, localstripe
):
    """localstripe's own invoice for the first month, signed and posted as Stripe would."""
    person = UserFactory()
    membership = billing.join_paying(db_session, person, org, card(), gateway=gateway, now=NOW)
    db_session.commit()
    sub_id = services.current_subscription(membership).stripe_subscription_id
    client_sdk = stripe.StripeClient("sk_test_localstripe", base_addresses={"api": localstripe})
    invoices = client_sdk.v1.invoices.list(params={"subscription": sub_id}).data
    assert invoices, "localstripe made no invoice for the subscription"
    invoice = invoices[0].to_dict()
    assert invoice["status"] == "paid" and invoice["amount_paid"] == 700
    body, headers = signed(
        app,
        {
            "id": "evt_real",
            "object": "event",
            "type": "invoice.payment_succeeded",
            "created": invoice["created"],
            "data": {"object": invoice},
        },
    )
    assert client.post("/payments/webhook", data=body, headers=headers).status_code == 200
    entry = db_session.scalars(select(LedgerEntry)).one()
    assert (entry.amount_pence, entry.user_id) == (700, person.id)
    from marketplace.db import as_utc

    income = dashboard.fee_income_per_month(
        db_session, staff, org, months=1, today=as_utc(entry.created_at).date()
    )
    assert income[-1][1] == 700
    assert db_session.scalar(select(func.count()).select_from(MembershipSubscription)) == 1


def test_switch_from_reciprocity_to_fee_starts_paying_next_month(
    db_session, org, both_offer, gateway
):
    from datetime import date

    person = UserFactory()
    membership = services.join(db_session, person, org, "reciprocity", now=NOW)
    billing.switch(db_session, person, membership, "fee", card=card(), gateway=gateway, now=NOW)
    assert (membership.basis, membership.pending_from) == ("reciprocity", date(2026, 12, 1))
    assert membership.subscriptions == []
    assert billing.apply_switches(db_session, NOW.replace(month=12, day=1), gateway) == 1
    record = services.current_subscription(membership)
    assert record is not None and record.stripe_subscription_id.startswith("sub_")
    assert (membership.basis, membership.status, membership.commitment_minutes) == (
        "fee",
        "active",
        0,
    )


def test_the_jobs_command_runs(app, db_session, both_offer, gateway):
    result = app.test_cli_runner().invoke(args=["memberships", "run-jobs"])
    assert result.exit_code == 0, result.output
    assert "lapsed 0" in result.output
