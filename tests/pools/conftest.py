"""Fixtures for pool tests: a council, its ULO moderator, a provider working there."""

from __future__ import annotations

import pytest

from marketplace.organisations.models import OrganisationKind
from tests.factories import CouncilFactory, OrganisationFactory, StaffFactory, UserFactory
from tests.listing_helpers import ulo_moderator


@pytest.fixture
def council(db_session):
    council = CouncilFactory()
    db_session.commit()
    return council


@pytest.fixture
def moderator(db_session, council):
    user = ulo_moderator(council)
    db_session.commit()
    return user


@pytest.fixture
def provider(db_session, council):
    """(staff user, organisation) of an approved provider covering the council."""
    org = OrganisationFactory(kind=OrganisationKind.PROVIDER.value)
    org.councils.append(council)
    staff = UserFactory(roles=["provider_staff"])
    StaffFactory(organisation=org, user=staff)
    db_session.commit()
    return staff, org
