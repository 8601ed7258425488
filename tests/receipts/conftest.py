"""Fixtures for receipts: a provider with a postal address, a pool whose card shares were taken,
and a fee member whose Stripe customer is known (so a paid invoice names them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import stripe

from marketplace.db import utcnow
from marketplace.memberships.models import Membership, MembershipStatus, MembershipSubscription
from marketplace.organisations.models import OrganisationKind
from marketplace.payments import services as payments
from marketplace.payments.gateway import StripeGateway, get_gateway
from marketplace.payments.models import PaymentCustomer
from marketplace.pools import funding, quotes, services
from marketplace.pools.models import PoolStatus
from marketplace.pools.services import Pledge
from tests.factories import OrganisationFactory, StaffFactory, UserFactory
from tests.pools.builders import approved_pool, charge_time, hold_time, quote

GOOD = "4242424242424242"
PROVIDER_NAME = "Harbour Arts Collective"
PROVIDER_ADDRESS = "12 Quay Street\nLeeds\nLS1 4AB"
ULO_NAME = "Leeds Voice"
ULO_ADDRESS = "3 Chapel Lane, Leeds LS6 3BW"


@pytest.fixture
def ctx(app):
    """Services that email or call Stripe read the app's config. Not for page tests: requests
    made inside an outer app context would share its `g` (and so one CSRF token)."""
    with app.app_context():
        yield


@pytest.fixture
def provider(db_session, council):
    org = OrganisationFactory(
        name=PROVIDER_NAME, kind=OrganisationKind.PROVIDER.value, postal_address=PROVIDER_ADDRESS
    )
    org.councils.append(council)
    staff = UserFactory(roles=["provider_staff"])
    StaffFactory(organisation=org, user=staff)
    db_session.commit()
    return staff, org


@pytest.fixture
def gateway(app, stripe_clean) -> Iterator[StripeGateway]:
    # Yielded inside the context: leaving an app context removes the test's session.
    with app.app_context():
        found = get_gateway()
        assert isinstance(found, StripeGateway)  # the real SDK against localstripe
        yield found


def join_by_card(session, gateway, pool, person=None):
    person = person or UserFactory()
    card = payments.save_card(
        session, person, payments.CardDetails(GOOD, 12, 2034, "123"), {}, gateway
    )
    services.join(
        session,
        person,
        pool,
        Pledge(
            max_pence=4000,
            pay_by="card",
            payment_method_id=card.payment_method_id,
            card_description=f"{card.brand.title()} ending {card.last4}",
        ),
    )
    return person


def captured_pool(session, gateway, council, moderator, provider, people=None):
    """Three card members whose month-one shares were held, then taken on the start date."""
    pool = approved_pool(session, council, moderator, max_members=3)
    offer = quote(session, provider, pool, total_pence=9000)
    members = [join_by_card(session, gateway, pool, p) for p in (people or [None] * 3)]
    quotes.open_vote(session, pool.proposer, pool, utcnow() + timedelta(days=7))
    for person in members:
        quotes.vote(session, person, pool, offer)
    assert pool.chosen_quote_id == offer.id
    funding.fund(session, pool, now=hold_time(session, pool), gateway=gateway)
    assert funding.fund(session, pool, now=charge_time(session, pool), gateway=gateway) == (
        PoolStatus.RUNNING.value
    )
    session.commit()
    return pool, members


@pytest.fixture
def ulo(db_session):
    org = OrganisationFactory(
        name=ULO_NAME, kind=OrganisationKind.ULO.value, postal_address=ULO_ADDRESS
    )
    staff = UserFactory(roles=["ulo_staff"])
    StaffFactory(organisation=org, user=staff)
    db_session.commit()
    return staff, org


@pytest.fixture
def fee_member(db_session, ulo):
    """A fee member of the ULO, with a Stripe customer and subscription we know."""
    _staff, org = ulo
    person = UserFactory(display_name="Femi Fee")
    membership = Membership(
        organisation_id=org.id,
        user_id=person.id,
        basis="fee",
        basis_from=date(2026, 11, 1),
        status=MembershipStatus.ACTIVE.value,
        live=True,
    )
    db_session.add(membership)
    db_session.add(
        MembershipSubscription(
            membership=membership,
            stripe_subscription_id="sub_receipt",
            stripe_plan_id="plan_x",
            fee_pence=700,
        )
    )
    db_session.add(PaymentCustomer(user_id=person.id, stripe_customer_id="cus_receipt"))
    db_session.commit()
    return person


def post_event(app, client, event_id, event_type, obj, created=None):
    """A webhook signed with the site's secret, as Stripe sends it."""
    payload = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": created or int(utcnow().timestamp()),
        "data": {"object": obj},
    }
    body = json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(
        body, app.config["STRIPE_WEBHOOK_SECRET"]
    )
    response = client.post(
        "/payments/webhook",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def paid_invoice(invoice_id="in_receipt", period=None, amount=700):
    obj = {
        "id": invoice_id,
        "object": "invoice",
        "customer": "cus_receipt",
        "subscription": "sub_receipt",
        "amount_paid": amount,
        "created": int(utcnow().timestamp()),
    }
    if period is not None:
        start, end = period
        obj["lines"] = {
            "object": "list",
            "data": [{"object": "line_item", "period": {"start": start, "end": end}}],
        }
    return obj
