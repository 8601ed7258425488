"""Pool rules without HTTP or Stripe: proposing, moderation, joining, the waiting list, leaving."""

from __future__ import annotations

import pytest

from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.pools import services
from marketplace.pools.models import MemberStatus, PoolStatus
from marketplace.pools.services import Pledge
from tests.factories import CouncilFactory, UserFactory
from tests.listing_helpers import ulo_moderator
from tests.pools.builders import (
    approved_pool,
    in_days,
    invoice_pledge,
    join_by_invoice,
    pool_data,
)


def test_a_proposal_waits_for_the_local_ulo(db_session, council, moderator):
    proposer = UserFactory()
    pool = services.propose(db_session, proposer, pool_data(council))
    assert pool.status == PoolStatus.PENDING.value
    assert services.open_pools(db_session) == []
    (item,) = moderation.queue_for(db_session, moderator)
    assert item.item_type == "pool" and item.summary.startswith("Pool: Evening art group")
    with pytest.raises(DomainError):  # nobody joins before it is approved
        services.join(db_session, UserFactory(), pool, invoice_pledge())
    moderation.decide(db_session, moderator, item, Decision.APPROVE, "")
    assert pool.status == PoolStatus.OPEN.value
    assert services.open_pools(db_session) == [pool]


def test_a_rejected_proposal_keeps_the_reason_and_stays_private(db_session, council, moderator):
    pool = services.propose(db_session, UserFactory(), pool_data(council))
    (item,) = moderation.queue_for(db_session, moderator)
    moderation.decide(db_session, moderator, item, Decision.REJECT, "Say more about the need")
    assert pool.status == PoolStatus.REJECTED.value
    assert pool.rejection_reason == "Say more about the need"
    assert not services.can_see(db_session, UserFactory(), pool)
    assert not services.can_see(db_session, None, pool)
    assert services.can_see(db_session, pool.proposer, pool)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"min_members": 6, "max_members": 5}, "max_members", "same as or more than"),
        ({"min_members": 1}, "min_members", "at least 2"),
        ({"max_members": 51}, "max_members", "at most 50"),
        ({"cap_pence": 0}, "cap_pence", "Enter the most"),
        ({"cap_pence": 100_000_000}, "cap_pence", "£5,000 a month or less"),
        ({"months": 0}, "months", "between 1 and 24"),
        ({"deadline": in_days(-1)}, "deadline", "in the future"),
        ({"title": "  "}, "title", "Say what service"),
        ({"frequency": ""}, "frequency", "how often"),
        ({"area": "Leeds 6!"}, "area", "first part of a postcode"),
        ({"council_id": 999_999}, "council_id", "council"),
    ],
)
def test_bad_proposals_name_the_field(db_session, council, overrides, field, message):
    with pytest.raises(DomainError) as error:
        services.propose(db_session, UserFactory(), pool_data(council, **overrides))
    assert error.value.field == field
    assert message in error.value.message


def test_online_pools_have_no_area(db_session, council, moderator):
    pool = approved_pool(db_session, council, moderator, area="")
    assert pool.area is None


def test_open_pools_can_be_found_by_area_kind_and_words(db_session, council, moderator):
    leeds = approved_pool(db_session, council, moderator)
    elsewhere = CouncilFactory()
    other = approved_pool(
        db_session, elsewhere, ulo_moderator(elsewhere), title="Swimming together"
    )
    assert services.open_pools(db_session, council_id=council.id) == [leeds]
    assert services.open_pools(db_session, text="swimming") == [other]
    assert set(services.open_pools(db_session)) == {leeds, other}


def test_joining_up_to_capacity_then_the_waiting_list_in_order(db_session, council, moderator):
    pool = approved_pool(db_session, council, moderator, max_members=3)
    people = join_by_invoice(db_session, pool, 5)
    statuses = [services.member_record(db_session, pool, p.id).status for p in people]
    assert statuses == ["member"] * 3 + ["waiting"] * 2
    assert [m.user_id for m in pool.waiting_list] == [people[3].id, people[4].id]


def test_joining_twice_is_refused_and_changes_nothing(db_session, council, moderator):
    pool = approved_pool(db_session, council, moderator)
    (person,) = join_by_invoice(db_session, pool, 1, max_pence=3000)
    with pytest.raises(DomainError, match="already joined"):
        services.join(db_session, person, pool, invoice_pledge(1000))
    assert services.member_record(db_session, pool, person.id).max_pence == 3000


@pytest.mark.parametrize(
    ("pledge", "field"),
    [
        (Pledge(max_pence=0, pay_by="managed_account", invoice_to="X"), "max_pence"),
        (Pledge(max_pence=4001, pay_by="managed_account", invoice_to="X"), "max_pence"),
        (Pledge(max_pence=3000, pay_by="cash"), "pay_by"),
        (Pledge(max_pence=3000, pay_by="card"), "pay_by"),  # no card saved
        (Pledge(max_pence=3000, pay_by="council_arranged", invoice_to=" "), "invoice_to"),
        (Pledge(max_pence=3000, pay_by="council_arranged", invoice_to="X"), "invoice_email"),
        (
            Pledge(3000, "managed_account", invoice_to="X", invoice_email="x@"),
            "invoice_email",
        ),
        (
            Pledge(
                3000,
                "managed_account",
                invoice_to="X",
                invoice_email="a@b.example",
                invoice_reference="<script>",
            ),
            "invoice_reference",
        ),
        (
            Pledge(
                3000,
                "managed_account",
                invoice_to="X",
                invoice_email="a@b.example",
                invoice_reference="A" * 61,
            ),
            "invoice_reference",
        ),
    ],
)
def test_bad_pledges_name_the_field(db_session, council, moderator, pledge, field):
    pool = approved_pool(db_session, council, moderator)
    with pytest.raises(DomainError) as error:
        services.join(db_session, UserFactory(), pool, pledge)
    assert error.value.field == field
    assert pool.members == []


