"""The demo world is believable and has one account per role."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from marketplace.auth.models import Role, User
from marketplace.auth.services import authenticate
from marketplace.buddies.models import BuddyMatch, BuddyProfile, BuddyRequest
from marketplace.demo import seed
from marketplace.demo.pools_and_memberships import seed_memberships
from marketplace.memberships.models import Membership, MembershipOffer
from marketplace.organisations.models import ApprovalStatus, Organisation, OrganisationKind
from marketplace.payments.localstripe_server import free_port
from marketplace.places.models import Council
from marketplace.pools.models import Pool
from tests.factories import OrganisationFactory, StaffFactory, UserFactory
from tests.helpers import post


def test_demo_world(app, db_session, stripe_clean):
    with app.app_context():  # the £7 fee offer makes a Stripe plan in localstripe
        world = seed.seed(db_session, random.Random(1))
        db_session.commit()  # before the context ends and its teardown closes the session
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
    # Through the real sign-in form too: its email check refuses reserved domains (".invalid").
    client = app.test_client()
    response = post(
        client,
        "/sign-in",
        {"email": world.accounts["budget holder"], "password": seed.DEMO_PASSWORD},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]

    # Budget buddies: confirmed buddies, people waiting, and the demo holder already paired.
    assert world.buddies == 10
    assert count(BuddyProfile, BuddyProfile.status == "confirmed") == 10
    assert count(BuddyRequest, BuddyRequest.status == "waiting") == 6
    holder = authenticate(db_session, world.accounts["budget holder"], seed.DEMO_PASSWORD)
    (match,) = db_session.scalars(select(BuddyMatch).where(BuddyMatch.seeker_id == holder.id))
    assert match.status == "active" and len(match.messages) == 1

    # Pools and memberships: an open pool with a quote, one waiting for the ULO, and offers.
    assert world.pools == 2
    (open_pool,) = db_session.scalars(select(Pool).where(Pool.status == "open")).all()
    assert len(open_pool.current_members) == 4 and len(open_pool.quotes) == 1
    assert count(Pool, Pool.status == "pending") == 1
    assert count(MembershipOffer) == 2 and world.membership_fees == 1
    fee_offer = db_session.scalars(select(MembershipOffer).where(MembershipOffer.fee_pence == 700))
    assert fee_offer.one().stripe_plan_id
    assert count(Membership, Membership.basis == "reciprocity") == 3


def test_without_a_stripe_endpoint_the_demo_offers_have_no_fee(app, db_session, monkeypatch):
    ulo = OrganisationFactory(kind=OrganisationKind.ULO.value)
    staff = UserFactory(roles=["ulo_staff"])
    StaffFactory(organisation=ulo, user=staff)
    db_session.commit()
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", f"http://127.0.0.1:{free_port()}")
    with app.app_context():
        assert seed_memberships(db_session, [(staff, ulo)]) == 0
        db_session.commit()
    offer = db_session.scalars(select(MembershipOffer)).one()
    assert offer.fee_pence is None and offer.reciprocity_minutes == 120
