"""Fixtures for membership tests: two ULOs with staff, offers, members on each basis."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from marketplace.memberships import billing, services
from marketplace.memberships.models import Basis
from marketplace.memberships.services import OfferData
from marketplace.organisations.models import ApprovalStatus, OrganisationKind
from marketplace.payments.gateway import StripeGateway, get_gateway
from tests.factories import OrganisationFactory, StaffFactory, UserFactory

# A fixed "now" so months are predictable: the 15th of November 2026.
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
GOOD_CARD = "4242424242424242"
DECLINED_AT_ATTACH = "4000000000000002"
DECLINED_AT_CHARGE = "4000000000000341"
KINDS = ("buddy", "occasional_pa", "events", "peer_group", "other")


def make_ulo(db_session, name="Leeds Voice"):
    """(staff user, approved ULO)."""
    org = OrganisationFactory(
        name=name, kind=OrganisationKind.ULO.value, status=ApprovalStatus.APPROVED.value
    )
    staff = UserFactory(roles=["ulo_staff"])
    StaffFactory(organisation=org, user=staff)
    db_session.commit()
    return staff, org


@pytest.fixture(autouse=True)
def _app_context(app):
    """Services that email or call Stripe read the app's config."""
    with app.app_context():
        yield


@pytest.fixture
def ulo(db_session):
    return make_ulo(db_session)


@pytest.fixture
def other_ulo(db_session):
    return make_ulo(db_session, name="Bradford Together")


@pytest.fixture
def staff(ulo):
    return ulo[0]


@pytest.fixture
def org(ulo):
    return ulo[1]


@pytest.fixture
def reciprocity_offer(db_session, staff, org):
    """4 hours a month, any kind; no fee (so no Stripe needed)."""
    offer = services.set_offer(db_session, staff, org, OfferData(None, 240, KINDS))
    db_session.commit()
    return offer


@pytest.fixture
def gateway(app, stripe_clean):
    with app.app_context():
        found = get_gateway()
        assert isinstance(found, StripeGateway)  # the real SDK against localstripe
        yield found


@pytest.fixture
def both_offer(db_session, staff, org, gateway):
    """£7 a month or 4 hours a month."""
    offer = billing.set_offer(db_session, staff, org, OfferData(700, 240, KINDS), gateway)
    db_session.commit()
    return offer


def member(db_session, org, basis=Basis.RECIPROCITY.value, now=NOW, **kwargs):
    person = UserFactory()
    membership = services.join(db_session, person, org, basis, now=now, **kwargs)
    db_session.commit()
    return person, membership


@pytest.fixture
def giver(db_session, org, reciprocity_offer):
    """(person, membership) of a reciprocity member."""
    return member(db_session, org)


def matched(db_session, org, helper, helped=None, kind="buddy"):
    """An accepted help request: `helped` asked `org`, `helper` (a reciprocity member) took it.
    Members log time only for people they were matched with like this. Returns the request."""
    from marketplace.memberships import help_requests
    from marketplace.memberships.help_requests import HelpRequestData

    helped = helped or UserFactory()
    request = help_requests.post_request(
        db_session, helped, org, HelpRequestData("A lift to the shops", NOW.date(), kind), now=NOW
    )
    help_requests.accept_offer(
        db_session, helped, help_requests.offer_help(db_session, helper, request)
    )
    db_session.commit()
    return request
