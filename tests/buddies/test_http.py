"""Budget buddy pages through the test client: forms, privacy, authorisation, emails."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.audit import AuditEntry
from marketplace.buddies import services
from marketplace.buddies.models import BuddyMatch, BuddyMessage, BuddyProfile, MatchStatus
from marketplace.db import utcnow
from marketplace.moderation import services as moderation
from tests.buddies.builders import confirmed_buddy, seeker_request
from tests.buddies.questions import answer_pages, ask_pages, offer_pages, path_of
from tests.factories import CouncilFactory, UserFactory
from tests.helpers import csrf_token, post, sign_in
from tests.listing_helpers import ulo_moderator


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


@pytest.fixture
def proposed(db_session, council, moderator):
    """A seeker who asked a buddy; the buddy has not answered yet."""
    buddy, profile = confirmed_buddy(
        db_session,
        council,
        moderator,
        months_holding=27,
        lived_experience_topics=("bipolar",),
        share_lived_experience=True,
    )
    seeker, request = seeker_request(db_session, council)
    match = services.propose(db_session, request, profile)
    db_session.commit()
    return seeker, buddy, match


@pytest.fixture
def active(db_session, proposed):
    seeker, buddy, match = proposed
    services.accept(db_session, buddy, match)
    db_session.commit()
    return seeker, buddy, match


def test_offer_pages_show_errors_beside_fields_and_save_nothing(app, db_session, council):
    user = UserFactory()
    db_session.commit()
    client = signed_in(app, user)
    assert path_of(client.get("/buddies/offer")) == "/buddies/offer/council"
    response = post(client, "/buddies/offer/council", {"council_id": ""})
    assert response.status_code == 200
    page = text(response)
    assert "There is a problem" in page
    assert "Choose your council" in page
    path = path_of(post(client, "/buddies/offer/council", {"council_id": council.id}))
    assert path == "/buddies/offer/months"

    response = post(client, path, {"months_holding": "three"})
    assert "Enter how many months, as a number like 18" in text(response)
    response = post(client, path, {"months_holding": "3"})
    assert response.status_code == 200
    assert "Buddies have held a budget for at least 6 months" in text(response)
    assert 'id="months_holding-error"' in text(response)
    # Nothing past the first unanswered page, and nothing saved.
    assert path_of(client.get("/buddies/offer/check")) == "/buddies/offer/months"
    assert services.profile_of(db_session, user.id) is None


def test_offer_is_confirmed_by_the_local_ulo_through_the_queue(app, db_session, council, moderator):
    user = UserFactory()
    db_session.commit()
    client = signed_in(app, user)
    pages = offer_pages(
        council,
        experiences={
            "lived_experience_topics": ["psychosis", "hearing_voices"],
            "share_lived_experience": "y",
        },
    )
    check = answer_pages(client, "offer", pages)
    page = text(client.get(check))
    assert "Check your answers before offering to be a buddy" in page
    assert "Polish" in page and "30 months" in page
    response = post(client, check)
    assert response.status_code == 302
    profile = services.profile_of(db_session, user.id)
    assert profile is not None and profile.status == "pending"
    assert profile.share_lived_experience and profile.capacity == 2
    (item,) = moderation.open_entries_for(db_session, services.ITEM_BUDDY_OFFER, profile.id)

    staff = signed_in(app, moderator)
    page = text(staff.get(f"/moderation/items/{item.id}"))
    assert "Offer to be a budget buddy" in page
    assert "Confirm: they have done our buddy induction" in page
    assert "30 months" in page and "Polish" in page
    assert "hearing voices" not in page.lower()  # private, even from the ULO
    response = post(staff, f"/moderation/items/{item.id}", {"decision": "approve", "reason": ""})
    assert response.status_code == 302
    db_session.refresh(profile)
    assert profile.status == "confirmed"


def test_ask_then_choose_a_suggestion_with_reasons(app, db_session, council, moderator, mailbox):
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker = UserFactory()
    db_session.commit()
    client = signed_in(app, seeker)
    check = answer_pages(client, "ask", ask_pages(council))
    response = post(client, check)
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "You have asked for a buddy. Here are the people we suggest" in page
    assert buddy.display_name in page
    assert f"knows {council.name} council&#39;s process" in page
    assert "also holds a direct payment" in page
    request_id = int(re.search(r"/buddies/requests/(\d+)", response.headers["Location"])[1])

    response = post(
        client,
        f"/buddies/requests/{request_id}/ask/{profile.id}",
        token_from=f"/buddies/requests/{request_id}",
    )
    assert response.status_code == 302
    email = mailbox.last_to(buddy.email)
    assert email["Subject"] == "Someone would like you to be their budget buddy"
    assert seeker.display_name not in email.get_payload(decode=True).decode()
    assert "We have asked" in text(client.get(f"/buddies/requests/{request_id}"))


def test_someone_elses_request_is_not_found(app, db_session, council):
    _, request = seeker_request(db_session, council)
    db_session.commit()
    client = signed_in(app, UserFactory())
    assert client.get(f"/buddies/requests/{request.id}").status_code == 404
    token = csrf_token(client, "/buddies")
    assert (
        client.post(
            f"/buddies/requests/{request.id}/withdraw", data={"csrf_token": token}
        ).status_code
        == 404
    )


def test_seeker_sees_only_the_summary_until_the_buddy_accepts(app, db_session, proposed, mailbox):
    seeker, buddy, match = proposed
    seeker_client = signed_in(app, seeker)
    page = text(seeker_client.get(f"/buddies/pairings/{match.id}"))
    assert "We have asked" in page
    assert "27 months" not in page

    buddy_client = signed_in(app, buddy)
    page = text(buddy_client.get(f"/buddies/pairings/{match.id}"))
    assert "Finding and employing a personal assistant" in page  # what the seeker wants
    assert "Yes, be their buddy" in page
    # The seeker cannot answer for the buddy.
    token = csrf_token(seeker_client, f"/buddies/pairings/{match.id}")
    response = seeker_client.post(
        f"/buddies/pairings/{match.id}/accept", data={"csrf_token": token}
    )
    assert response.status_code == 403
    response = post(
        buddy_client,
        f"/buddies/pairings/{match.id}/accept",
        token_from=f"/buddies/pairings/{match.id}",
    )
    assert response.status_code == 302
    assert mailbox.last_to(seeker.email)["Subject"] == "You have a budget buddy"

    page = text(seeker_client.get(f"/buddies/pairings/{match.id}"))
    assert "27 months" in page
    assert "bipolar" not in page.lower()  # lived experience is never shown


def test_messages_are_escaped_private_and_emailed_without_their_text(
    app, db_session, active, mailbox
):
    seeker, buddy, match = active
    client = signed_in(app, seeker)
    path = f"/buddies/pairings/{match.id}"
    response = post(
        client, f"{path}/messages", {"body": "<script>alert(1)</script> my PA"}, token_from=path
    )
    assert response.status_code == 302
    page = text(signed_in(app, buddy).get(path))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; my PA" in page
    assert "<script>alert(1)" not in page
    email = mailbox.last_to(buddy.email)
    body = email.get_payload(decode=True).decode()
    assert "my PA" not in body and "alert" not in body
    assert f"/buddies/pairings/{match.id}" in body

    stranger = signed_in(app, UserFactory())
    assert stranger.get(path).status_code == 404
    token = csrf_token(stranger, "/buddies")
    response = stranger.post(f"{path}/messages", data={"csrf_token": token, "body": "hi"})
    assert response.status_code == 404
    assert db_session.scalars(select(BuddyMessage.body)).all() == [
        "<script>alert(1)</script> my PA"
    ]


def test_a_long_message_is_refused_beside_the_field_and_kept_in_the_box(app, db_session, active):
    seeker, _, match = active
    client = signed_in(app, seeker)
    path = f"/buddies/pairings/{match.id}"
    response = post(client, f"{path}/messages", {"body": "y" * 5001}, token_from=path)
    assert response.status_code == 200
    page = text(response)
    assert "Your message must be 5,000 characters or fewer" in page
    assert 'id="body-error"' in page
    assert "y" * 5001 in page  # what they wrote is not lost
    assert "<title>Error: Budget buddy: " in page
    assert db_session.scalars(select(BuddyMessage)).all() == []


def test_the_messages_address_opened_later_shows_the_conversation(app, db_session, active):
    """After a failed message the browser is left at .../messages; opening it again is no 405."""
    seeker, _, match = active
    path = f"/buddies/pairings/{match.id}"
    response = signed_in(app, seeker).get(f"{path}/messages")
    assert response.status_code == 302
    assert response.headers["Location"] == path
    response = signed_in(app, seeker).get(f"{path}/contact")
    assert response.headers["Location"] == path
    stranger = signed_in(app, UserFactory())
    assert stranger.get(f"{path}/messages").status_code == 404
    assert stranger.get(f"{path}/contact").status_code == 404


def test_a_sent_message_is_confirmed_in_a_focusable_banner_and_the_title(app, db_session, active):
    seeker, _, match = active
    client = signed_in(app, seeker)
    path = f"/buddies/pairings/{match.id}"
    response = post(client, f"{path}/messages", {"body": "Hello"}, token_from=path)
    assert response.headers["Location"] == f"{path}#latest"
    page = text(client.get(path))
    assert "<title>Message sent – Budget buddy: " in page
    banner = r'role="alert"[^>]*data-module="govuk-notification-banner"[^>]*tabindex="-1"'
    assert re.search(banner, page)


def test_posts_need_a_csrf_token(app, db_session, active):
    seeker, _, match = active
    client = signed_in(app, seeker)
    response = client.post(f"/buddies/pairings/{match.id}/messages", data={"body": "hi"})
    assert response.status_code == 400
    assert db_session.scalars(select(BuddyMessage)).all() == []


def test_share_contact_pause_resume_and_end(app, db_session, active):
    seeker, buddy, match = active
    match_id = match.id
    path = f"/buddies/pairings/{match_id}"
    seeker_client = signed_in(app, seeker)
    buddy_client = signed_in(app, buddy)
    assert "07700 900456" not in text(buddy_client.get(path))
    post(seeker_client, f"{path}/contact", {"contact": "07700 900456"}, token_from=path)
    assert "07700 900456" in text(buddy_client.get(path))

    response = post(buddy_client, f"{path}/pause", {"days": "14"})
    assert response.status_code == 302
    match = db_session.get(BuddyMatch, match_id, populate_existing=True)
    assert match.status == MatchStatus.PAUSED.value and match.paused_until is not None
    assert re.search(r"Paused</strong> until \d+ \w+ \d{4}", text(seeker_client.get(path)))
    post(seeker_client, f"{path}/resume", token_from=path)
    match = db_session.get(BuddyMatch, match_id, populate_existing=True)
    assert match.status == MatchStatus.ACTIVE.value

    response = post(seeker_client, f"{path}/end", {"reason": "I am settled now"})
    assert response.status_code == 302
    match = db_session.get(BuddyMatch, match_id, populate_existing=True)
    assert match.status == MatchStatus.ENDED.value and match.end_reason == "I am settled now"
    page = text(buddy_client.get(path))
    assert "This pairing has ended" in page and "07700 900456" not in page


def test_block_ends_the_pairing_and_keeps_them_apart(app, db_session, active, council):
    seeker, buddy, match = active
    match_id = match.id
    client = signed_in(app, buddy)
    response = post(client, f"/buddies/pairings/{match_id}/block")
    assert response.status_code == 302
    match = db_session.get(BuddyMatch, match_id, populate_existing=True)
    assert match.status == MatchStatus.ENDED.value
    assert buddy.id in services.excluded_user_ids(db_session, seeker.id)


def test_report_goes_to_the_ulo_and_reading_the_conversation_is_audited(
    app, db_session, active, moderator
):
    seeker, buddy, match = active
    path = f"/buddies/pairings/{match.id}"
    seeker_client = signed_in(app, seeker)
    post(seeker_client, f"{path}/messages", {"body": "Can you lend me money?"}, token_from=path)
    response = post(seeker_client, f"{path}/report", {"body": "I felt pressured"})
    assert response.status_code == 302
    (item,) = moderation.queue_for(db_session, moderator)
    assert item.item_type == "buddy_concern"

    staff = signed_in(app, moderator)
    conversation = f"/buddies/concerns/{item.id}/conversation"
    assert staff.get(conversation).status_code == 404  # not until they take it on
    post(staff, f"/moderation/items/{item.id}/claim", token_from=f"/moderation/items/{item.id}")
    page = text(staff.get(conversation))
    assert "Can you lend me money?" in page
    entries = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "buddies.conversation_read")
    ).all()
    assert [(e.actor_id, e.subject_id) for e in entries] == [(moderator.id, match.id)]

    other_area = signed_in(app, ulo_moderator(CouncilFactory()))
    db_session.commit()
    assert other_area.get(conversation).status_code == 404


def test_feedback_form(app, db_session, active):
    seeker, _, match = active
    match_id = match.id
    client = signed_in(app, seeker)
    path = f"/buddies/pairings/{match_id}/feedback"
    response = post(client, path, {"helpfulness": "very"})
    assert response.status_code == 200
    assert "We are not asking for feedback on this pairing now" in text(response)
    db_session.get(BuddyMatch, match_id, populate_existing=True).accepted_at = utcnow() - timedelta(
        weeks=5
    )
    db_session.commit()
    assert "How is it going?" in text(client.get("/buddies"))
    response = post(client, path, {})
    assert "Choose how helpful it has been" in text(response)
    response = post(client, path, {"helpfulness": "very"})
    assert response.status_code == 302


def test_matching_round_is_for_ulo_staff_and_sends_proposals(
    app, db_session, council, moderator, mailbox
):
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    holder = UserFactory()
    db_session.commit()
    assert signed_in(app, holder).get("/buddies/round").status_code == 403

    staff = signed_in(app, moderator)
    page = text(staff.get("/buddies/round"))
    assert seeker.display_name in page and buddy.display_name in page
    value = f"{request.id}:{profile.id}"
    assert f'value="{value}"' in page
    response = post(staff, "/buddies/round", {"pair": [value]})
    assert response.status_code == 302
    match = db_session.scalars(select(BuddyMatch)).one()
    assert (match.seeker_id, match.buddy_user_id) == (seeker.id, buddy.id)
    assert mailbox.last_to(buddy.email)["Subject"].startswith("Someone would like you")


def test_offer_page_prefills_and_pause_resume_withdraw(app, db_session, council, moderator):
    user, profile = confirmed_buddy(db_session, council, moderator, used_for=())
    db_session.commit()
    client = signed_in(app, user)
    page = text(client.get("/buddies/offer", follow_redirects=True))
    assert "Change your buddy offer" in page
    post(client, "/buddies/offer/pause", token_from="/buddies")
    assert db_session.get(BuddyProfile, profile.id, populate_existing=True).status == "paused"
    post(client, "/buddies/offer/resume", token_from="/buddies")
    assert db_session.get(BuddyProfile, profile.id, populate_existing=True).status == "confirmed"
    post(client, "/buddies/offer/withdraw", token_from="/buddies")
    assert db_session.get(BuddyProfile, profile.id, populate_existing=True).status == "withdrawn"
