"""Fixtures for buddy tests: one council and the ULO moderator who covers it."""

from __future__ import annotations

import pytest

from tests.factories import CouncilFactory
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
