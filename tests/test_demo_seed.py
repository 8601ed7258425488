"""The demo world is believable and has one account per role."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from marketplace.auth.models import Role, User
from marketplace.auth.services import authenticate
from marketplace.buddies.models import BuddyMatch, BuddyProfile, BuddyRequest
from marketplace.demo import seed
from marketplace.organisations.models import ApprovalStatus, Organisation, OrganisationKind
from marketplace.places.models import Council


def test_demo_world(db_session):
    world = seed.seed(db_session, random.Random(1))
    db_session.flush()

    def count(model, *where):
        return db_session.scalar(select(func.count()).select_from(model).where(*where))

    assert count(Council) == 3
    assert count(Organisation, Organisation.kind == OrganisationKind.ULO.value) == 2
    assert count(Organisation, Organisation.kind == OrganisationKind.PROVIDER.value) == 40
    assert count(Organisation, Organisation.status == ApprovalStatus.PENDING.value) == 3
    assert count(User) >= 30
    expected = {
        "admin": Role.ADMIN,
        "ULO staff": Role.ULO_STAFF,
        "provider staff": Role.PROVIDER_STAFF,
        "budget holder": Role.HOLDER,
        "carer": Role.CARER,
    }
    for label, role in expected.items():
        user = authenticate(db_session, world.accounts[label], seed.DEMO_PASSWORD)
        assert user is not None and user.has_role(role), label
    assert "demo-password" in seed.describe_accounts(world)

    # Budget buddies: confirmed buddies, people waiting, and the demo holder already paired.
    assert world.buddies == 10
    assert count(BuddyProfile, BuddyProfile.status == "confirmed") == 10
    assert count(BuddyRequest, BuddyRequest.status == "waiting") == 6
    holder = authenticate(db_session, world.accounts["budget holder"], seed.DEMO_PASSWORD)
    (match,) = db_session.scalars(select(BuddyMatch).where(BuddyMatch.seeker_id == holder.id))
    assert match.status == "active" and len(match.messages) == 1
