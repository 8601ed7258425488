"""Taking a break: everything paused at once, everything restored on coming back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.buddies import services as buddies
from marketplace.buddies.models import BuddyMessage, MatchStatus, ProfileStatus, RequestStatus
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships import reciprocity
from marketplace.memberships import services as memberships
from marketplace.memberships.models import MembershipStatus, Standing
from marketplace.memberships.services import OfferData
from marketplace.organisations.models import ApprovalStatus, OrganisationKind
from marketplace.pools import funding
from marketplace.pools.models import MemberStatus, PoolPayment
from marketplace.privacy import services as privacy
from marketplace.wellbeing import breaks
from marketplace.wellbeing.models import Break
from tests.buddies.builders import confirmed_buddy, seeker_request
from tests.factories import OrganisationFactory, StaffFactory, UserFactory
from tests.pools.builders import running_pool

KINDS = ("buddy", "occasional_pa", "events", "peer_group", "other")


@pytest.fixture(autouse=True)
def _app_context(app):
    """Services that email read the app's config."""
    with app.app_context():
        yield


@pytest.fixture
def ulo(db_session):
    org = OrganisationFactory(
        name="Leeds Voice", kind=OrganisationKind.ULO.value, status=ApprovalStatus.APPROVED.value
    )
    staff = UserFactory(roles=["ulo_staff"])
    StaffFactory(organisation=org, user=staff)
    memberships.set_offer(db_session, staff, org, OfferData(None, 240, KINDS))
    db_session.commit()
    return org


def pair(db_session, council, moderator, seeker=None):
    """A confirmed buddy and a seeker in an active pairing: (buddy, match)."""
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    if seeker is None:
        seeker, request = seeker_request(db_session, council)
    else:
        from tests.buddies.builders import ask

        request = buddies.ask_for_buddy(db_session, seeker, ask(council))
    match = buddies.propose(db_session, request, profile)
    buddies.accept(db_session, buddy, match)
    return buddy, match


@pytest.fixture
def holder(db_session, council, moderator, provider, ulo):
    """A holder with a buddy, a reciprocity membership and a place in a running pool."""
    person = UserFactory(display_name="Robin")
    buddy, match = pair(db_session, council, moderator, seeker=person)
    membership = memberships.join(db_session, person, ulo, "reciprocity")
    pool, _, _ = running_pool(
        db_session, council, moderator, provider, members=[person, UserFactory(), UserFactory()]
    )
    db_session.commit()
    return person, buddy, match, membership, pool


def snapshot(db_session, person, match, membership, pool):
    db_session.refresh(match)
    db_session.refresh(membership)
    place = next(m for m in pool.members if m.user_id == person.id)
    return (match.status, membership.status, place.status, place.max_pence, pool.status)


def test_a_break_and_a_return_leave_every_commitment_as_it_was(db_session, holder):
    person, buddy, match, membership, pool = holder
    before = snapshot(db_session, person, match, membership, pool)
    assert before == ("active", "active", "member", 4000, "running")

    brk = breaks.start_break(db_session, person, "month")
    db_session.commit()
    assert breaks.is_on_break(db_session, person.id)
    assert match.status == MatchStatus.PAUSED.value
    assert membership.status == MembershipStatus.PAUSED.value
    place = next(m for m in pool.members if m.user_id == person.id)
    assert place.status == MemberStatus.MEMBER.value  # the place is kept
    # The buddy sees one neutral message, and nothing about why.
    (message,) = db_session.scalars(
        select(BuddyMessage).where(BuddyMessage.match_id == match.id)
    ).all()
    assert message.body == "Robin is taking a break and will be back in touch."

    # No hours are owed for the months the break covers, and no month counts as short.
    month = brk.starts_at.date()
    assert reciprocity.standing(db_session, membership, month).standing == Standing.PAUSED

    breaks.end_break(db_session, person)
    db_session.commit()
    assert not breaks.is_on_break(db_session, person.id)
    assert snapshot(db_session, person, match, membership, pool) == before
    assert reciprocity.standing(db_session, membership, month).standing == Standing.PAUSED


def test_coming_back_never_resumes_what_the_person_had_paused_themselves(
    db_session, council, moderator, holder
):
    person, _buddy, match, membership, _pool = holder
    _other_buddy, second = pair(db_session, council, moderator)  # between two other people
    buddies.pause(db_session, person, match)
    memberships.pause(db_session, person, membership)
    db_session.commit()

    brk = breaks.start_break(db_session, person, "open")
    assert brk.paused == []  # nothing left for the break to pause
    breaks.end_break(db_session, person)
    assert match.status == MatchStatus.PAUSED.value
    assert membership.status == MembershipStatus.PAUSED.value
    assert second.status == MatchStatus.ACTIVE.value  # someone else's pairing: untouched


