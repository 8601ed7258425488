"""Signed webhooks with malformed fields: 400 with the reason in JSON and in the log, nothing
stored, never a 500 (Stripe would send the same event again for days)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from marketplace.payments import events, services
from marketplace.payments.models import LedgerEntry, PaymentCustomer, WebhookEvent
from tests.payments.test_webhooks import URL, signed

LOGGER = "marketplace.payments.routes"


def invoice(**fields):
    found = {
        "id": "in_1",
        "object": "invoice",
        "customer": "cus_member",
        "subscription": "sub_1",
        "amount_paid": 700,
    }
    found.update(fields)
    return found


def paid(obj, **envelope):
    payload = {
        "id": "evt_1",
        "object": "event",
        "type": "invoice.payment_succeeded",
        "created": 1_790_000_000,
        "data": {"object": obj},
    }
    payload.update(envelope)
    return payload


def intent(**fields):
    found = {"id": "pi_1", "object": "payment_intent", "metadata": {"charge_key": "pool:1:x"}}
    found.update(fields)
    return found


def count(db_session, model):
    return db_session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def customer(db_session, holder):
    db_session.add(PaymentCustomer(user_id=holder.id, stripe_customer_id="cus_member"))
    db_session.commit()
    return holder


MALFORMED = {
    "data.object a string": (paid("in_1"), "data.object is not an object"),
    "data a list": (paid(None, data=[1]), "data is not an object"),
    "no data": (paid(None, data=None), "data is not an object"),
    "amount_paid lots": (paid(invoice(amount_paid="lots")), "amount_paid is not a whole number"),
    "amount_paid 10^30": (paid(invoice(amount_paid=10**30)), "amount_paid is out of range"),
    "total 10^30": (paid(invoice(amount_paid=None, total=10**30)), "total is out of range"),
    "amount_paid negative": (paid(invoice(amount_paid=-5)), "amount_paid is out of range"),
    "amount_paid true": (paid(invoice(amount_paid=True)), "amount_paid is not a whole number"),
    "amount_paid a float": (paid(invoice(amount_paid=7.5)), "amount_paid is not a whole number"),
    "created yesterday": (paid(invoice(), created="yesterday"), "created is not a timestamp"),
    "created 10^30": (paid(invoice(), created=10**30), "created is out of range"),
    "no object id": (paid(invoice(id=None)), "data.object.id is missing"),
    "object id a number": (paid(invoice(id=12)), "data.object.id is not a string"),
    "object id too long": (paid(invoice(id="in_" + "x" * 300)), "data.object.id is too long"),
    "event id a number": (paid(invoice(), id=12), "id is not a string"),
    "event id too long": (paid(invoice(), id="evt_" + "x" * 300), "id is too long"),
    "type too long": (paid(invoice(), type="x" * 200), "type is too long"),
    "customer a list": (paid(invoice(customer=["cus_member"])), "customer is not a string"),
    "subscription a number": (paid(invoice(subscription=5)), "subscription is not a string"),
    "parent a string": (paid(invoice(subscription=None, parent="x")), "parent is not an object"),
    "metadata a string": (paid(invoice(metadata="lots")), "data.object.metadata is not an object"),
    "metadata value a dict": (
        paid(intent(metadata={"charge_key": {"a": 1}}), type="payment_intent.succeeded"),
        "data.object.metadata.charge_key is not a string",
    ),
    "payment error a string": (
        paid(intent(last_payment_error="no"), type="payment_intent.payment_failed"),
        "last_payment_error is not an object",
    ),
    "subscription deleted without an id": (
        paid({"object": "subscription"}, type="customer.subscription.deleted"),
        "data.object.id is missing",
    ),
    "a failed invoice with created as text": (
        paid(invoice(), type="invoice.payment_failed", created="1790000000"),
        "created is not a timestamp",
    ),
}


@pytest.mark.parametrize("payload, reason", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_signed_event_is_refused_with_400_and_nothing_stored(
    app, client, db_session, customer, caplog, payload, reason
):
    body, headers = signed(app, payload)

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        response = client.post(URL, data=body, headers=headers)

    assert response.status_code == 400
    assert response.is_json and reason in response.json["error"]
    assert response.json["error"].startswith("The event is malformed: ")
    assert count(db_session, WebhookEvent) == 0 and count(db_session, LedgerEntry) == 0
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.WARNING and reason in record.getMessage()


def test_a_missing_event_id_is_refused_with_a_logged_reason(app, client, db_session, caplog):
    body, headers = signed(app, paid(invoice(), id=None))

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        response = client.post(URL, data=body, headers=headers)

    assert response.status_code == 400 and "not a Stripe event" in response.json["error"]
    assert count(db_session, WebhookEvent) == 0
    assert any("not a Stripe event" in r.getMessage() for r in caplog.records if r.name == LOGGER)


@pytest.fixture
def reads_tax():
    """A later handler reading a field of its own, after payments' handler wrote its entry."""
    reader = lambda _session, e: events.pence(events.data_object(e), "tax")  # noqa: E731
    services.register_handler("invoice.payment_succeeded", reader)
    yield
    services._handlers["invoice.payment_succeeded"].remove(reader)


def test_what_an_earlier_handler_wrote_is_undone_when_a_later_one_refuses(
    app, client, db_session, customer, reads_tax
):
    body, headers = signed(app, paid(invoice(tax="lots")))

    response = client.post(URL, data=body, headers=headers)

    assert response.status_code == 400 and "tax is not a whole number" in response.json["error"]
    assert count(db_session, LedgerEntry) == 0 and count(db_session, WebhookEvent) == 0


def test_a_well_formed_event_is_processed_once_even_after_a_malformed_one(
    app, client, db_session, customer
):
    holder_id = customer.id
    bad_body, bad_headers = signed(app, paid(invoice(amount_paid="lots")))
    assert client.post(URL, data=bad_body, headers=bad_headers).status_code == 400
    body, headers = signed(app, paid(invoice()))  # the same event id, now well formed

    first = client.post(URL, data=body, headers=headers)
    again = client.post(URL, data=body, headers=headers)

    assert first.status_code == 200 and first.json == {"received": True, "duplicate": False}
    assert again.status_code == 200 and again.json["duplicate"] is True
    entry = db_session.scalars(select(LedgerEntry)).one()
    assert (entry.amount_pence, entry.user_id, entry.stripe_id) == (700, holder_id, "in_1")
    assert entry.reference == "subscription:sub_1"
    assert count(db_session, WebhookEvent) == 1


def test_an_expanded_customer_and_the_new_api_shape_are_read(app, client, db_session, customer):
    holder_id = customer.id
    obj = invoice(
        customer={"id": "cus_member", "object": "customer"},
        subscription=None,
        parent={"subscription_details": {"subscription": "sub_new"}},
    )
    body, headers = signed(app, paid(obj))

    assert client.post(URL, data=body, headers=headers).status_code == 200
    entry = db_session.scalars(select(LedgerEntry)).one()
    assert (entry.user_id, entry.reference) == (holder_id, "subscription:sub_new")
