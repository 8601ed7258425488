"""StripeGateway with the official SDK against a real localstripe over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import stripe

from marketplace.payments.gateway import CardDeclined, InvalidWebhook, RawCardsRefused
from marketplace.payments.services import customer_for
from tests.payments.conftest import GOOD_CARD, NEEDS_AUTHENTICATION_CARD, save_card


def test_setup_intent_then_saving_a_4242_card(gateway, db_session, holder):
    customer_id = gateway.create_customer(holder.email, holder.display_name, {"user_id": "1"})
    assert customer_id.startswith("cus_")

    setup = gateway.create_setup_intent(customer_id, {"purpose": "pool"})
    assert setup.status == "requires_payment_method"
    assert setup.client_secret

    card = gateway.save_test_card(setup.id, customer_id, GOOD_CARD, 12, 2034, "123")
    assert card.payment_method_id.startswith("pm_")
    assert (card.brand, card.last4, card.setup_status) == ("visa", "4242", "succeeded")


def test_declined_card_gives_a_plain_message(gateway):
    customer_id = gateway.create_customer("d@example.org", "D", {})
    setup = gateway.create_setup_intent(customer_id, {})
    with pytest.raises(CardDeclined) as caught:
        gateway.save_test_card(setup.id, customer_id, "4000000000000002", 12, 2034, "123")
    assert caught.value.message == (
        "Your card was declined. Please try a different card or contact your bank."
    )


def test_raw_card_numbers_are_refused_unless_allowed(gateway, stripe_app):
    customer_id = gateway.create_customer("r@example.org", "R", {})
    setup = gateway.create_setup_intent(customer_id, {})
    stripe_app.config["STRIPE_ACCEPT_RAW_CARDS"] = False
    try:
        with pytest.raises(RawCardsRefused):
            gateway.save_test_card(setup.id, customer_id, GOOD_CARD, 12, 2034, "123")
    finally:
        stripe_app.config["STRIPE_ACCEPT_RAW_CARDS"] = True


def test_off_session_charge_succeeds_with_latest_charge_as_object(
    gateway, card, db_session, holder
):
    customer_id = customer_for(db_session, holder, gateway)

    result = gateway.charge_off_session(customer_id, card.payment_method_id, 1250, "k1", {"a": "b"})

    assert result.status == "succeeded"
    assert result.payment_intent_id and result.payment_intent_id.startswith("pi_")
    # localstripe sends the charge as an object; the gateway takes its id either way.
    assert result.charge_id and result.charge_id.startswith("ch_")
    remote = gateway.get_payment_intent(result.payment_intent_id)
    assert remote is not None
    assert (remote.amount_pence, remote.status, remote.metadata) == (1250, "succeeded", {"a": "b"})


def test_card_needing_authentication_gives_requires_action(gateway, db_session, holder):
    saved = save_card(db_session, gateway, holder, NEEDS_AUTHENTICATION_CARD)
    # localstripe cannot complete 3-D Secure on a SetupIntent; it says so, and keeps the card.
    assert saved.setup_status == "requires_action"
    customer_id = customer_for(db_session, holder, gateway)

    result = gateway.charge_off_session(customer_id, saved.payment_method_id, 700, "k2", {})

    assert result.status == "requires_action"
    assert result.payment_intent_id
    assert "confirm this payment" in (result.message or "")


def test_refund(gateway, card, db_session, holder):
    customer_id = customer_for(db_session, holder, gateway)
    paid = gateway.charge_off_session(customer_id, card.payment_method_id, 900, "k3", {})
    assert paid.payment_intent_id

    refund_id = gateway.refund(paid.payment_intent_id, 400, "refund:k3")

    assert refund_id.startswith("re_")


def test_plan_subscription_and_cancel_at_period_end(gateway, card, db_session, holder):
    plan_id = gateway.create_plan("ULO membership", 700)
    customer_id = customer_for(db_session, holder, gateway)

    subscription = gateway.create_subscription(customer_id, plan_id, {"ulo": "3"}, "sub:1")

    assert subscription.status == "active"
    assert subscription.current_period_end is not None
    assert subscription.current_period_end > datetime.now(UTC)
    assert subscription.cancel_at_period_end is False

    ending = gateway.cancel_subscription(subscription.id, at_period_end=True)
    assert (ending.status, ending.cancel_at_period_end) == ("active", True)
    assert ending.current_period_end == subscription.current_period_end

    ended = gateway.cancel_subscription(subscription.id, at_period_end=False)
    assert ended.status == "canceled"


def test_recent_payment_intents_pages_through(gateway, card, db_session, holder):
    customer_id = customer_for(db_session, holder, gateway)
    for n in range(3):
        gateway.charge_off_session(customer_id, card.payment_method_id, 100 + n, f"p{n}", {})

    assert len(gateway.recent_payment_intents(limit=2)) == 2
    amounts = sorted(p.amount_pence for p in gateway.recent_payment_intents(limit=100))
    assert amounts == [100, 101, 102]
    assert gateway.get_payment_intent("pi_doesnotexist") is None


def test_construct_event_verifies_the_signature(gateway, stripe_app):
    payload = json.dumps({"id": "evt_1", "type": "customer.created", "data": {"object": {}}})
    secret = stripe_app.config["STRIPE_WEBHOOK_SECRET"]
    header = stripe.WebhookSignature.generate_signature_header(payload, secret)

    assert gateway.construct_event(payload.encode(), header)["id"] == "evt_1"
    with pytest.raises(InvalidWebhook):
        gateway.construct_event(payload.encode(), header.replace("v1=", "v1=0"))
    with pytest.raises(InvalidWebhook):
        wrong = stripe.WebhookSignature.generate_signature_header(payload, "whsec_other")
        gateway.construct_event(payload.encode(), wrong)
    with pytest.raises(InvalidWebhook):
        gateway.construct_event(
            b"not json", stripe.WebhookSignature.generate_signature_header("not json", secret)
        )


@pytest.mark.parametrize(
    ("api_base", "accepted"),
    [
        ("http://127.0.0.1:8420", True),
        ("http://localhost:8420", True),
        ("https://api.stripe.com", False),
    ],
)
def test_raw_cards_are_accepted_by_default_only_on_loopback(monkeypatch, api_base, accepted):
    from marketplace import config

    monkeypatch.setenv("STRIPE_API_BASE", api_base)
    monkeypatch.delenv("STRIPE_ACCEPT_RAW_CARDS", raising=False)

    assert config.from_environment()["STRIPE_ACCEPT_RAW_CARDS"] is accepted
