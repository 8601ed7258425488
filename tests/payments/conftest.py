"""Fixtures for the payments tests: the real SDK against a real localstripe, emptied per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from marketplace.auth.models import User
from marketplace.payments.gateway import SavedCard, StripeGateway, get_gateway
from marketplace.payments.services import customer_for
from tests.factories import UserFactory

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
NEEDS_AUTHENTICATION_CARD = "4000002760003184"


@pytest.fixture
def stripe_app(app: Flask, stripe_clean: str) -> Iterator[Flask]:
    """The app, inside an app context, talking to an empty localstripe."""
    with app.app_context():
        yield app


@pytest.fixture
def gateway(stripe_app: Flask) -> StripeGateway:
    found = get_gateway()
    assert isinstance(found, StripeGateway)  # the real one, never a stand-in, in these tests
    return found


@pytest.fixture
def holder(db_session) -> User:
    user = UserFactory(email="sam@example.org", display_name="Sam")
    db_session.commit()
    return user


def save_card(db_session, gateway: StripeGateway, user: User, number: str) -> SavedCard:
    """Save a test card for this person the way the card form will: SetupIntent, then confirm."""
    customer_id = customer_for(db_session, user, gateway)
    setup = gateway.create_setup_intent(customer_id, {"user_id": str(user.id)})
    return gateway.save_test_card(setup.id, customer_id, number, 12, 2034, "123")


@pytest.fixture
def card(db_session, gateway: StripeGateway, holder: User) -> SavedCard:
    return save_card(db_session, gateway, holder, GOOD_CARD)
