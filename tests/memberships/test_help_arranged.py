"""Help requests arranged in the site (issue 21, item 8): who is emailed at each step (with
their email choices respected, and nothing private in any email), the private thread between
the requester and the helper, and contact details shared only by choice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships import clearance, help_notices, help_threads, services
from marketplace.memberships import help_requests as help
from marketplace.memberships.help_requests import HelpRequestData
from marketplace.moderation import conversation_rules, reports
from marketplace.moderation import services as moderation
from marketplace.notifications import preferences
from marketplace.notifications.models import DigestItem
from tests.factories import UserFactory
from tests.memberships.conftest import NOW, member

WHAT = "Someone to come with me to my psychiatrist appointment"


def body_of(message) -> str:
    return message.get_payload(decode=True).decode()


def subjects_to(mailbox, person) -> list[str]:
    return [m["Subject"] for m in mailbox.messages if m["To"] == person.email]


def post(db_session, org, kind="occasional_pa", requester=None):
    requester = requester or UserFactory()
    request = help.post_request(
        db_session, requester, org, HelpRequestData(WHAT, NOW.date(), kind, "Leeds"), now=NOW
    )
    db_session.commit()
    return requester, request


def test_a_new_request_emails_the_members_cleared_for_it_and_no_one_else(
    db_session, mailbox, staff, org, giver
):
    cleared, _ = giver
    clearance.set_clearance(db_session, staff, org, cleared, "occasional_pa", now=NOW)
    uncleared, _ = member(db_session, org)
    paused, paused_membership = member(db_session, org)
    clearance.set_clearance(db_session, staff, org, paused, "occasional_pa", now=NOW)
    services.pause(db_session, paused, paused_membership, now=NOW)
    weekly, _ = member(db_session, org)
    clearance.set_clearance(db_session, staff, org, weekly, "occasional_pa", now=NOW)
    preferences.set_frequency(db_session, weekly, "weekly_digest")
    db_session.commit()
    mailbox.clear()

    requester, request = post(db_session, org)
    assert {u.id for u in help_notices.who_can_take(db_session, request)} == {
        cleared.id,
        weekly.id,
    }
    email = mailbox.last_to(cleared.email, help_notices.NEW_REQUEST)
    body = body_of(email)
    assert f"/help/{request.id}" in body and org.name in body
    assert WHAT not in body and "psychiatrist" not in body  # nothing private in an email
    assert org.name not in email["Subject"]
    for nobody in (uncleared, paused, requester):
        assert subjects_to(mailbox, nobody) == []
    # Their email choices are theirs: a weekly-digest member's notice waits for the digest.
    assert subjects_to(mailbox, weekly) == []
    held = db_session.scalars(select(DigestItem).where(DigestItem.user_id == weekly.id)).all()
    assert [item.subject for item in held] == [help_notices.NEW_REQUEST]


def test_kinds_without_clearance_email_every_active_member_giving_time(
    db_session, mailbox, org, giver
):
    person, _ = giver
    other, _ = member(db_session, org)
    mailbox.clear()
    requester, _ = post(db_session, org, kind="buddy")
    for each in (person, other):
        assert subjects_to(mailbox, each) == [help_notices.NEW_REQUEST]
    assert subjects_to(mailbox, requester) == []


def test_offer_accept_and_cancel_each_email_the_right_people(db_session, mailbox, org, giver):
    helper, _ = giver
    second, _ = member(db_session, org)
    third, _ = member(db_session, org)
    requester, request = post(db_session, org, kind="buddy")
    mailbox.clear()

    offer = help.offer_help(db_session, helper, request)
    db_session.commit()
    email = mailbox.last_to(requester.email, help_notices.NEW_OFFER)
    assert helper.display_name in body_of(email) and WHAT not in body_of(email)
    other_offer = help.offer_help(db_session, second, request)
    db_session.commit()

    mailbox.clear()
    help.accept_offer(db_session, requester, offer)
    db_session.commit()
    accepted = mailbox.last_to(helper.email, help_notices.ACCEPTED)
    assert "send each other messages" in body_of(accepted)
    assert subjects_to(mailbox, second) == [help_notices.NOT_NEEDED]
    assert subjects_to(mailbox, third) == []  # never offered: nothing to say
    assert other_offer.status == "declined"

    mailbox.clear()
    help.cancel_request(db_session, requester, request)
    db_session.commit()
    assert subjects_to(mailbox, helper) == [help_notices.CANCELLED]
    assert subjects_to(mailbox, second) == []  # already told it was not needed


def test_nothing_is_emailed_when_the_change_is_rolled_back(db_session, mailbox, org, giver):
    helper, _ = giver
    requester, request = post(db_session, org, kind="buddy")
    mailbox.clear()
    nested = db_session.begin_nested()
    help.offer_help(db_session, helper, request)
    nested.rollback()
    db_session.commit()
    assert subjects_to(mailbox, requester) == []


# --- the thread ---------------------------------------------------------------------------------


@pytest.fixture
def pair(db_session, org, giver):
    helper, _ = giver
    requester, request = post(db_session, org, kind="buddy")
    help.accept_offer(db_session, requester, help.offer_help(db_session, helper, request))
    db_session.commit()
    return requester, helper, request


def test_no_thread_before_an_offer_is_accepted_and_only_the_two_write(db_session, org, giver):
    helper, _ = giver
    requester, request = post(db_session, org, kind="buddy")
    help.offer_help(db_session, helper, request)
    for person in (requester, helper):
        with pytest.raises(NotAllowed):
            help_threads.send_message(db_session, person, request, "Hello")


def test_the_two_write_to_each_other_and_nobody_else_can(db_session, mailbox, staff, org, pair):
    requester, helper, request = pair
    mailbox.clear()
    help_threads.send_message(db_session, helper, request, "  Shall we meet at the station?  ")
    db_session.commit()
    (message,) = help_threads.messages(request)
    assert message.body == "Shall we meet at the station?"
    email = mailbox.last_to(requester.email, help_notices.NEW_MESSAGE)
    assert "station" not in body_of(email)  # never the message itself
    # A second message before they read it: no second email.
    help_threads.send_message(db_session, helper, request, "Or the library")
    db_session.commit()
    assert subjects_to(mailbox, requester) == [help_notices.NEW_MESSAGE]
    assert help_threads.unread_count(db_session, request, requester) == 2
    help_threads.mark_read(request, requester, NOW + timedelta(days=365))
    assert help_threads.unread_count(db_session, request, requester) == 0
    for outsider in (staff, UserFactory(), member(db_session, org)[0]):
        with pytest.raises(NotAllowed):
            help_threads.send_message(db_session, outsider, request, "Hi")


def test_messages_keep_the_conversation_rules(db_session, pair):
    requester, _, request = pair
    for body in ("   ", "x" * (conversation_rules.MAX_MESSAGE + 1)):
        with pytest.raises(DomainError) as error:
            help_threads.send_message(db_session, requester, request, body)
        assert error.value.field == "body"
    help.cancel_request(db_session, requester, request)
    with pytest.raises(DomainError):
        help_threads.send_message(db_session, requester, request, "Still there?")


def test_a_message_can_be_reported_by_the_other_person_only(db_session, pair):
    requester, helper, request = pair
    message = help_threads.send_message(db_session, helper, request, "Hello")
    db_session.flush()
    assert reports.load_subject(db_session, requester, "help_message", message.id) is not None
    for someone in (helper, UserFactory()):
        with pytest.raises(NotAllowed):  # the page answers 404
            reports.load_subject(db_session, someone, "help_message", message.id)
    subject = moderation.subject_kind("help_message")
    assert subject.private and subject.set_hidden is not None


def test_email_addresses_are_shared_only_by_choice(db_session, pair):
    requester, helper, request = pair
    assert help_threads.email_from_other(db_session, request, helper) is None
    assert help_threads.email_from_other(db_session, request, requester) is None
    help_threads.share_email(db_session, requester, request, True)
    assert help_threads.email_from_other(db_session, request, helper) == requester.email
    assert help_threads.email_from_other(db_session, request, requester) is None
    help_threads.share_email(db_session, requester, request, False)
    assert help_threads.email_from_other(db_session, request, helper) is None
    with pytest.raises(NotAllowed):
        help_threads.share_email(db_session, UserFactory(), request, True)


# --- hours through the request ------------------------------------------------------------------


def test_the_helpers_hours_complete_the_request_once_confirmed(db_session, org, pair):
    from marketplace.memberships import reciprocity

    requester, helper, request = pair
    logged = reciprocity.log_time(
        db_session,
        helper,
        org,
        reciprocity.TimeGiven("buddy", NOW.date(), 90, help_request_id=request.id),
        now=NOW,
    )
    assert (logged.recipient_id, request.time_log_id) == (requester.id, logged.id)
    with pytest.raises(DomainError):  # one set of hours at a time: confirm or turn down first
        help.complete(db_session, requester, request, 60, NOW.date(), now=NOW)
    reciprocity.reject(db_session, requester, logged, now=NOW)
    assert (request.status, request.time_log_id) == ("accepted", None)
    again = reciprocity.log_time(
        db_session,
        helper,
        org,
        reciprocity.TimeGiven("buddy", NOW.date(), 60, help_request_id=request.id),
        now=NOW,
    )
    reciprocity.confirm(db_session, requester, again, now=NOW)
    assert (request.status, request.time_log_id) == ("done", again.id)
