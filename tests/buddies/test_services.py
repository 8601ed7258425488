"""Budget buddy rules, without HTTP: offers, moderation, requests, pairings, blocks, your data."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.buddies import services
from marketplace.buddies.models import MatchStatus, ProfileStatus, RequestStatus
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.privacy import services as privacy
from tests.buddies.builders import ask, confirmed_buddy, offer, seeker_request
from tests.factories import PASSWORD, CouncilFactory, UserFactory
from tests.listing_helpers import ulo_moderator


def test_offer_goes_to_the_local_ulo_who_confirms_it(db_session, council, moderator):
    user = UserFactory()
    profile = services.offer_to_be_buddy(db_session, user, offer(council))
    assert profile.status == ProfileStatus.PENDING.value
    (item,) = moderation.queue_for(db_session, moderator)
    assert item.item_type == "buddy_offer" and item.item_id == profile.id
    assert council.code in item.councils
    elsewhere = ulo_moderator(CouncilFactory())
    assert moderation.queue_for(db_session, elsewhere) == []
    with pytest.raises(NotAllowed):
        moderation.decide(db_session, elsewhere, item, Decision.APPROVE, "")
    moderation.decide(db_session, moderator, item, Decision.APPROVE, "")
    assert profile.status == ProfileStatus.CONFIRMED.value
    assert profile.confirmed_at is not None


def test_rejected_offer_keeps_the_reason(db_session, council, moderator):
    profile = services.offer_to_be_buddy(db_session, UserFactory(), offer(council))
    (item,) = moderation.queue_for(db_session, moderator)
    moderation.decide(db_session, moderator, item, Decision.REJECT, "Come to an induction first")
    assert profile.status == ProfileStatus.REJECTED.value
    assert profile.rejection_reason == "Come to an induction first"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"months_holding": 5}, "months_holding"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 4}, "capacity"),
        ({"languages": ()}, "languages"),
        ({"languages": ("Klingon",)}, "languages"),
        ({"ways": ()}, "ways"),
        ({"ways": ("carrier_pigeon",)}, "ways"),
        ({"times": ()}, "times"),
        ({"experience": ("astrology",)}, "experience"),
        ({"holds": "cash"}, "holds"),
        ({"council_id": 999_999}, "council_id"),
        ({"postcode": "NOT A POSTCODE"}, "postcode"),
    ],
)
def test_offer_validation_names_the_field(db_session, council, overrides, field):
    with pytest.raises(DomainError) as error:
        services.offer_to_be_buddy(db_session, UserFactory(), offer(council, **overrides))
    assert error.value.field == field


def test_six_month_rule_is_explained(db_session, council):
    with pytest.raises(DomainError) as error:
        services.offer_to_be_buddy(db_session, UserFactory(), offer(council, months_holding=2))
    assert "Buddies have held a budget for at least 6 months" in error.value.message
    assert "our rule" in error.value.message


def test_postcode_is_looked_up(db_session, council):
    profile = services.offer_to_be_buddy(
        db_session, UserFactory(), offer(council, postcode="ls11ur")
    )
    assert profile.postcode == "LS1 1UR"
    assert profile.point == (429833, 434079)


def test_one_offer_per_person_and_pause_resume(db_session, council, moderator):
    user, profile = confirmed_buddy(db_session, council, moderator)
    with pytest.raises(DomainError):
        services.offer_to_be_buddy(db_session, user, offer(council))
    services.update_profile(db_session, user, offer(council, capacity=3))
    assert profile.capacity == 3 and profile.status == ProfileStatus.CONFIRMED.value
    services.pause_offer(db_session, user)
    assert profile.status == ProfileStatus.PAUSED.value
    services.resume_offer(db_session, user)
    assert profile.status == ProfileStatus.CONFIRMED.value


def test_ask_for_a_buddy_once(db_session, council):
    seeker, request = seeker_request(db_session, council)
    assert request.status == RequestStatus.WAITING.value
    assert request.want_set == {"employing_a_pa"}
    with pytest.raises(DomainError):
        services.ask_for_buddy(db_session, seeker, ask(council))
    with pytest.raises(DomainError) as error:
        services.ask_for_buddy(db_session, UserFactory(), ask(council, wants=()))
    assert error.value.field == "wants"


def test_candidates_are_confirmed_unpaused_with_room_and_never_the_seeker(
    db_session, council, moderator
):
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    services.offer_to_be_buddy(db_session, UserFactory(), offer(council))  # still pending
    seeker, request = seeker_request(db_session, council)
    assert [b.id for b in services.candidates(db_session, request)] == [buddy.id]
    services.pause_offer(db_session, buddy)
    assert services.candidates(db_session, request) == []
    services.resume_offer(db_session, buddy)
    # A buddy who is also seeking is never suggested to themself.
    own = services.ask_for_buddy(db_session, buddy, ask(council))
    assert services.candidates(db_session, own) == []
    seeker_view = services.to_matching_seeker(request, utcnow() + timedelta(days=3), {7})
    assert seeker_view.waiting_days == 3 and seeker_view.excluded == {7}


def test_propose_accept(db_session, council, moderator):
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    match = services.propose(db_session, request, profile)
    assert match.status == MatchStatus.PROPOSED.value
    with pytest.raises(NotAllowed):
        services.accept(db_session, seeker, match)
    services.accept(db_session, buddy, match)
    assert match.status == MatchStatus.ACTIVE.value
    assert request.status == RequestStatus.MATCHED.value
    assert match.accepted_at is not None


def test_unsuitable_buddy_is_not_proposed(db_session, council, moderator):
    _, profile = confirmed_buddy(db_session, council, moderator, languages=("Welsh",))
    _, request = seeker_request(db_session, council, languages=("Polish",))
    with pytest.raises(DomainError):
        services.propose(db_session, request, profile)


def test_decline_keeps_the_seekers_place_in_the_queue(db_session, council, moderator):
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    asked_at = request.created_at
    match = services.propose(db_session, request, profile)
    services.decline(db_session, buddy, match)
    db_session.flush()
    db_session.expire(request)
    assert match.status == MatchStatus.DECLINED.value
    assert request.status == RequestStatus.WAITING.value
    assert as_utc(request.created_at) == as_utc(asked_at)
    # A decline frees the buddy's place, and the request can be proposed again.
    assert services.free_capacity(db_session, profile) == 2
    other_buddy, other = confirmed_buddy(db_session, council, moderator)
    services.propose(db_session, request, other)


def test_capacity_is_never_exceeded(db_session, council, moderator):
    buddy, profile = confirmed_buddy(db_session, council, moderator, capacity=1)
    _, first = seeker_request(db_session, council)
    _, second = seeker_request(db_session, council)
    match = services.propose(db_session, first, profile)
    with pytest.raises(DomainError):
        services.propose(db_session, second, profile)
    services.accept(db_session, buddy, match)
    services.pause(db_session, buddy, match)
    with pytest.raises(DomainError):  # a paused pairing still holds its place
        services.propose(db_session, second, profile)
    services.end(db_session, buddy, match)
    assert services.free_capacity(db_session, profile) == 1
    services.propose(db_session, second, profile)


def active_pair(db_session, council, moderator):
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    match = services.propose(db_session, request, profile)
    services.accept(db_session, buddy, match)
    return buddy, seeker, match


def test_either_side_pauses_resumes_and_ends(db_session, council, moderator):
    buddy, seeker, match = active_pair(db_session, council, moderator)
    services.pause(db_session, seeker, match, until=utcnow() + timedelta(days=30))
    assert match.status == MatchStatus.PAUSED.value and match.paused_until is not None
    services.resume(db_session, buddy, match)
    assert match.status == MatchStatus.ACTIVE.value and match.paused_until is None
    services.pause(db_session, buddy, match)  # no reason, no date needed
    services.resume(db_session, seeker, match)
    services.end(db_session, seeker, match)
    assert match.status == MatchStatus.ENDED.value
    assert match.ended_by_id == seeker.id and match.end_reason is None
    with pytest.raises(DomainError):
        services.end(db_session, buddy, match)

    buddy2, seeker2, match2 = active_pair(db_session, council, moderator)
    services.end(db_session, buddy2, match2, reason="  Moving away ")
    assert match2.end_reason == "Moving away"


def test_outsiders_cannot_act_on_a_pairing(db_session, council, moderator):
    _, _, match = active_pair(db_session, council, moderator)
    outsider = UserFactory()
    for action in (services.pause, services.end):
        with pytest.raises(NotAllowed):
            action(db_session, outsider, match)
    services.pause(db_session, match.seeker, match)
    with pytest.raises(NotAllowed):
        services.resume(db_session, outsider, match)


def test_ended_buddy_is_not_suggested_again(db_session, council, moderator):
    buddy, seeker, match = active_pair(db_session, council, moderator)
    services.end(db_session, seeker, match)
    request = services.ask_for_buddy(db_session, seeker, ask(council))
    assert buddy.id not in [b.id for b in services.candidates(db_session, request)]


def test_block_ends_a_live_pairing_and_prevents_proposals(db_session, council, moderator):
    buddy, seeker, match = active_pair(db_session, council, moderator)
    services.block(db_session, buddy, seeker.id)
    assert match.status == MatchStatus.ENDED.value
    # The seeker is back in the queue with the request they first made (see test_handover).
    request = services.waiting_request_of(db_session, seeker.id)
    assert request is match.request
    assert services.candidates(db_session, request) == []  # blocked by the buddy
    with pytest.raises(DomainError):
        services.propose(db_session, request, match.profile)

    # The seeker blocking a buddy they never met works the same way.
    other_buddy, other_profile = confirmed_buddy(db_session, council, moderator)
    services.block(db_session, seeker, other_buddy.id)
    with pytest.raises(DomainError):
        services.propose(db_session, request, other_profile)
    with pytest.raises(DomainError):
        services.block(db_session, seeker, seeker.id)


def test_carer_acting_for_a_holder_is_recorded(db_session, council, moderator):
    seeker = UserFactory()
    carer = UserFactory()
    grant, token = carers.invite_carer(
        db_session, seeker, carer.email, [CarerScope.BUDDYING], ttl_seconds=3600
    )
    carers.accept_invitation(db_session, carer, token)
    request = services.ask_for_buddy(db_session, seeker, ask(council), acting_carer=carer)
    assert request.seeker_id == seeker.id
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    match = services.propose(db_session, request, profile)
    services.accept(db_session, buddy, match)
    services.pause(db_session, seeker, match, acting_carer=carer)
    services.end(db_session, seeker, match, acting_carer=carer)
    actions = carers.actions_for_holder(db_session, seeker)
    assert {a.description for a in actions} == {
        "Asked for a budget buddy",
        "Paused a budget buddy pairing",
        "Ended a budget buddy pairing",
    }
    assert all(a.carer_id == carer.id and a.scope == "buddying" for a in actions)

    # Without the buddying scope the carer cannot act.
    carers.change_scopes(db_session, seeker, grant.id, [CarerScope.VIEW])
    with pytest.raises(NotAllowed):
        services.ask_for_buddy(db_session, seeker, ask(council), acting_carer=carer)
    stranger = UserFactory()
    with pytest.raises(NotAllowed):
        services.ask_for_buddy(db_session, UserFactory(), ask(council), acting_carer=stranger)


def test_export_and_erase(db_session, council, moderator):
    buddy, seeker, match = active_pair(db_session, council, moderator)
    profile = match.profile
    profile.lived_experience_topics = "psychosis"
    data = privacy.export_user_data(db_session, buddy)["budget_buddies"]
    assert data["buddy_offer"]["capacity"] == 2
    assert data["buddy_offer"]["lived_experience_topics"] == ["psychosis"]
    assert data["buddy_pairings"][0]["you_were"] == "buddy"
    seeker_data = privacy.export_user_data(db_session, seeker)["budget_buddies"]
    assert seeker_data["buddy_offer"] is None
    assert seeker_data["buddy_requests"][0]["wants"] == ["employing_a_pa"]

    request = match.request
    privacy.erase_account(db_session, buddy, PASSWORD)
    db_session.flush()
    assert services.profile_of(db_session, buddy.id) is None
    assert match.status == MatchStatus.ENDED.value
    assert match.end_reason == "account closed"
    assert match.buddy_profile_id is None
    # The seeker goes back to waiting, keeping their place.
    assert request.status == RequestStatus.WAITING.value

    privacy.erase_account(db_session, seeker, PASSWORD)
    db_session.flush()
    assert services.waiting_request_of(db_session, seeker.id) is None
    assert privacy.export_user_data(db_session, seeker)["budget_buddies"]["buddy_requests"] == []


def test_lived_experience_is_used_for_matching_only_with_both_consents(
    db_session, council, moderator
):
    _, shares = confirmed_buddy(
        db_session,
        council,
        moderator,
        lived_experience_topics=("hearing_voices",),
        share_lived_experience=True,
    )
    _, keeps_private = confirmed_buddy(
        db_session, council, moderator, lived_experience_topics=("hearing_voices",)
    )
    assert services.to_matching_buddy(shares, 1).lived == frozenset({"hearing_voices"})
    assert services.to_matching_buddy(keeps_private, 1).lived == frozenset()
    _, opted_in = seeker_request(
        db_session,
        council,
        lived_experience_topics=("hearing_voices",),
        share_lived_experience=True,
    )
    _, not_opted = seeker_request(db_session, council, lived_experience_topics=("hearing_voices",))
    now = utcnow()
    assert services.to_matching_seeker(opted_in, now, ()).lived == frozenset({"hearing_voices"})
    assert services.to_matching_seeker(not_opted, now, ()).lived == frozenset()
    with pytest.raises(DomainError) as error:
        seeker_request(db_session, council, lived_experience_topics=("astrology",))
    assert error.value.field == "lived_experience_topics"
