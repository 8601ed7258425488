"""Fixtures for pool tests: a provider working in the shared `council` (tests/conftest.py)."""

from __future__ import annotations

import pytest

from marketplace.organisations.models import OrganisationKind
from marketplace.payments.gateway import StripeGateway, get_gateway
from tests.factories import OrganisationFactory, StaffFactory, UserFactory


@pytest.fixture
def provider(db_session, council):
    """(staff user, organisation) of an approved provider covering the council."""
    org = OrganisationFactory(kind=OrganisationKind.PROVIDER.value)
    org.councils.append(council)
    staff = UserFactory(roles=["provider_staff"])
    StaffFactory(organisation=org, user=staff)
    db_session.commit()
    return staff, org


@pytest.fixture
def gateway(app, stripe_clean) -> StripeGateway:
    """The real Stripe SDK, talking to localstripe."""
    with app.app_context():
        found = get_gateway()
        assert isinstance(found, StripeGateway)  # the real SDK, never a stand-in
        yield found
