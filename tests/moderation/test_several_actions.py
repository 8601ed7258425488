"""Decisions like Discourse's: several actions at once, each with its reason; silence
(read-only for some days); the author named with their earlier decisions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.buddies import conversations
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError
from marketplace.moderation import decisions, limits, reports
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, Sanction
from tests.factories import UserFactory
from tests.listing_helpers import ulo_moderator
from tests.moderation.reporting import buddy_message


def reported(db_session, subject_type, subject_id, reason="illegal", reporter=None):
    row, _ = reports.submit_report(
        db_session, reporter or UserFactory(), subject_type, subject_id, reason, ""
    )
    (item,) = moderation.open_entries_for(db_session, reports.ITEM_REPORT, row.id)
    return item


def sanctions(db_session, item):
    return db_session.scalars(
        select(Sanction).filter_by(queue_item_id=item.id).order_by(Sanction.id)
    ).all()


def test_remove_a_message_and_suspend_its_writer_at_once(db_session, council, moderator):
    message, seeker, buddy = buddy_message(db_session, council, moderator, body="Pills for sale")
    item = reported(db_session, "buddy_message", message.id, reporter=buddy)
    notices = decisions.decide(
        db_session,
        moderator,
        item,
        Decision.REMOVE,
        "Selling drugs is illegal",
        days=14,
        also=Decision.SUSPEND,
        also_reason="Selling drugs to another member",
    )
    removed, suspended = sanctions(db_session, item)
    assert (removed.action, removed.reason) == ("remove", "Selling drugs is illegal")
    assert (suspended.action, suspended.reason) == ("suspend", "Selling drugs to another member")
    assert message.hidden_at is not None
    assert as_utc(seeker.suspended_until) > utcnow() + timedelta(days=13)
    # Each decision is told to the writer on its own, each with its own appeal.
    mine = [n for n in notices if n.to == seeker.email]
    assert {n.sanction_id for n in mine} == {removed.id, suspended.id}


def test_the_second_action_needs_its_own_reason_and_is_one_of_those_offered(
    db_session, council, moderator
):
    message, _, buddy = buddy_message(db_session, council, moderator)
    item = reported(db_session, "buddy_message", message.id, reporter=buddy)
    with pytest.raises(DomainError) as refused:
        decisions.decide(db_session, moderator, item, Decision.HIDE, "Rude", also=Decision.WARN)
    assert refused.value.field == "also_reason"
    with pytest.raises(DomainError) as refused:
        decisions.decide(
            db_session,
            moderator,
            item,
            Decision.WARN,
            "Rude",
            also=Decision.SUSPEND,
            also_reason="x",
            days=2,
        )
    assert refused.value.field == "also"
    with pytest.raises(DomainError) as refused:
        decisions.decide(
            db_session, moderator, item, Decision.HIDE, "Rude", also=Decision.HIDE, also_reason="x"
        )
    assert refused.value.field == "also"
    with pytest.raises(DomainError) as refused:
        decisions.decide(
            db_session,
            moderator,
            item,
            Decision.HIDE,
            "Rude",
            also=Decision.SILENCE,
            also_reason="x",
        )
    assert refused.value.field == "days"
    assert sanctions(db_session, item) == []


def test_a_silenced_person_can_read_and_leave_but_not_post(db_session, council, moderator):
    message, seeker, buddy = buddy_message(db_session, council, moderator, body="You idiot")
    item = reported(db_session, "buddy_message", message.id, "abuse", reporter=buddy)
    notices = decisions.decide(
        db_session, moderator, item, Decision.SILENCE, "Name-calling", days=3
    )
    assert as_utc(seeker.silenced_until) > utcnow() + timedelta(days=2)
    assert seeker.suspended_until is None  # they can still sign in
    (notice,) = [n for n in notices if n.to == seeker.email]
    assert "read-only for a while" in notice.body and "You can post again from" in notice.body
    with pytest.raises(DomainError, match="read-only until"):
        conversations.send_message(db_session, seeker, message.match, "Sorry")
    # Every feature with messages (pool discussions, enquiries) asks the same check.
    with pytest.raises(DomainError, match="read-only until"):
        limits.check_new_account_limit(db_session, seeker)
    # The other person can still write, and the silenced person can still leave the pairing.
    conversations.send_message(db_session, buddy, message.match, "Take care")
    # Silence ends by itself.
    later = utcnow() + timedelta(days=4)
    conversations.send_message(db_session, seeker, message.match, "Back", now=later)


def test_overturning_a_silence_lets_the_person_post_again(db_session, council, moderator):
    message, seeker, buddy = buddy_message(db_session, council, moderator)
    item = reported(db_session, "buddy_message", message.id, "abuse", reporter=buddy)
    decisions.decide(db_session, moderator, item, Decision.SILENCE, "Rude", days=5)
    (sanction,) = sanctions(db_session, item)
    appeal = decisions.appeal(db_session, seeker, sanction, "I was quoting them")
    (appeal_item,) = moderation.open_entries_for(db_session, decisions.ITEM_APPEAL, appeal.id)
    decisions.decide(db_session, ulo_moderator(council), appeal_item, Decision.OVERTURN, "Fair")
    assert seeker.silenced_until is None
    conversations.send_message(db_session, seeker, message.match, "Thank you")


def test_the_author_is_named_with_their_earlier_decisions(db_session, council, moderator):
    message, seeker, buddy = buddy_message(db_session, council, moderator, body="First")
    first = reported(db_session, "buddy_message", message.id, "abuse", reporter=buddy)
    assert decisions.author_of(db_session, first).user == seeker
    assert decisions.author_of(db_session, first).sanctions == []
    decisions.decide(db_session, moderator, first, Decision.WARN, "Be kind")
    second_message, _ = conversations.send_message(db_session, seeker, message.match, "Again")
    db_session.flush()
    second = reported(db_session, "buddy_message", second_message.id, "abuse", reporter=buddy)
    author = decisions.author_of(db_session, second)
    assert [s.reason for s in author.sanctions] == ["Be kind"]
    assert author.reports_about == 1


def test_the_item_page_names_the_author_and_takes_two_actions(
    app, db_session, council, moderator, mailbox
):
    from tests.helpers import post, sign_in

    message, seeker, buddy = buddy_message(db_session, council, moderator, body="Pills for sale")
    item = reported(db_session, "buddy_message", message.id, reporter=buddy)
    with app.app_context():
        db_session.commit()
    client = app.test_client()
    sign_in(client, moderator)
    page = f"/moderation/items/{item.id}"
    shown = client.get(page).get_data(as_text=True)
    assert "Who wrote it" in shown and seeker.display_name in shown
    assert "No earlier decisions about them." in shown
    assert "And the person who wrote it" in shown
    response = post(
        client,
        page,
        {
            "decision": "remove",
            "reason": "Illegal",
            "also": "silence",
            "also_reason": "",
            "days": "3",
        },
    )
    assert response.status_code == 200
    assert "Say why, so the person understands" in response.get_data(as_text=True)
    response = post(
        client,
        page,
        {
            "decision": "remove",
            "reason": "Illegal",
            "also": "silence",
            "also_reason": "Selling drugs",
            "days": "3",
        },
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert [s.action for s in sanctions(db_session, item)] == ["remove", "silence"]
    subjects = [m["Subject"] for m in mailbox.messages if m["To"] == seeker.email]
    assert subjects.count("A moderator's decision about your account") == 2
