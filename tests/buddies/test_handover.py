"""A warm handover when a buddy steps away: the rules without HTTP, then the pages and emails."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace import outbox
from marketplace.buddies import conversations, handover, rounds, services
from marketplace.buddies.models import BuddyMatch, MatchStatus, RequestStatus
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.wellbeing import breaks
from tests.buddies.builders import ask, confirmed_buddy, seeker_request
from tests.conftest import manual_outbox
from tests.helpers import post, sign_in

ASKED_DAYS_AGO = 40


@pytest.fixture
def paired(db_session, council, moderator):
    """A seeker who first asked 40 days ago, paired with a buddy who has a place to spare,
    and another confirmed buddy who would suit them too."""
    old_buddy, old_profile = confirmed_buddy(db_session, council, moderator, capacity=2)
    next_buddy, next_profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    request.created_at = utcnow() - timedelta(days=ASKED_DAYS_AGO)
    match = services.propose(db_session, request, old_profile)
    services.accept(db_session, old_buddy, match)
    db_session.commit()
    return seeker, old_buddy, match, next_buddy, next_profile


def _suggested_user_ids(db_session, match) -> set[int]:
    offered = handover.handover_for(db_session, match)
    assert offered is not None
    return {s.profile.user_id for s in offered.suggestions}


# --- offering -------------------------------------------------------------------------------------


def test_buddy_ending_puts_the_seeker_back_in_the_queue_keeping_their_waiting_time(
    db_session, paired, moderator
):
    seeker, old_buddy, match, next_buddy, _ = paired
    asked_at = as_utc(match.request.created_at)
    services.end(db_session, old_buddy, match, "Moving away")
    request = match.request
    assert request.status == RequestStatus.WAITING.value
    assert as_utc(request.created_at) == asked_at
    # The coordinator's round sees them, and the engine counts the original waiting time.
    assert request in rounds.waiting_in_area(db_session, moderator)
    seeker_view = services.to_matching_seeker(request, utcnow(), set())
    assert seeker_view.waiting_days == ASKED_DAYS_AGO
    assert _suggested_user_ids(db_session, match) == {next_buddy.id}
    (notice,) = handover.notices_waiting(db_session)
    assert notice.to == seeker.email
    assert notice.subject == "Would you like another budget buddy?"
    assert "Moving away" not in notice.lead  # the reason goes to the ULO only, never to them
    assert [h.match.id for h in handover.handovers_of(db_session, seeker)] == [match.id]


def test_seeker_ending_offers_no_handover(db_session, paired):
    seeker, _, match, _, _ = paired
    services.end(db_session, seeker, match)
    assert match.request.status == RequestStatus.MATCHED.value
    assert handover.handover_for(db_session, match) is None
    assert handover.handovers_of(db_session, seeker) == []
    assert handover.notices_waiting(db_session) == []


def test_a_long_break_offers_a_handover_once(db_session, paired):
    seeker, old_buddy, match, next_buddy, _ = paired
    services.pause(db_session, old_buddy, match)  # what the break does to the pairing
    handover.offer_handover(db_session, match)
    handover.offer_handover(db_session, match)
    assert match.status == MatchStatus.PAUSED.value  # the pairing itself is kept
    assert match.request.status == RequestStatus.WAITING.value
    (notice,) = handover.notices_waiting(db_session)
    assert notice.subject == "Would you like another budget buddy for now?"
    assert "stepping back for a while" in notice.lead
    for word in ("break", "health", "unwell", "ill "):
        assert word not in notice.lead.lower()
    # The buddy they are still paired with is not suggested again, even with a place free.
    assert _suggested_user_ids(db_session, match) == {next_buddy.id}
    db_session.commit()
    handover.offer_handover(db_session, match)  # a later call (the buddy then ends it, say)
    assert handover.notices_waiting(db_session) == []


def test_an_unanswered_suggestion_is_not_handed_over(db_session, council, moderator):
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    _, request = seeker_request(db_session, council)
    match = services.propose(db_session, request, profile)
    handover.offer_handover(db_session, match)
    assert handover.notices_waiting(db_session) == []
    with pytest.raises(DomainError, match="Say yes or no"):
        services.end(db_session, buddy, match)  # a suggestion is answered, not ended
    services.decline(db_session, buddy, match)  # back to waiting, nothing to hand over
    assert request.status == RequestStatus.WAITING.value
    assert handover.handover_for(db_session, match) is None
    assert handover.notices_waiting(db_session) == []


def test_coming_back_from_a_break_restores_the_pairing_if_unused(db_session, paired):
    seeker, old_buddy, match, _, _ = paired
    services.pause(db_session, old_buddy, match)
    handover.offer_handover(db_session, match)
    services.resume(db_session, old_buddy, match)
    handover.withdraw_on_return(db_session, old_buddy.id)
    assert match.request.status == RequestStatus.MATCHED.value
    assert handover.handovers_of(db_session, seeker) == []


def test_coming_back_leaves_a_seeker_who_asked_someone_else_waiting_for_them(db_session, paired):
    seeker, old_buddy, match, next_buddy, next_profile = paired
    services.pause(db_session, old_buddy, match)
    handover.offer_handover(db_session, match)
    asked = handover.ask_new_buddy(db_session, seeker, match, next_profile.id)
    handover.withdraw_on_return(db_session, old_buddy.id)
    assert match.request.status == RequestStatus.WAITING.value
    services.accept(db_session, next_buddy, asked)
    assert match.request.status == RequestStatus.MATCHED.value
    # The old buddy ending later reopens nothing: they have a buddy from this request.
    services.end(db_session, old_buddy, match)
    assert match.request.status == RequestStatus.MATCHED.value
    assert handover.handovers_of(db_session, seeker) == []


def test_suggestions_leave_out_the_old_buddy_and_blocked_people(
    db_session, paired, council, moderator
):
    seeker, old_buddy, match, next_buddy, _ = paired
    blocked, _ = confirmed_buddy(db_session, council, moderator)
    blocker, _ = confirmed_buddy(db_session, council, moderator)
    services.block(db_session, seeker, blocked.id)
    services.block(db_session, blocker, seeker.id)
    services.end(db_session, old_buddy, match)
    assert _suggested_user_ids(db_session, match) == {next_buddy.id}


def test_a_seeker_blocked_by_their_buddy_keeps_their_place_and_is_never_told_why(
    db_session, paired
):
    seeker, old_buddy, match, next_buddy, _ = paired
    asked_at = as_utc(match.request.created_at)
    services.block(db_session, old_buddy, seeker.id)
    assert match.status == MatchStatus.ENDED.value
    assert match.request.status == RequestStatus.WAITING.value
    assert as_utc(match.request.created_at) == asked_at
    assert _suggested_user_ids(db_session, match) == {next_buddy.id}  # never the blocker
    (notice,) = handover.notices_waiting(db_session)
    assert notice.to == seeker.email
    assert "has come to an end" in notice.lead and "block" not in notice.lead.lower()


def test_a_seeker_who_blocks_their_buddy_is_not_put_back_in_the_queue(db_session, paired):
    seeker, old_buddy, match, _, _ = paired
    services.block(db_session, seeker, old_buddy.id)
    assert match.status == MatchStatus.ENDED.value
    assert match.request.status == RequestStatus.MATCHED.value  # their own choice: no handover
    assert handover.handovers_of(db_session, seeker) == []
    assert handover.notices_waiting(db_session) == []


def test_a_buddy_who_steps_back_from_a_seeker_already_waiting_again_is_told_once(
    db_session, paired, council
):
    seeker, old_buddy, match, _, _ = paired
    services.pause(db_session, old_buddy, match)
    again = services.ask_for_buddy(db_session, seeker, ask(council, wants=("ideas",)))
    handover.offer_handover(db_session, match)
    handover.offer_handover(db_session, match)
    assert match.request.status == RequestStatus.MATCHED.value  # one waiting request each
    assert again.status == RequestStatus.WAITING.value
    assert len(handover.notices_waiting(db_session)) == 1


# --- with real breaks (marketplace.wellbeing) -----------------------------------------------------


def test_a_buddy_taking_an_open_ended_break_hands_over_and_coming_back_restores(db_session, paired):
    seeker, old_buddy, match, next_buddy, _ = paired
    breaks.start_break(db_session, old_buddy, "open")
    assert match.status == MatchStatus.PAUSED.value
    assert match.request.status == RequestStatus.WAITING.value
    assert len(handover.notices_waiting(db_session)) == 1
    assert _suggested_user_ids(db_session, match) == {next_buddy.id}
    breaks.end_break(db_session, old_buddy)
    assert match.status == MatchStatus.ACTIVE.value
    assert match.request.status == RequestStatus.MATCHED.value
    assert handover.handovers_of(db_session, seeker) == []


def test_a_buddy_taking_a_week_off_hands_nothing_over(db_session, paired):
    _, old_buddy, match, _, _ = paired
    breaks.start_break(db_session, old_buddy, "week")
    assert match.status == MatchStatus.PAUSED.value
    assert match.request.status == RequestStatus.MATCHED.value
    assert handover.notices_waiting(db_session) == []


def test_a_seeker_on_a_break_is_offered_another_buddy_when_they_come_back(db_session, paired):
    seeker, old_buddy, match, next_buddy, _ = paired
    asked_at = as_utc(match.request.created_at)
    breaks.start_break(db_session, seeker, "month")
    services.end(db_session, old_buddy, match)
    assert match.request.status == RequestStatus.WITHDRAWN.value  # not matched while away
    assert handover.handover_for(db_session, match) is None
    breaks.end_break(db_session, seeker)
    assert match.request.status == RequestStatus.WAITING.value
    assert as_utc(match.request.created_at) == asked_at
    assert _suggested_user_ids(db_session, match) == {next_buddy.id}


# --- asking a new buddy, and the summary ----------------------------------------------------------


def test_summary_is_shared_only_when_chosen_and_only_with_the_new_buddy(db_session, paired):
    seeker, old_buddy, match, next_buddy, next_profile = paired
    services.end(db_session, old_buddy, match)
    new = handover.ask_new_buddy(
        db_session, seeker, match, next_profile.id, "  Assessment done; PA next.  "
    )
    db_session.flush()
    assert new.status == MatchStatus.PROPOSED.value
    assert new.request_id == match.request_id  # the same request: the same place in the queue
    (note,) = new.messages
    assert note.sender_id == seeker.id and note.body == "Assessment done; PA next."
    assert match.messages == []
    assert conversations.unread_count(db_session, new, next_buddy) == 1
    assert conversations.unread_count(db_session, new, seeker) == 0
    with pytest.raises(NotAllowed):
        conversations.get_match_for(db_session, old_buddy, new.id)
    # While the new buddy has not answered, no other handover suggestion is shown.
    offered = handover.handover_for(db_session, match)
    assert offered is not None and offered.asked == new and offered.suggestions == []


def test_no_summary_unless_chosen(db_session, paired):
    seeker, old_buddy, match, _, next_profile = paired
    services.end(db_session, old_buddy, match)
    new = handover.ask_new_buddy(db_session, seeker, match, next_profile.id)
    db_session.flush()
    assert new.messages == []


@pytest.mark.parametrize(("summary", "message"), [("   ", "Write a short"), ("x" * 1001, "1,000")])
def test_summary_errors_name_the_field(db_session, paired, summary, message):
    seeker, old_buddy, match, _, next_profile = paired
    services.end(db_session, old_buddy, match)
    with pytest.raises(DomainError) as error:
        handover.ask_new_buddy(db_session, seeker, match, next_profile.id, summary)
    assert error.value.field == "summary" and message in error.value.message


def test_only_the_seeker_with_a_handover_can_ask(db_session, paired, council, moderator):
    seeker, old_buddy, match, _, next_profile = paired
    with pytest.raises(DomainError):
        handover.ask_new_buddy(db_session, seeker, match, next_profile.id)  # still buddies
    services.end(db_session, old_buddy, match)
    with pytest.raises(NotAllowed):
        handover.ask_new_buddy(db_session, old_buddy, match, next_profile.id)
    _, unsuggested = confirmed_buddy(db_session, council, moderator, languages=("Welsh",))
    with pytest.raises(DomainError):
        handover.ask_new_buddy(db_session, seeker, match, unsuggested.id)


def test_the_email_goes_after_the_commit_and_not_after_a_rollback(app, db_session, paired, mailbox):
    seeker, old_buddy, match, _, _ = paired
    manual_outbox(db_session)
    with app.app_context():
        services.end(db_session, old_buddy, match)
        db_session.rollback()
        assert handover.notices_waiting(db_session) == []
        assert mailbox.messages == []
        services.end(db_session, old_buddy, match)
        assert outbox.run_committed(db_session) == 0  # nothing before the commit
        db_session.commit()
        assert mailbox.messages == []
        assert outbox.run_committed(db_session) == 1
        assert outbox.run_committed(db_session) == 0
    email = mailbox.last_to(seeker.email)
    assert email["Subject"] == "Would you like another budget buddy?"
    assert f"/buddies/pairings/{match.id}" in email.get_payload()
    assert len(mailbox.messages) == 1


# --- pages ----------------------------------------------------------------------------------------


def _client(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def test_pages_offer_another_buddy_and_share_the_summary(app, db_session, paired, mailbox):
    seeker, old_buddy, match, next_buddy, next_profile = paired
    old_client = _client(app, old_buddy)
    old_page = f"/buddies/pairings/{match.id}"
    assert post(old_client, f"{old_page}/end", {"reason": ""}).status_code == 302
    assert mailbox.last_to(seeker.email)["Subject"] == "Would you like another budget buddy?"

    seeker_client = _client(app, seeker)
    for path in ("/buddies", old_page):
        page = seeker_client.get(path).get_data(as_text=True)
        assert "Would you like another buddy?" in page
        assert next_buddy.display_name in page
        assert "Why we suggest them: knows" in page
    ask_path = f"{old_page}/another/{next_profile.id}"
    assert f'href="{ask_path}"' in page
    form = seeker_client.get(ask_path).get_data(as_text=True)
    assert f"Ask {next_buddy.display_name} to be your buddy" in form
    assert 'value="no" checked' in form

    response = post(seeker_client, ask_path, {"share": "yes", "summary": ""})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="summary-error"' in page and "Write a short summary" in page
    assert (
        db_session.scalars(
            select(BuddyMatch).where(BuddyMatch.buddy_user_id == next_buddy.id)
        ).all()
        == []
    )

    response = post(
        seeker_client, ask_path, {"share": "yes", "summary": "I have my assessment booked."}
    )
    assert response.status_code == 302
    new = db_session.scalars(
        select(BuddyMatch).where(BuddyMatch.buddy_user_id == next_buddy.id)
    ).one()
    assert response.headers["Location"].endswith(f"/buddies/pairings/{new.id}")
    assert mailbox.last_to(next_buddy.email)["Subject"].startswith("Someone would like you")

    new_buddy_page = _client(app, next_buddy).get(f"/buddies/pairings/{new.id}")
    assert "I have my assessment booked." in new_buddy_page.get_data(as_text=True)
    # The old buddy never sees who followed them, nor the summary.
    assert old_client.get(f"/buddies/pairings/{new.id}").status_code == 404
    for path in ("/buddies", old_page):
        page = old_client.get(path).get_data(as_text=True)
        assert next_buddy.display_name not in page
        assert "another buddy" not in page


def test_asking_without_a_handover_goes_back_to_the_pairing(app, db_session, paired):
    seeker, old_buddy, match, _, next_profile = paired
    path = f"/buddies/pairings/{match.id}/another/{next_profile.id}"
    response = _client(app, seeker).get(path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/buddies/pairings/{match.id}")
    # The old buddy is in the pairing but is never offered a handover for it.
    match = db_session.get(BuddyMatch, match.id, populate_existing=True)
    services.end(db_session, old_buddy, match)
    db_session.commit()
    assert _client(app, old_buddy).get(path).status_code == 302