def test_the_other_person_cannot_lift_the_breaks_pause_but_may_end_the_pairing(db_session, holder):
    person, buddy, match, _membership, _pool = holder
    breaks.start_break(db_session, person, "open")
    assert buddies.held_by_break(db_session, match) == person.id
    assert not buddies.may_resume(db_session, buddy, match)
    with pytest.raises(NotAllowed):
        buddies.resume(db_session, buddy, match)
    assert match.status == MatchStatus.PAUSED.value
    buddies.end(db_session, buddy, match)  # either person may still end it at any time
    breaks.end_break(db_session, person)  # nothing to resume, and no error
    assert match.status == MatchStatus.ENDED.value


def test_a_running_pool_still_collects_the_members_share_during_a_break(db_session, holder):
    person, _buddy, _match, _membership, pool = holder
    breaks.start_break(db_session, person, "open")
    db_session.commit()

    next_month = funding.add_months(pool.commissioned_at, 1) + timedelta(hours=1)
    funding.charge_due(db_session, now=next_month)
    assert pool.months_started == 2
    due = db_session.scalars(
        select(PoolPayment).where(PoolPayment.user_id == person.id, PoolPayment.month == 2)
    ).one()
    assert due.amount_pence == 3000 and due.status == "invoiced"


def test_a_week_ends_by_itself_on_time(db_session, holder):
    person, _buddy, match, membership, _pool = holder
    now = utcnow()
    brk = breaks.start_break(db_session, person, "week", now=now)
    assert brk.ends_at == now + timedelta(weeks=1)

    assert breaks.end_due_breaks(db_session, now + timedelta(days=6)) == 0
    assert breaks.is_on_break(db_session, person.id, now + timedelta(days=6))
    assert not breaks.is_on_break(db_session, person.id, now + timedelta(days=7, seconds=1))
    assert breaks.end_due_breaks(db_session, now + timedelta(days=7, seconds=1)) == 1
    assert brk.ended_at is not None and brk.ended_by_id is None
    assert match.status == MatchStatus.ACTIVE.value
    assert membership.status == MembershipStatus.ACTIVE.value
    assert breaks.end_due_breaks(db_session, now + timedelta(days=8)) == 0


def test_a_break_covers_each_month_it_touches_with_zero_hours(db_session, holder):
    person, _buddy, _match, membership, _pool = holder
    now = utcnow()
    brk = breaks.start_break(db_session, person, "month", now=now)
    assert brk.ends_at is not None
    breaks.end_due_breaks(db_session, brk.ends_at)
    for month in (now.date(), brk.ends_at.date()):
        got = reciprocity.standing(db_session, membership, month)
        assert got.standing == Standing.PAUSED  # nothing owed, no shortfall


def test_one_break_at_a_time_and_only_when_on_one_can_you_come_back(db_session, holder):
    person = holder[0]
    with pytest.raises(DomainError) as error:
        breaks.end_break(db_session, person)
    assert "not taking a break" in error.value.message
    breaks.start_break(db_session, person, "open")
    with pytest.raises(DomainError) as error:
        breaks.start_break(db_session, person, "week")
    assert error.value.field == "length"


def test_an_unknown_length_is_refused_beside_the_field(db_session):
    with pytest.raises(DomainError) as error:
        breaks.start_break(db_session, UserFactory(), "fortnight")
    assert error.value.field == "length"


def test_a_carer_needs_the_wellbeing_grant(db_session, holder):
    person = holder[0]
    carer = UserFactory(email="carer@example.org")
    grant, token = carers.invite_carer(
        db_session, person, carer.email, [CarerScope.BUDDYING], ttl_seconds=3600
    )
    carers.accept_invitation(db_session, carer, token)
    with pytest.raises(NotAllowed):
        breaks.start_break(db_session, person, "week", acting_carer=carer)
    assert not breaks.is_on_break(db_session, person.id)

    carers.change_scopes(db_session, person, grant.id, [CarerScope.WELLBEING])
    brk = breaks.start_break(db_session, person, "week", acting_carer=carer)
    assert brk.started_by_id == carer.id
    breaks.end_break(db_session, person, acting_carer=carer)
    assert brk.ended_by_id == carer.id


