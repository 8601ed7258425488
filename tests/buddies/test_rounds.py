"""Suggestions for one seeker and matching rounds for a whole area, without HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.buddies import rounds, services
from marketplace.buddies.models import MatchStatus, RequestStatus
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from tests.buddies.builders import confirmed_buddy, seeker_request
from tests.factories import CouncilFactory, UserFactory
from tests.listing_helpers import ulo_moderator


def test_suggestions_come_with_plain_reasons_best_first(db_session, council, moderator):
    elsewhere = CouncilFactory()
    _, near = confirmed_buddy(db_session, council, moderator)
    _, far = confirmed_buddy(db_session, elsewhere, ulo_moderator(elsewhere))
    _, request = seeker_request(db_session, council)
    found = rounds.suggestions_for(db_session, request)
    assert [s.profile.id for s in found] == [near.id, far.id]
    assert found[0].reasons[0] == f"knows {council.name} council's process"
    assert "also holds a direct payment" in found[0].reasons
    assert "free on weekday evenings" in found[0].reasons
    assert not any("council's process" in r for r in found[1].reasons)


def test_suggestions_leave_out_blocked_full_and_unsuitable_buddies(db_session, council, moderator):
    blocker, blocked_profile = confirmed_buddy(db_session, council, moderator)
    _, welsh_only = confirmed_buddy(db_session, council, moderator, languages=("Welsh",))
    _, full = confirmed_buddy(db_session, council, moderator, capacity=1)
    _, other_request = seeker_request(db_session, council)
    services.propose(db_session, other_request, full)  # takes its one place
    seeker, request = seeker_request(db_session, council)
    services.block(db_session, blocker, seeker.id)
    assert rounds.suggestions_for(db_session, request) == []


def test_a_seeker_can_only_ask_someone_they_were_suggested(db_session, council, moderator):
    _, good = confirmed_buddy(db_session, council, moderator)
    _, unsuitable = confirmed_buddy(db_session, council, moderator, ways=("video",))
    seeker, request = seeker_request(db_session, council)
    with pytest.raises(DomainError, match="no longer available"):
        rounds.ask_suggested(db_session, seeker, request, unsuitable.id)
    with pytest.raises(NotAllowed):
        rounds.ask_suggested(db_session, UserFactory(), request, good.id)
    match = rounds.ask_suggested(db_session, seeker, request, good.id)
    assert match.status == MatchStatus.PROPOSED.value
    assert rounds.pending_proposal(db_session, request) is match


def test_a_carer_with_the_buddying_grant_asks_for_the_holder(db_session, council, moderator):
    _, profile = confirmed_buddy(db_session, council, moderator)
    holder, request = seeker_request(db_session, council)
    carer = UserFactory()
    _, token = carers.invite_carer(db_session, holder, carer.email, [CarerScope.BUDDYING], 3600)
    carers.accept_invitation(db_session, carer, token)
    assert services.get_request_for(db_session, carer, request.id) == (request, True)
    rounds.ask_suggested(db_session, holder, request, profile.id, acting_carer=carer)
    (action,) = carers.actions_for_holder(db_session, holder)
    assert action.description == "Asked a suggested budget buddy"

    nosy = UserFactory()
    with pytest.raises(NotAllowed):
        services.get_request_for(db_session, nosy, request.id)


def test_round_is_globally_best_not_first_come(db_session, council, moderator):
    # The first seeker could use either buddy; the second only the phone buddy. First come,
    # first served gives the first seeker the phone buddy and leaves the second with nobody.
    _, phone_buddy = confirmed_buddy(
        db_session, council, moderator, capacity=1, ways=("phone", "video")
    )
    _, video_buddy = confirmed_buddy(db_session, council, moderator, capacity=1, ways=("video",))
    first, flexible = seeker_request(db_session, council, ways=("phone", "video"))
    flexible.created_at = utcnow() - timedelta(days=10)
    second, phone_only = seeker_request(db_session, council, ways=("phone",))
    plan = rounds.plan_round(db_session, moderator)
    pairs = {(p.request.id, p.profile.id) for p in plan.proposals}
    assert pairs == {(flexible.id, video_buddy.id), (phone_only.id, phone_buddy.id)}
    assert plan.waiting == 2 and plan.unmatched == []


def test_round_only_covers_the_coordinators_area(db_session, council, moderator):
    elsewhere = CouncilFactory()
    confirmed_buddy(db_session, council, moderator)
    _, mine = seeker_request(db_session, council)
    _, theirs = seeker_request(db_session, elsewhere)
    plan = rounds.plan_round(db_session, moderator)
    assert [p.request.id for p in plan.proposals] == [mine.id]
    assert plan.waiting == 1
    with pytest.raises(NotAllowed):
        rounds.send_round(db_session, moderator, [(theirs.id, plan.proposals[0].profile.id)])
    # Staff of a ULO that covers nowhere yet see an empty round rather than an error.
    assert rounds.plan_round(db_session, UserFactory(roles=["ulo_staff"])).waiting == 0


def test_sending_a_round_proposes_and_reports_pairs_that_no_longer_fit(
    db_session, council, moderator
):
    _, one = confirmed_buddy(db_session, council, moderator, capacity=1)
    _, two = confirmed_buddy(db_session, council, moderator, capacity=1)
    seeker_a, request_a = seeker_request(db_session, council)
    seeker_b, request_b = seeker_request(db_session, council)
    plan = rounds.plan_round(db_session, moderator)
    assert len(plan.proposals) == 2
    # Between planning and sending, one buddy blocks their seeker.
    stale = plan.proposals[1]
    services.block(db_session, stale.profile.user, stale.request.seeker_id)
    sent = rounds.send_round(
        db_session, moderator, [(p.request.id, p.profile.id) for p in plan.proposals]
    )
    assert sent.sent == 1
    assert sent.problems == [
        f"{stale.request.seeker.display_name}: These two people cannot be paired"
    ]
    with pytest.raises(DomainError):
        rounds.send_round(db_session, moderator, [])


def test_declined_seeker_keeps_their_place_in_the_next_round(db_session, council, moderator):
    buddy, profile = confirmed_buddy(db_session, council, moderator, capacity=1)
    seeker, request = seeker_request(db_session, council)
    asked_at = request.created_at
    match = rounds.ask_suggested(db_session, seeker, request, profile.id)
    assert rounds.plan_round(db_session, moderator).waiting == 0  # a suggestion is out
    services.decline(db_session, buddy, match)
    assert request.status == RequestStatus.WAITING.value and request.created_at == asked_at
    _, later = seeker_request(db_session, council)
    _, other = confirmed_buddy(db_session, council, moderator, capacity=1)
    plan = rounds.plan_round(db_session, moderator)
    assert plan.waiting == 2
    assert [r.id for r in rounds.waiting_in_area(db_session, moderator)][0] == request.id
    # Never the buddy who said no to them; that buddy is free for someone else.
    pairs = {(p.request.id, p.profile.id) for p in plan.proposals}
    assert pairs == {(request.id, other.id), (later.id, profile.id)}
    assert rounds.suggestions_for(db_session, request)[0].profile.id == other.id
