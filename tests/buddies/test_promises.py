"""What the buddy pages and emails say is what the code does (issue 21, items 3, 5, 6, 7 and
the gentle closing). Each test reads the sentence from the page or email and checks it."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from marketplace.buddies import matching, notices, rounds, services
from marketplace.buddies.models import BuddyMatch, MatchStatus
from marketplace.db import utcnow
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.privacy import services as privacy
from tests.buddies.builders import confirmed_buddy, offer, seeker_request
from tests.buddies.questions import answer_pages, ask_pages
from tests.factories import CouncilFactory, UserFactory
from tests.helpers import post, sign_in
from tests.listing_helpers import ulo_moderator
from tests.notifications.helpers import body_of


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


@pytest.fixture
def proposed(db_session, council, moderator):
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    seeker.display_name = "Zara"
    match = services.propose(db_session, request, profile)
    db_session.commit()
    return seeker, buddy, match


@pytest.fixture
def active(db_session, proposed):
    seeker, buddy, match = proposed
    services.accept(db_session, buddy, match)
    db_session.commit()
    return seeker, buddy, match


def fresh(db_session, match) -> BuddyMatch:
    return db_session.get(BuddyMatch, match.id, populate_existing=True)


# --- 7: the buddy's view by state ------------------------------------------------------------


def test_before_she_says_yes_the_buddy_is_asked_not_told_they_are_her_buddy(
    app, db_session, proposed
):
    seeker, buddy, match = proposed
    client = signed_in(app, buddy)
    pairing = f"/buddies/pairings/{match.id}"
    page = text(client.get(pairing))
    assert "You are the buddy of" not in page
    assert "Would like you to be their buddy" in page
    assert "End the pairing" not in page
    assert "Yes, be their buddy" in page and "They would like help with" in page
    # The server agrees: a suggestion is answered, not ended.
    assert client.get(f"{pairing}/end").status_code == 302
    with pytest.raises(Exception, match="Say yes or no"):
        services.end(db_session, buddy, match)
    db_session.rollback()
    assert fresh(db_session, match).status == MatchStatus.PROPOSED.value


def test_once_the_buddy_says_yes_what_she_asked_for_stays_in_the_buddys_view(
    app, db_session, active
):
    _seeker, buddy, match = active
    page = text(signed_in(app, buddy).get(f"/buddies/pairings/{match.id}"))
    assert "You are the buddy of" in page
    assert "They would like help with" in page
    assert "Finding and employing a personal assistant" in page


def test_the_seeker_can_stop_asking_and_keeps_her_place(app, db_session, proposed, mailbox):
    seeker, buddy, match = proposed
    client = signed_in(app, seeker)
    pairing = f"/buddies/pairings/{match.id}"
    page = text(client.get(f"{pairing}/end"))
    assert "We will tell them they no longer need to. You keep your place in the queue" in page
    mailbox.clear()
    assert post(client, f"{pairing}/end", {"reason": ""}).status_code == 302
    assert fresh(db_session, match).request.status == "waiting"
    email = mailbox.last_to(buddy.email, notices.WITHDRAWN_SUBJECT)
    assert "no longer needs an answer" in body_of(email)
    assert buddy.id in services.excluded_user_ids(db_session, seeker.id)  # not suggested again


def test_a_person_with_no_suggestions_is_not_told_here_they_are(app, db_session, council):
    seeker = UserFactory()
    db_session.commit()
    client = signed_in(app, seeker)
    pages = ask_pages(
        council, help={"wants": ["assessment"]}, languages={"languages": ["Tigrinya"]}
    )
    response = post(client, answer_pages(client, "ask", pages))
    assert response.status_code == 302, text(response)[:3000]
    page = text(client.get(response.location))
    assert "Here are the people we suggest" not in page
    assert "You have a place in the queue" in page
    assert "Nobody who fits is free just now" in page


def test_an_ended_pairing_asks_no_four_week_question(app, db_session, active):
    seeker, _buddy, match = active
    row = fresh(db_session, match)
    row.accepted_at = utcnow() - timedelta(weeks=5)
    db_session.commit()
    client = signed_in(app, seeker)
    assert "Tell us how it is going" in text(client.get(f"/buddies/pairings/{match.id}"))
    services.end(db_session, seeker, fresh(db_session, match))
    db_session.commit()
    assert "Tell us how it is going" not in text(client.get(f"/buddies/pairings/{match.id}"))
    assert "How is it going?" not in text(client.get("/buddies"))


# --- 5 and the gentle closing -------------------------------------------------------------


def test_a_pause_tells_the_other_person_kindly_and_either_can_pick_it_up(
    app, db_session, active, mailbox
):
    seeker, buddy, match = active
    client = signed_in(app, seeker)
    pairing = f"/buddies/pairings/{match.id}"
    mailbox.clear()
    assert post(client, f"{pairing}/pause", {"days": ""}).status_code == 302
    email = mailbox.last_to(buddy.email, "Your budget buddy pairing is paused")
    assert "Either of you can pick it up again when you are ready." in body_of(email)
    assert post(signed_in(app, buddy), f"{pairing}/resume", token_from=pairing).status_code == 302
    assert fresh(db_session, match).status == MatchStatus.ACTIVE.value


def test_a_timed_pause_says_when_it_picks_up_and_it_does(app, db_session, active, mailbox):
    from marketplace.buddies import conversations

    seeker, buddy, match = active
    with app.app_context():
        services.pause(db_session, seeker, match, until=utcnow() + timedelta(days=7))
        db_session.commit()
    email = mailbox.last_to(buddy.email, "Your budget buddy pairing is paused")
    assert "It picks up again by itself on" in body_of(email)
    assert conversations.resume_due(db_session, utcnow() + timedelta(days=8)) == 1


def test_when_the_seeker_ends_it_the_buddy_gets_a_kind_word_and_the_place_is_free(
    app, db_session, active, mailbox
):
    seeker, buddy, match = active
    client = signed_in(app, seeker)
    profile = services.profile_of(db_session, buddy.id)
    before = services.free_capacity(db_session, profile)
    mailbox.clear()
    response = post(client, f"/buddies/pairings/{match.id}/end", {"reason": "Moving away"})
    assert response.status_code == 302
    body = body_of(mailbox.last_to(buddy.email, notices.ENDED_SUBJECT))
    assert "Thank you for the time you gave" in body
    assert "The place you gave them is free again for someone new." in body
    assert "Moving away" not in body  # the private reason is never in the email
    assert services.free_capacity(db_session, profile) == before + 1


def test_when_the_buddy_ends_it_the_seeker_gets_one_kind_email_with_the_handover(
    app, db_session, active, mailbox
):
    seeker, buddy, match = active
    client = signed_in(app, buddy)
    mailbox.clear()
    assert post(client, f"/buddies/pairings/{match.id}/end", {"reason": ""}).status_code == 302
    to_seeker = [m for m in mailbox.messages if m["To"] == seeker.email]
    assert [m["Subject"] for m in to_seeker] == ["Would you like another budget buddy?"]
    assert "Thank you for the time you spent together" in body_of(to_seeker[0])
    # The choice of the handover is real: she is back in the queue, in her old place.
    assert fresh(db_session, match).request.status == "waiting"
    page = text(signed_in(app, seeker).get(f"/buddies/pairings/{match.id}"))
    assert "Tell us how it is going" not in page


def test_an_ended_pairing_email_to_the_seeker_when_no_handover_is_on_offer(
    app, db_session, active, mailbox
):
    seeker, buddy, match = active
    match.request.status = "withdrawn"  # she no longer wants another buddy from this request
    db_session.commit()
    with app.app_context():
        services.end(db_session, buddy, fresh(db_session, match))
        db_session.commit()
    body = body_of(mailbox.last_to(seeker.email, notices.ENDED_SUBJECT))
    assert "If you would like another buddy, you can ask again at any time." in body
    # Asking again starts at the first question.
    assert signed_in(app, seeker).get("/buddies/ask", follow_redirects=True).status_code == 200


# --- 3: the private reason for ending ------------------------------------------------------


def test_the_private_reason_is_shown_to_the_areas_ulo_staff_and_nobody_else(
    app, db_session, council, moderator, active
):
    seeker, buddy, match = active
    other_area = ulo_moderator(CouncilFactory())
    admin = UserFactory(roles=["admin"])
    db_session.commit()
    clients = {user.id: signed_in(app, user) for user in (seeker, buddy, moderator, other_area)}
    form_page = text(clients[seeker.id].get(f"/buddies/pairings/{match.id}/end"))
    assert "Only the local user-led organisation sees this." in form_page
    services.end(db_session, seeker, fresh(db_session, match), "He never replied")
    db_session.commit()

    page = text(clients[moderator.id].get("/buddies/round"))
    assert "Why pairings ended" in page and "He never replied" in page
    assert "He never replied" not in text(clients[other_area.id].get("/buddies/round"))
    assert conversations_reasons(db_session, db_session.get(type(admin), admin.id)) == []
    # Neither person is shown it on the pairing, and only its writer has it in "Your data".
    assert "He never replied" not in text(
        signed_in(app, buddy).get(f"/buddies/pairings/{match.id}")
    )
    buddy, seeker = db_session.get(type(buddy), buddy.id), db_session.get(type(seeker), seeker.id)
    theirs = privacy.export_user_data(db_session, buddy)["budget_buddies"]["buddy_pairings"]
    assert theirs[0]["end_reason"] is None
    mine = privacy.export_user_data(db_session, seeker)["budget_buddies"]["buddy_pairings"]
    assert mine[0]["end_reason"] == "He never replied"


def conversations_reasons(db_session, user):
    from marketplace.buddies import conversations

    return conversations.private_end_reasons(db_session, user)


# --- 7: why nobody fits, for staff ------------------------------------------------------------


def test_the_round_page_says_why_nobody_fits_someone(app, db_session, council, moderator):
    confirmed_buddy(db_session, council, moderator, languages=("English",))
    seeker, _request = seeker_request(db_session, council, languages=("Tigrinya",))
    seeker.display_name = "Sam"
    db_session.commit()
    page = text(signed_in(app, moderator).get("/buddies/round"))
    assert "Nobody suits them yet" in page
    assert "No buddy with a free place speaks Tigrinya" in page


def test_the_reasons_for_nobody_fitting_are_exactly_the_matchers_hard_constraints():
    rng = random.Random(21)

    def some(values, k):
        return frozenset(rng.sample(values, rng.randint(1, k)))

    genders = [None, "woman", "man"]
    for n in range(2000):
        seeker = matching.Seeker(
            id=n,
            council="A",
            holds="direct_payment",
            wants=frozenset({"ideas"}),
            languages=some(["English", "Urdu", "Tigrinya"], 2),
            ways=some(list(matching.WAYS), 2),
            times=frozenset({"evenings"}),
            point=None,
            only_gender=rng.choice(genders),
            gender=rng.choice(genders),
            excluded=frozenset(rng.sample(range(5), rng.randint(0, 2))),
        )
        buddy = matching.BuddyProfile(
            id=rng.randrange(5),
            council=rng.choice(["A", "B"]),
            holds="direct_payment",
            experience=frozenset({"ideas"}),
            languages=some(["English", "Urdu", "Tigrinya"], 2),
            ways=some(list(matching.WAYS), 2),
            times=frozenset({"evenings"}),
            capacity=rng.randint(0, 2),
            point=None,
            only_gender=rng.choice(genders),
            gender=rng.choice(genders),
        )
        assert rounds.meets_all(seeker, buddy) == matching.feasible(seeker, buddy)
        if not matching.feasible(seeker, buddy):
            assert rounds.why_nobody_fits(seeker, [buddy])  # always says something


# --- 6: offers confirmed, and areas with no ULO ----------------------------------------------


def test_the_buddy_is_emailed_when_their_offer_is_confirmed(
    app, db_session, council, moderator, mailbox
):
    with app.app_context():
        user, _profile = confirmed_buddy(db_session, council, moderator)
        db_session.commit()
    body = body_of(mailbox.last_to(user.email, "You are now a confirmed budget buddy"))
    assert "we may now suggest you to people who are waiting" in body


def test_in_an_area_with_no_ulo_the_page_says_the_sites_team_checks_and_admins_are_told(
    app, db_session, mailbox
):
    manchester = CouncilFactory(name="Manchester")
    admin = UserFactory(roles=["admin"])
    user = UserFactory()
    db_session.commit()
    client = signed_in(app, user)
    mailbox.clear()
    with app.app_context():
        profile = services.offer_to_be_buddy(db_session, user, offer(manchester))
        db_session.commit()
    page = text(client.get("/buddies"))
    assert "The user-led organisation for Manchester will invite you" not in page
    assert (
        "There is no user-led organisation for Manchester on the site yet, so the site's own "
        "team will check your offer instead. We will email you when it is confirmed." in page
    )
    # The admins are told, and can act on it.
    assert mailbox.last_to(admin.email, "An offer to be a budget buddy is waiting for an admin")
    (item,) = moderation.open_entries_for(db_session, services.ITEM_BUDDY_OFFER, profile.id)
    assert moderation.can_moderate(db_session, admin, item)
    with app.app_context():
        moderation.decide(db_session, admin, item, Decision.APPROVE, "")
        db_session.commit()
    assert mailbox.last_to(user.email, "You are now a confirmed budget buddy")


def test_in_an_area_with_a_ulo_the_ulo_is_named_and_admins_are_not_emailed(
    app, db_session, council, moderator, mailbox
):
    admin = UserFactory(roles=["admin"])
    user = UserFactory()
    db_session.commit()
    mailbox.clear()
    with app.app_context():
        services.offer_to_be_buddy(db_session, user, offer(council))
        db_session.commit()
    page = text(signed_in(app, user).get("/buddies"))
    assert f"The user-led organisation for {council.name} will invite you" in page
    assert not [m for m in mailbox.messages if m["To"] == admin.email]


def test_ended_pairings_are_listed_newest_first_without_site_written_reasons(
    db_session, council, moderator
):
    buddy, profile = confirmed_buddy(db_session, council, moderator, capacity=3)
    ended = []
    for reason in ("first", "second", services.ACCOUNT_CLOSED):
        seeker, request = seeker_request(db_session, council)
        match = services.propose(db_session, request, profile)
        services.accept(db_session, buddy, match)
        services.end(db_session, seeker, match, reason)
        match.ended_at = utcnow() + timedelta(minutes=len(ended))
        ended.append(match)
    db_session.commit()
    shown = conversations_reasons(db_session, moderator)
    assert [m.end_reason for m in shown] == ["second", "first"]