def test_a_buddy_away_for_long_leaves_their_seeker_a_handover(db_session, council, moderator):
    buddy, match = pair(db_session, council, moderator)
    breaks.start_break(db_session, buddy, "month")
    assert match.status == MatchStatus.PAUSED.value
    assert match.request is not None
    assert match.request.status == RequestStatus.WAITING.value  # offered another buddy


def test_a_buddy_away_for_a_week_keeps_their_seeker(db_session, council, moderator):
    buddy, match = pair(db_session, council, moderator)
    breaks.start_break(db_session, buddy, "week")
    assert match.request is not None
    assert match.request.status == RequestStatus.MATCHED.value
    profile = buddies.profile_of(db_session, buddy.id)
    assert profile is not None and profile.status == ProfileStatus.PAUSED.value
    breaks.end_break(db_session, buddy)
    assert profile.status == ProfileStatus.CONFIRMED.value


def test_a_waiting_request_keeps_its_place_in_the_queue(db_session, council):
    seeker, request = seeker_request(db_session, council)
    asked = request.created_at
    breaks.start_break(db_session, seeker, "open")
    assert request.status != RequestStatus.WAITING.value  # no suggestions while away
    breaks.end_break(db_session, seeker)
    assert request.status == RequestStatus.WAITING.value and request.created_at == asked


def test_the_plan_says_what_will_happen_and_changes_nothing(db_session, holder):
    person, buddy, match, membership, pool = holder
    planned = breaks.plan(db_session, person, "week")
    text = {item.heading: item.outcome for item in planned.items}
    pairing = text[f"Budget buddy pairing with {buddy.display_name}"]
    assert "Robin is taking a break and will be back in touch." in pairing
    assert "no hours" in text["Membership of Leeds Voice"]
    assert "still due" in text[f"Your place in the pool “{pool.title}”"]
    assert "money that is due" in text["Emails"]
    assert match.status == MatchStatus.ACTIVE.value
    assert membership.status == MembershipStatus.ACTIVE.value
    assert db_session.scalars(select(Break)).all() == []


def test_callbacks_run_inside_the_transaction(db_session, holder):
    person = holder[0]
    seen: list[tuple[str, int]] = []

    def started(session, brk):
        seen.append(("started", brk.user_id))

    def ended(session, brk):
        seen.append(("ended", brk.user_id))

    breaks.on_break_started(started)
    breaks.on_break_ended(ended)
    try:
        breaks.start_break(db_session, person, "open")
        breaks.end_break(db_session, person)
    finally:
        breaks._started.remove(started)
        breaks._ended.remove(ended)
    assert seen == [("started", person.id), ("ended", person.id)]


def test_breaks_are_exported_and_erased(db_session, holder):
    person = holder[0]
    breaks.start_break(db_session, person, "week")
    exported = privacy.export_user_data(db_session, person)["breaks"]
    assert exported[0]["length"] == "week" and exported[0]["ended_at"] is None
    breaks._erase(db_session, person)
    db_session.flush()
    assert db_session.scalars(select(Break).where(Break.user_id == person.id)).all() == []


def test_live_break_in_sql_agrees_with_live_at(db_session):
    """The navigation reads live_break_exists with the signed-in person; it must say what
    Break.live_at says, on every database, for every kind of break."""
    now = utcnow()
    hour = timedelta(hours=1)
    kinds = {
        "open-ended, started": {"starts_at": now - hour, "ends_at": None},
        "ends later": {"starts_at": now - hour, "ends_at": now + hour},
        "planned for later": {"starts_at": now + hour, "ends_at": now + 2 * hour},
        "past its end, not yet ended by the job": {
            "starts_at": now - 2 * hour,
            "ends_at": now - hour,
        },
        "ended": {"starts_at": now - hour, "ends_at": None, "ended_at": now - hour / 2},
    }
    people = {}
    for name, times in kinds.items():
        person = UserFactory()
        db_session.add(Break(user_id=person.id, length="open", **times))
        people[name] = person
    nobody = UserFactory()
    db_session.flush()

    in_sql = dict(
        db_session.execute(
            select(User.id, breaks.live_break_exists(now)).where(
                User.id.in_([p.id for p in [*people.values(), nobody]])
            )
        ).all()
    )
    for name, person in people.items():
        [brk] = db_session.scalars(select(Break).where(Break.user_id == person.id))
        assert in_sql[person.id] == brk.live_at(now), name
    assert in_sql[nobody.id] is False
    assert [n for n, p in people.items() if in_sql[p.id]] == ["open-ended, started", "ends later"]
