"""Every buddy email goes through buddies/notices.py and respects the person's email choice.

"Nothing is lost" (the "How we email you" page): for a person who chose one weekly email, each
kind of buddy email is kept as a digest row, and the weekly email carries it. The same emails
go at once, with the "fewer emails" footer, for everyone else.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from marketplace.buddies import notices, services
from marketplace.buddies.models import BuddyMatch
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.notifications import digest, preferences
from marketplace.notifications.models import DigestItem
from marketplace.wellbeing import breaks
from tests.buddies.builders import confirmed_buddy, offer, seeker_request
from tests.factories import UserFactory
from tests.notifications.helpers import body_of


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def weekly(db_session, *people) -> None:
    for person in people:
        preferences.set_frequency(db_session, person, "weekly_digest")
    db_session.commit()


def kept_for(db_session, person) -> list[str]:
    return list(
        db_session.scalars(
            select(DigestItem.subject)
            .where(DigestItem.user_id == person.id)
            .order_by(DigestItem.id)
        )
    )


def _proposed(db_session, council, moderator):
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    db_session.commit()
    return seeker, buddy, profile, request


def _asked(db_session, council, moderator):
    seeker, buddy, profile, request = _proposed(db_session, council, moderator)
    weekly(db_session, buddy)
    services.propose(db_session, request, profile)
    return buddy, "Someone would like you to be their budget buddy"


def _active(db_session, council, moderator):
    seeker, buddy, profile, request = _proposed(db_session, council, moderator)
    match = services.propose(db_session, request, profile)
    services.accept(db_session, buddy, match)
    db_session.commit()
    return seeker, buddy, match


def _accepted(db_session, council, moderator):
    seeker, buddy, profile, request = _proposed(db_session, council, moderator)
    match = services.propose(db_session, request, profile)
    db_session.commit()
    weekly(db_session, seeker)
    services.accept(db_session, buddy, match)
    return seeker, "You have a budget buddy"


def _declined(db_session, council, moderator):
    seeker, buddy, profile, request = _proposed(db_session, council, moderator)
    match = services.propose(db_session, request, profile)
    db_session.commit()
    weekly(db_session, seeker)
    services.decline(db_session, buddy, match)
    return seeker, "An answer about your budget buddy"


def _withdrawn(db_session, council, moderator):
    seeker, buddy, profile, request = _proposed(db_session, council, moderator)
    services.propose(db_session, request, profile)
    db_session.commit()
    weekly(db_session, buddy)
    services.withdraw_request(db_session, seeker, request)
    return buddy, notices.WITHDRAWN_SUBJECT


def _message(db_session, council, moderator):
    from marketplace.buddies import conversations

    seeker, buddy, match = _active(db_session, council, moderator)
    weekly(db_session, buddy)
    conversations.send_message(db_session, seeker, match, "Hello")
    return buddy, "You have a new message from your budget buddy"


def _paused(db_session, council, moderator):
    seeker, buddy, match = _active(db_session, council, moderator)
    weekly(db_session, buddy)
    services.pause(db_session, seeker, match)
    return buddy, "Your budget buddy pairing is paused"


def _ended_by_seeker(db_session, council, moderator):
    seeker, buddy, match = _active(db_session, council, moderator)
    weekly(db_session, buddy)
    services.end(db_session, seeker, match)
    return buddy, notices.ENDED_SUBJECT


def _ended_by_buddy(db_session, council, moderator):
    seeker, buddy, match = _active(db_session, council, moderator)
    weekly(db_session, seeker)
    services.end(db_session, buddy, match)
    return seeker, "Would you like another budget buddy?"


def _offer_confirmed(db_session, council, moderator):
    user = UserFactory()
    weekly(db_session, user)
    profile = services.offer_to_be_buddy(db_session, user, offer(council))
    (item,) = moderation.open_entries_for(db_session, services.ITEM_BUDDY_OFFER, profile.id)
    moderation.decide(db_session, moderator, item, Decision.APPROVE, "")
    return user, "You are now a confirmed budget buddy"


def _break_paused(db_session, council, moderator):
    seeker, buddy, match = _active(db_session, council, moderator)
    weekly(db_session, buddy)
    breaks.start_break(db_session, seeker, "week")
    return buddy, "Your budget buddy pairing is paused"


KINDS: dict[str, Callable] = {
    "asked": _asked,
    "accepted": _accepted,
    "declined": _declined,
    "withdrawn": _withdrawn,
    "message": _message,
    "paused": _paused,
    "ended by the seeker": _ended_by_seeker,
    "ended by the buddy (handover)": _ended_by_buddy,
    "offer confirmed": _offer_confirmed,
    "paused by a break": _break_paused,
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_buddy_email_is_kept_for_a_weekly_person_and_the_weekly_email_carries_it(
    ctx, db_session, council, moderator, mailbox, kind
):
    person, subject = KINDS[kind](db_session, council, moderator)
    db_session.commit()
    assert subject in kept_for(db_session, person)
    sent = [m for m in mailbox.messages if m["To"] == person.email and m["Subject"] == subject]
    assert sent == []  # kept, not sent

    assert digest.send_digests(db_session) >= 1
    db_session.commit()
    email = mailbox.last_to(person.email, "Your weekly email from Budget Marketplace")
    assert subject in body_of(email)
    assert kept_for(db_session, person) == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_buddy_email_goes_at_once_to_everyone_else(
    ctx, db_session, council, moderator, mailbox, kind
):
    person, subject = KINDS[kind](db_session, council, moderator)
    preferences.set_frequency(db_session, person, "each")  # changed their mind before it went
    db_session.commit()
    email = mailbox.last_to(person.email, subject)
    assert "Fewer emails" in body_of(email)
    assert kept_for(db_session, person) == []


def test_the_one_click_yes_in_a_kept_email_still_works_from_the_weekly_email(
    app, db_session, council, moderator, mailbox
):
    from tests.notifications.helpers import do_paths, follow

    with app.app_context():
        buddy, _subject = _asked(db_session, council, moderator)
        db_session.commit()
        digest.send_digests(db_session)
        db_session.commit()
    email = mailbox.last_to(buddy.email, "Your weekly email from Budget Marketplace")
    (path,) = do_paths(email)
    response = follow(app.test_client(), path)
    assert "You are now buddies" in response.get_data(as_text=True)
    match = db_session.scalars(select(BuddyMatch).where(BuddyMatch.buddy_user_id == buddy.id)).one()
    assert match.status == "active"


def test_a_notice_is_not_sent_when_the_change_is_rolled_back(
    ctx, db_session, council, moderator, mailbox
):
    seeker, buddy, match = _active(db_session, council, moderator)
    mailbox.clear()
    services.pause(db_session, seeker, match)
    assert [n.subject for n in notices.sent_in(db_session)] == [
        "Your budget buddy pairing is paused"
    ]
    db_session.rollback()
    assert notices.sent_in(db_session) == []
    assert [m for m in mailbox.messages if m["To"] == buddy.email] == []


def test_through_the_pages_a_weekly_buddy_and_seeker_have_the_ask_and_the_yes_kept(
    app, db_session, council, moderator, mailbox
):
    """The issue's steps: both choose the weekly email on "How we email you", then the seeker
    asks a suggested buddy and the buddy says yes, all through the real pages."""
    from tests.helpers import post, sign_in

    seeker, buddy, profile, request = _proposed(db_session, council, moderator)
    clients = {}
    for person in (seeker, buddy):
        client = app.test_client()
        sign_in(client, person)
        page = client.get("/account/emails").get_data(as_text=True)
        assert "Nothing is lost: everything we would have sent is in it." in page
        response = post(client, "/account/emails", {"frequency": "weekly_digest"})
        assert response.status_code == 302
        clients[person.id] = client
    mailbox.clear()

    page = f"/buddies/requests/{request.id}"
    response = post(clients[seeker.id], f"{page}/ask/{profile.id}", token_from=page)
    assert response.status_code == 302
    assert kept_for(db_session, buddy) == ["Someone would like you to be their budget buddy"]
    assert mailbox.messages == []  # nothing went on its own
    with app.app_context():
        assert digest.send_digests(db_session) == 1
        db_session.commit()
    email = mailbox.last_to(buddy.email, "Your weekly email from Budget Marketplace")
    assert "Someone would like you to be their budget buddy" in body_of(email)
    mailbox.clear()

    match = db_session.scalars(select(BuddyMatch).where(BuddyMatch.seeker_id == seeker.id)).one()
    pairing = f"/buddies/pairings/{match.id}"
    response = post(clients[buddy.id], f"{pairing}/accept", token_from=pairing)
    assert response.status_code == 302
    assert kept_for(db_session, seeker) == ["You have a budget buddy"]
    assert mailbox.messages == []

    db_session.expire_all()  # the pages changed the pairing in sessions of their own
    with app.app_context():
        assert digest.send_digests(db_session) == 1
        db_session.commit()
    email = mailbox.last_to(seeker.email, "Your weekly email from Budget Marketplace")
    assert "You have a budget buddy" in body_of(email)