def test_terms_say_when_how_often_and_how_much_at_most(db_session, council, moderator):
    pool = approved_pool(db_session, council, moderator)
    (person,) = join_by_invoice(db_session, pool, 1, max_pence=2550)
    terms = services.member_record(db_session, pool, person.id).terms
    assert "nothing now" in terms and "once a month for up to 3 months" in terms
    assert "no more than £25.50" in terms and "reaches 3 members" in terms


def test_leaving_before_funding_is_free_and_the_first_waiting_is_offered_the_place(
    app, db_session, council, moderator
):
    pool = approved_pool(db_session, council, moderator, max_members=3)
    people = join_by_invoice(db_session, pool, 5)
    with app.app_context():  # the person offered the place is emailed
        offered = services.leave(db_session, people[1], pool)
        assert offered is not None and offered.user_id == people[3].id
        assert offered.status == "offered"  # not a member until they say yes
        assert services.member_record(db_session, pool, people[1].id).status == "left"
        assert len(pool.current_members) == 2
        services.accept_offer(db_session, people[3], pool)
        assert len(pool.current_members) == 3 and offered.from_month is None
        # A waiting person leaving frees nothing for anyone else.
        assert services.leave(db_session, people[4], pool) is None
        with pytest.raises(DomainError):
            services.leave(db_session, people[4], pool)
        # Someone who left may join again, at the back of the line.
        services.join(db_session, people[1], pool, invoice_pledge())
        assert services.member_record(db_session, pool, people[1].id).status == "waiting"


def test_a_carer_with_the_pools_grant_joins_for_the_holder(db_session, council, moderator):
    pool = approved_pool(db_session, council, moderator)
    holder, carer = UserFactory(), UserFactory()
    _, token = carers.invite_carer(db_session, holder, carer.email, [CarerScope.POOLS], 3600)
    carers.accept_invitation(db_session, carer, token)
    services.join(db_session, holder, pool, invoice_pledge(), acting_carer=carer)
    assert services.member_record(db_session, pool, holder.id).status == "member"
    (action,) = carers.actions_for_holder(db_session, holder)
    assert action.description == f"Joined the pool {pool.title}"
    with pytest.raises(NotAllowed):
        services.join(db_session, UserFactory(), pool, invoice_pledge(), acting_carer=carer)


def test_discussion_is_for_members_and_the_proposer(db_session, council, moderator):
    pool = approved_pool(db_session, council, moderator)
    (member,) = join_by_invoice(db_session, pool, 1)
    services.post_message(db_session, member, pool, "Could it be on Thursdays?")
    services.post_message(db_session, pool.proposer, pool, "Yes, let us ask for that.")
    with pytest.raises(NotAllowed):
        services.post_message(db_session, UserFactory(), pool, "Hello")
    with pytest.raises(DomainError):
        services.post_message(db_session, member, pool, "x" * 5001)
    db_session.flush()
    assert [m.body for m in pool.messages] == [
        "Could it be on Thursdays?",
        "Yes, let us ask for that.",
    ]


def test_visibility_of_pools_by_state(db_session, council, moderator):
    pool = approved_pool(db_session, council, moderator)
    assert services.can_see(db_session, None, pool)  # open pools are public
    pool.status = PoolStatus.LAPSED.value
    (member,) = join_by_invoice_when_open(db_session, pool)
    assert services.can_see(db_session, member, pool)  # its history stays with its members
    assert services.can_see(db_session, moderator, pool)
    assert not services.can_see(db_session, UserFactory(), pool)
    assert not services.can_see(db_session, None, pool)
    with pytest.raises(NotAllowed):
        services.get_pool_for(db_session, UserFactory(), pool.id)


def join_by_invoice_when_open(db_session, pool):
    status = pool.status
    pool.status = PoolStatus.OPEN.value
    people = join_by_invoice(db_session, pool, 1)
    pool.status = status
    return people


def test_members_waiting_are_not_members(db_session, council, moderator):
    pool = approved_pool(db_session, council, moderator, max_members=2, min_members=2)
    people = join_by_invoice(db_session, pool, 3)
    assert [m.status for m in pool.members] == [
        MemberStatus.MEMBER.value,
        MemberStatus.MEMBER.value,
        MemberStatus.WAITING.value,
    ]
    assert len(pool.current_members) == 2 and pool.waiting_list[0].user_id == people[2].id


def test_open_pools_come_a_page_at_a_time(db_session, council, moderator):
    made = [approved_pool(db_session, council, moderator) for _ in range(3)]
    first = services.open_pools_page(db_session, per_page=2)
    assert (first.total, first.page, first.pages) == (3, 1, 2)
    second = services.open_pools_page(db_session, page=2, per_page=2)
    assert first.pools + second.pools == services.open_pools(db_session)
    assert set(first.pools + second.pools) == set(made)
    # A page beyond the last shows the last; nonsense shows the first.
    assert services.open_pools_page(db_session, page=99, per_page=2).page == 2
    assert services.open_pools_page(db_session, page=-1, per_page=2).page == 1
