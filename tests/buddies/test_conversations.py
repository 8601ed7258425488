"""Being buddies, without HTTP: messages, contact details, pauses, concerns, feedback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.audit import AuditEntry
from marketplace.buddies import conversations, services
from marketplace.buddies.models import BuddyFeedback, BuddyMessage, MatchStatus
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.privacy import services as privacy
from tests.buddies.builders import confirmed_buddy, seeker_request
from tests.factories import PASSWORD, CouncilFactory, UserFactory
from tests.listing_helpers import ulo_moderator


@pytest.fixture
def pair(db_session, council, moderator):
    """An active pairing: (seeker, buddy, match)."""
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    match = services.propose(db_session, request, profile)
    services.accept(db_session, buddy, match)
    db_session.flush()
    return seeker, buddy, match


def test_only_an_active_pairing_can_talk(db_session, council, moderator):
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    match = services.propose(db_session, request, profile)
    with pytest.raises(DomainError, match="once the buddy has said yes"):
        conversations.send_message(db_session, seeker, match, "Hello")
    services.accept(db_session, buddy, match)
    conversations.send_message(db_session, seeker, match, "Hello")
    services.pause(db_session, buddy, match)
    with pytest.raises(DomainError, match="paused"):
        conversations.send_message(db_session, seeker, match, "Still there?")
    services.resume(db_session, seeker, match)
    services.end(db_session, seeker, match)
    with pytest.raises(DomainError, match="ended"):
        conversations.send_message(db_session, buddy, match, "Bye")


def test_nobody_else_can_write_or_open_the_pairing(db_session, pair):
    _, _, match = pair
    stranger = UserFactory()
    with pytest.raises(NotAllowed):
        conversations.send_message(db_session, stranger, match, "Hi")
    with pytest.raises(NotAllowed):
        conversations.get_match_for(db_session, stranger, match.id)


def test_message_length_limits(db_session, pair):
    seeker, _, match = pair
    with pytest.raises(DomainError) as empty:
        conversations.send_message(db_session, seeker, match, "   \n ")
    assert empty.value.field == "body"
    with pytest.raises(DomainError, match="5,000 characters or fewer"):
        conversations.send_message(db_session, seeker, match, "x" * 5001)
    message, _ = conversations.send_message(db_session, seeker, match, "x" * 5000)
    assert len(message.body) == 5000


def test_messages_are_rate_limited_per_hour(db_session, pair):
    seeker, buddy, match = pair
    # Accounts older than a week: the feature's own limit (new accounts have a lower one).
    seeker.created_at = buddy.created_at = utcnow() - timedelta(days=30)
    start = utcnow() - timedelta(minutes=50)
    for n in range(conversations.MESSAGES_PER_HOUR):
        conversations.send_message(
            db_session, seeker, match, f"note {n}", now=start + timedelta(seconds=n)
        )
    with pytest.raises(DomainError, match="in the last hour"):
        conversations.send_message(db_session, seeker, match, "one more")
    # The other person is not held back by it, and the limit rolls over with time.
    conversations.send_message(db_session, buddy, match, "my turn")
    conversations.send_message(
        db_session, seeker, match, "later", now=start + timedelta(hours=1, minutes=1)
    )


def test_one_email_per_batch_of_unread_messages(db_session, pair):
    seeker, buddy, match = pair
    _, first = conversations.send_message(db_session, seeker, match, "Hello")
    assert first is not None and first.to == buddy.email and first.match_id == match.id
    assert "Hello" not in first.subject + first.lead
    _, second = conversations.send_message(db_session, seeker, match, "Are you there?")
    assert second is None  # the buddy has not opened the first one yet
    assert conversations.unread_count(db_session, match, buddy) == 2
    conversations.mark_read(match, buddy)
    assert conversations.unread_count(db_session, match, buddy) == 0
    _, third = conversations.send_message(
        db_session, seeker, match, "Thanks", now=utcnow() + timedelta(seconds=1)
    )
    assert third is not None


def test_contact_details_are_shared_one_way_at_a_time(db_session, pair):
    seeker, buddy, match = pair
    assert conversations.contact_from_other(match, seeker) is None
    conversations.share_contact(db_session, buddy, match, "07700 900123")
    assert conversations.contact_from_other(match, seeker) == "07700 900123"
    assert conversations.contact_from_other(match, buddy) is None  # the seeker chose nothing
    with pytest.raises(DomainError) as too_long:
        conversations.share_contact(db_session, seeker, match, "x" * 301)
    assert too_long.value.field == "contact"
    conversations.share_contact(db_session, buddy, match, "  ")
    assert conversations.contact_from_other(match, seeker) is None
    conversations.share_contact(db_session, buddy, match, "07700 900123")
    services.end(db_session, seeker, match)
    assert conversations.contact_from_other(match, seeker) is None  # not after it ends


def test_contact_cannot_be_shared_before_the_buddy_says_yes(db_session, council, moderator):
    _, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    match = services.propose(db_session, request, profile)
    with pytest.raises(DomainError):
        conversations.share_contact(db_session, seeker, match, "me@example.org")


def test_a_pause_with_an_end_date_resumes_by_itself(db_session, pair):
    seeker, buddy, match = pair
    services.pause(db_session, seeker, match, until=utcnow() + timedelta(days=7))
    assert conversations.resume_due(db_session) == 0
    assert match.status == MatchStatus.PAUSED.value
    assert conversations.resume_due(db_session, now=utcnow() + timedelta(days=8)) == 1
    assert match.status == MatchStatus.ACTIVE.value and match.paused_until is None


def test_sending_after_the_pause_ran_out_resumes_it(db_session, pair):
    seeker, buddy, match = pair
    services.pause(db_session, seeker, match, until=utcnow() + timedelta(days=7))
    conversations.send_message(
        db_session, buddy, match, "Back again", now=utcnow() + timedelta(days=8)
    )
    assert match.status == MatchStatus.ACTIVE.value


def test_a_concern_goes_to_both_areas_and_only_its_handler_reads_the_conversation(
    db_session, council, moderator
):
    elsewhere = CouncilFactory()
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, elsewhere)
    match = services.propose(db_session, request, profile)
    services.accept(db_session, buddy, match)
    conversations.send_message(db_session, seeker, match, "Something private")
    concern = conversations.report_concern(db_session, seeker, match, "They asked for money")
    (item,) = moderation.open_entries_for(db_session, conversations.ITEM_BUDDY_CONCERN, concern.id)
    assert set(item.councils) == {council.code, elsewhere.code}

    other_area = ulo_moderator(CouncilFactory())
    with pytest.raises(NotAllowed):
        conversations.conversation_for_moderator(db_session, other_area, item)
    with pytest.raises(NotAllowed):  # not before they take it on
        conversations.conversation_for_moderator(db_session, moderator, item)
    moderation.claim(db_session, moderator, item)
    colleague = ulo_moderator(council)
    with pytest.raises(NotAllowed):  # a colleague who is not handling it
        conversations.conversation_for_moderator(db_session, colleague, item)
    read = conversations.conversation_for_moderator(db_session, moderator, item)
    assert read.id == match.id
    entry = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "buddies.conversation_read")
    ).one()
    assert entry.actor_id == moderator.id and entry.subject_id == match.id
    assert f"concern {concern.id}" in entry.detail

    moderation.decide(db_session, moderator, item, Decision.APPROVE, "Spoke to both")
    assert concern.status == "closed" and concern.outcome == "Spoke to both"
    with pytest.raises(NotAllowed):  # closed: no more reading
        conversations.conversation_for_moderator(db_session, moderator, item)


def test_concern_needs_words(db_session, pair):
    seeker, _, match = pair
    with pytest.raises(DomainError) as error:
        conversations.report_concern(db_session, seeker, match, " ")
    assert error.value.field == "body"
    with pytest.raises(NotAllowed):
        conversations.report_concern(db_session, UserFactory(), match, "Worried")


def test_the_hub_counts_unread_messages_and_due_feedback_per_pairing(
    db_session, council, moderator
):
    """unread_counts and feedback_due_in answer for several pairings at once (one query each)
    exactly what unread_count and feedback_due answer for each."""
    buddy, profile = confirmed_buddy(db_session, council, moderator, capacity=3)
    matches = []
    for _ in range(3):
        seeker, request = seeker_request(db_session, council)
        match = services.propose(db_session, request, profile)
        services.accept(db_session, buddy, match)
        matches.append((seeker, match))
    db_session.flush()
    (first, opened), (second, unopened), (_, quiet) = matches
    start = utcnow()
    conversations.send_message(db_session, first, opened, "Hello", now=start)
    conversations.mark_read(opened, buddy, now=start + timedelta(seconds=1))
    conversations.send_message(db_session, first, opened, "Thursday?", now=start + timedelta(2))
    for text in ("One", "Two", "Three"):
        conversations.send_message(db_session, second, unopened, text, now=start)
    conversations.send_message(db_session, buddy, quiet, "Mine do not count for me", now=start)
    hidden, _ = conversations.send_message(db_session, second, unopened, "Reported", now=start)
    hidden.hidden_at = start
    db_session.flush()

    every = [m for _, m in matches]
    counts = conversations.unread_counts(db_session, every, buddy)
    assert counts == {opened.id: 1, unopened.id: 3, quiet.id: 0}
    assert counts == {m.id: conversations.unread_count(db_session, m, buddy) for m in every}
    assert conversations.unread_counts(db_session, [], buddy) == {}

    opened.accepted_at = unopened.accepted_at = utcnow() - timedelta(weeks=5)
    conversations.give_feedback(db_session, buddy, opened, "very")
    db_session.flush()
    assert conversations.feedback_due_in(db_session, buddy, every) == {unopened.id}
    assert {m.id for m in every if conversations.feedback_due(db_session, buddy, m)} == {
        unopened.id
    }
    assert conversations.feedback_due_in(db_session, UserFactory(), every) == set()


def test_feedback_is_asked_after_four_weeks_once(db_session, pair):
    seeker, buddy, match = pair
    assert not conversations.feedback_due(db_session, seeker, match)
    with pytest.raises(DomainError):
        conversations.give_feedback(db_session, seeker, match, "very")
    match.accepted_at = utcnow() - timedelta(weeks=4, days=1)
    assert conversations.feedback_due(db_session, seeker, match)
    with pytest.raises(DomainError) as bad:
        conversations.give_feedback(db_session, seeker, match, "amazing")
    assert bad.value.field == "helpfulness"
    conversations.give_feedback(db_session, seeker, match, "very")
    assert not conversations.feedback_due(db_session, seeker, match)
    with pytest.raises(DomainError):
        conversations.give_feedback(db_session, seeker, match, "very")
    conversations.give_feedback(db_session, buddy, match, "somewhat")


def test_staff_see_only_totals_for_their_own_areas(db_session, council, moderator, pair):
    seeker, buddy, match = pair
    match.accepted_at = utcnow() - timedelta(weeks=5)
    conversations.give_feedback(db_session, seeker, match, "very")
    conversations.give_feedback(db_session, buddy, match, "very")
    (area,) = conversations.feedback_totals(db_session, moderator)
    assert area.council_name == council.name
    assert area.counts == {"very": 2, "somewhat": 0, "not_really": 0} and area.total == 2
    assert conversations.feedback_totals(db_session, ulo_moderator(CouncilFactory())) == []


def test_erasure_deletes_messages_but_keeps_feedback_totals(db_session, moderator, pair):
    seeker, buddy, match = pair
    conversations.send_message(db_session, seeker, match, "from the seeker")
    conversations.send_message(db_session, buddy, match, "from the buddy")
    match.accepted_at = utcnow() - timedelta(weeks=5)
    conversations.give_feedback(db_session, seeker, match, "not_really")
    exported = privacy.export_user_data(db_session, seeker)["budget_buddies"]
    assert [m["text"] for m in exported["buddy_messages_you_sent"]] == ["from the seeker"]
    assert exported["buddy_feedback_you_gave"][0]["helpfulness"] == "not_really"

    privacy.erase_account(db_session, seeker, PASSWORD)
    db_session.flush()
    bodies = db_session.scalars(select(BuddyMessage.body)).all()
    assert bodies == ["from the buddy"]
    feedback = db_session.scalars(select(BuddyFeedback)).one()
    assert feedback.user_id is None
    (area,) = conversations.feedback_totals(db_session, moderator)
    assert area.counts["not_really"] == 1
