"""The webhook endpoint and handlers: verified, stored by event id, processed once; and a real
webhook sent by localstripe to a receiver started here."""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe
from sqlalchemy import func, select

from marketplace.payments import services
from marketplace.payments.localstripe_server import free_port
from marketplace.payments.models import Charge, ChargeStatus, LedgerEntry, LedgerKind, WebhookEvent

URL = "/payments/webhook"


def event(event_id="evt_test_1", event_type="test.happened", obj=None):
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "data": {"object": obj or {"id": "obj_1"}},
    }


def signed(app, payload, secret=None):
    body = json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(
        body, secret or app.config["STRIPE_WEBHOOK_SECRET"]
    )
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


@pytest.fixture
def seen():
    """A handler for a made-up event type that records each call."""
    calls = []
    services.register_handler("test.happened", lambda _session, e: calls.append(e["id"]))
    yield calls
    services._handlers.pop("test.happened", None)


def stored_events(db_session):
    return db_session.scalar(select(func.count()).select_from(WebhookEvent))


def test_a_signed_event_is_stored_and_processed_once(app, client, db_session, seen):
    body, headers = signed(app, event())

    first = client.post(URL, data=body, headers=headers)
    second = client.post(URL, data=body, headers=headers)

    assert first.status_code == 200 and first.json == {"received": True, "duplicate": False}
    assert second.status_code == 200 and second.json == {"received": True, "duplicate": True}
    assert seen == ["evt_test_1"]
    stored = db_session.scalars(select(WebhookEvent)).one()
    assert (stored.stripe_event_id, stored.type) == ("evt_test_1", "test.happened")
    assert stored.processed_at is not None
    assert json.loads(stored.payload)["data"]["object"]["id"] == "obj_1"


def test_a_bad_signature_is_refused_with_json(app, client, db_session, seen):
    body, _ = signed(app, event())
    _, wrong = signed(app, event(), secret="whsec_someone_else")

    forged = client.post(URL, data=body, headers=wrong)
    unsigned = client.post(URL, data=body, headers={"Content-Type": "application/json"})
    garbage = client.post(URL, data="{", headers=signed(app, "x")[1])

    for response in (forged, unsigned, garbage):
        assert response.status_code == 400
        assert response.is_json and "not valid" in response.json["error"]
    assert seen == []
    assert stored_events(db_session) == 0


def test_handle_event_returns_false_for_a_duplicate(db_session, seen):
    assert services.handle_event(db_session, event("evt_a")) is True
    assert services.handle_event(db_session, event("evt_a")) is False
    assert services.handle_event(db_session, event("evt_b")) is True
    assert seen == ["evt_a", "evt_b"]


def test_a_late_success_settles_a_charge_once(db_session, holder):
    """payment_intent.succeeded after the holder approved a payment the bank held back."""
    charge = Charge(
        idempotency_key="pool:5:member:1:period:2027-02",
        purpose="pool",
        reference="pool:5",
        user_id=holder.id,
        amount_pence=1800,
        status=ChargeStatus.REQUIRES_ACTION.value,
        attempts=1,
        stripe_payment_intent_id="pi_held",
    )
    db_session.add(charge)
    db_session.flush()
    intent = {"id": "pi_held", "metadata": {"charge_key": charge.idempotency_key}}

    services.handle_event(db_session, event("evt_ok", "payment_intent.succeeded", intent))
    services.handle_event(db_session, event("evt_ok", "payment_intent.succeeded", intent))

    assert charge.status == ChargeStatus.SUCCEEDED
    entries = db_session.scalars(select(LedgerEntry)).all()
    assert [(e.kind, e.amount_pence, e.charge_id) for e in entries] == [
        (LedgerKind.CHARGE, 1800, charge.id)
    ]


def test_a_paid_subscription_invoice_goes_in_the_ledger(db_session, holder):
    from marketplace.payments.models import PaymentCustomer

    db_session.add(PaymentCustomer(user_id=holder.id, stripe_customer_id="cus_member"))
    db_session.flush()
    invoice = {"id": "in_1", "customer": "cus_member", "subscription": "sub_1", "total": 700}

    services.handle_event(db_session, event("evt_inv", "invoice.payment_succeeded", invoice))

    entry = db_session.scalars(select(LedgerEntry)).one()
    assert (entry.kind, entry.amount_pence, entry.user_id, entry.stripe_id) == (
        LedgerKind.SUBSCRIPTION_PAYMENT,
        700,
        holder.id,
        "in_1",
    )


class _Receiver(BaseHTTPRequestHandler):
    """Takes whatever localstripe posts and hands it to the test."""

    inbox: queue.Queue[tuple[bytes, str]]

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.inbox.put((body, self.headers.get("Stripe-Signature", "")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args):
        pass


def _configure_webhook(base, webhook_id, fields):
    data = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(f"{base}/_config/webhooks/{webhook_id}", data=data)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_localstripe_sends_a_webhook_that_verifies(stripe_app, gateway, localstripe):
    inbox: queue.Queue[tuple[bytes, str]] = queue.Queue()
    handler = type("Receiver", (_Receiver,), {"inbox": inbox})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/payments/webhook"
    secret = stripe_app.config["STRIPE_WEBHOOK_SECRET"]
    try:
        _configure_webhook(localstripe, "tests", {"url": url, "secret": secret})
        customer_id = gateway.create_customer("w@example.org", "W", {})

        deadline = time.monotonic() + 15  # localstripe waits about a second before sending
        received = None
        while time.monotonic() < deadline:
            body, signature = inbox.get(timeout=deadline - time.monotonic())
            verified = gateway.construct_event(body, signature)
            # Events from earlier tests may still be on their way; wait for ours.
            if verified["data"]["object"]["id"] == customer_id:
                received = verified
                break
    finally:
        # localstripe cannot forget a webhook; narrow this one to an event that never happens.
        _configure_webhook(
            localstripe, "tests", {"url": url, "secret": secret, "events[0]": "never.happens"}
        )
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    assert received is not None
    assert received["type"] == "customer.created"
