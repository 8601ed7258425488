"""Decisions beyond approve/reject, their effect on the thing and the person, and appeals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.audit import AuditEntry
from marketplace.auth import services as auth
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import decisions, reports
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, ModerationItem, Sanction
from marketplace.providers.models import ListingStatus
from tests.factories import PASSWORD, CouncilFactory, UserFactory
from tests.listing_helpers import ulo_moderator
from tests.moderation.reporting import (
    buddy_message,
    pool_message,
    published_listing,
    published_review,
)


def reported(db_session, subject_type, subject_id, reporter=None):
    row, _ = reports.submit_report(
        db_session, reporter or UserFactory(), subject_type, subject_id, "abuse", "unkind"
    )
    (item,) = moderation.open_entries_for(db_session, reports.ITEM_REPORT, row.id)
    return item


def sanction_of(db_session, item):
    return db_session.query(Sanction).filter_by(queue_item_id=item.id).one()


def test_report_offers_only_sensible_actions(db_session, council, moderator):
    review = published_review(db_session, council, moderator)
    item = reported(db_session, "review", review.id)
    offered = {d for d, _ in moderation.actions_for(db_session, item)}
    assert offered == {
        Decision.APPROVE,
        Decision.REJECT,
        Decision.HIDE,
        Decision.ASK_EDIT,
        Decision.WARN,
        Decision.SILENCE,
        Decision.SUSPEND,
        Decision.REMOVE,
    }
    pool_item = reported(db_session, "pool", pool_message(db_session, council, moderator).pool_id)
    assert {d for d, _ in moderation.actions_for(db_session, pool_item)} == {
        Decision.APPROVE,
        Decision.REJECT,
    }
    with pytest.raises(DomainError):
        decisions.decide(db_session, moderator, pool_item, Decision.HIDE, "why")
    listing, _ = published_listing(db_session, council, moderator)
    listing_item = reported(db_session, "listing", listing.id)
    # A listing belongs to an organisation: its staff are not warned or suspended for it.
    assert {d for d, _ in moderation.actions_for(db_session, listing_item)} == {
        Decision.APPROVE,
        Decision.REJECT,
        Decision.HIDE,
        Decision.ASK_EDIT,
        Decision.REMOVE,
    }


def test_hide_a_review_tells_the_author_and_is_audited(db_session, council, moderator):
    review = published_review(db_session, council, moderator)
    item = reported(db_session, "review", review.id)
    notices = decisions.decide(db_session, moderator, item, Decision.HIDE, "Unkind words")
    assert review.hidden_at is not None
    sanction = sanction_of(db_session, item)
    assert sanction.user_id == review.author_id
    assert sanction.moderator_id == moderator.id
    assert (notices[0].to, "Unkind words" in notices[0].body) == (review.author.email, True)
    assert notices[0].sanction_id == sanction.id
    assert decisions.APPEAL_LINK in notices[0].body
    assert "unkind" not in notices[0].body.replace("Unkind words", "")  # no report text
    actions = {e.action for e in db_session.query(AuditEntry)}
    assert {"moderation.hide", "sanction.hide"} <= actions


def test_hidden_content_is_seen_only_by_owner_and_moderators(db_session, council, moderator):
    message = pool_message(db_session, council, moderator)
    item = reported(db_session, "pool_message", message.id)
    decisions.decide(db_session, moderator, item, Decision.HIDE, "Not kind")
    assert message.hidden_at is not None
    other = UserFactory()
    with pytest.raises(NotAllowed):
        reports.load_subject(db_session, other, "pool_message", message.id)
    assert reports.load_subject(db_session, None, "pool_message", message.id).id == message.id


def test_ask_edit_sends_a_listing_back_to_the_provider(db_session, council, moderator):
    listing, staff = published_listing(db_session, council, moderator)
    item = reported(db_session, "listing", listing.id)
    notices = decisions.decide(db_session, moderator, item, Decision.ASK_EDIT, "Fix the price")
    assert listing.status == ListingStatus.REJECTED.value
    assert listing.rejection_reason == "Fix the price"
    assert staff.email in {n.to for n in notices}


def test_ask_edit_on_a_message_is_a_message_to_the_owner(db_session, council, moderator):
    msg, seeker, buddy = buddy_message(db_session, council, moderator)
    item = reported(db_session, "buddy_message", msg.id, reporter=buddy)
    notices = decisions.decide(db_session, moderator, item, Decision.ASK_EDIT, "Please reword")
    # The writer is told the decision; the reporter is told the outcome of their report.
    assert [n.to for n in notices] == [seeker.email, buddy.email]
    assert all("Hello there" not in n.body for n in notices)  # never the private message


def test_warn_records_a_warning_and_tells_the_person(db_session, council, moderator):
    review = published_review(db_session, council, moderator)
    item = reported(db_session, "review", review.id)
    notices = decisions.decide(db_session, moderator, item, Decision.WARN, "Be kind")
    assert sanction_of(db_session, item).action == "warn"
    assert review.hidden_at is None
    assert "a warning" in notices[0].body


def test_remove_hides_for_good_and_keeps_rows(db_session, council, moderator):
    message = pool_message(db_session, council, moderator)
    item = reported(db_session, "pool_message", message.id)
    decisions.decide(db_session, moderator, item, Decision.REMOVE, "Illegal")
    assert message.hidden_at is not None
    assert db_session.get(type(message), message.id) is not None


def test_suspend_stops_sign_in_until_the_end_date(db_session, council, moderator):
    review = published_review(db_session, council, moderator)
    author = review.author
    version = author.session_version
    item = reported(db_session, "review", review.id)
    with pytest.raises(DomainError) as error:
        decisions.decide(db_session, moderator, item, Decision.SUSPEND, "Threats", days=91)
    assert error.value.field == "days"
    decisions.decide(db_session, moderator, item, Decision.SUSPEND, "Threats", days=7)
    assert author.session_version == version + 1  # existing sessions end
    assert as_utc(author.suspended_until) > utcnow() + timedelta(days=6)
    assert auth.authenticate(db_session, author.email, PASSWORD) is None
    assert auth.is_suspended(author, now=utcnow() + timedelta(days=6))
    assert not auth.is_suspended(author, now=utcnow() + timedelta(days=7, minutes=1))
    author.suspended_until = utcnow() - timedelta(seconds=1)  # the end date passes
    assert auth.authenticate(db_session, author.email, PASSWORD) == author


def hidden_review_with_sanction(db_session, council, moderator):
    review = published_review(db_session, council, moderator)
    item = reported(db_session, "review", review.id)
    decisions.decide(db_session, moderator, item, Decision.HIDE, "Unkind")
    return review, sanction_of(db_session, item)


def test_appeal_goes_to_a_different_moderator(db_session, council, moderator):
    review, sanction = hidden_review_with_sanction(db_session, council, moderator)
    appeal = decisions.appeal(db_session, review.author, sanction, "It was fair comment")
    (item,) = moderation.open_entries_for(db_session, decisions.ITEM_APPEAL, appeal.id)
    assert item.councils == [council.code]
    with pytest.raises(NotAllowed):
        moderation.claim(db_session, moderator, item)
    with pytest.raises(NotAllowed):
        decisions.decide(db_session, moderator, item, Decision.OVERTURN, "I was wrong")
    assert {d for d, _ in moderation.actions_for(db_session, item)} == {
        Decision.UPHOLD,
        Decision.OVERTURN,
    }
    other_area = ulo_moderator(CouncilFactory())
    with pytest.raises(NotAllowed):
        moderation.claim(db_session, other_area, item)
    second = ulo_moderator(council)
    moderation.claim(db_session, second, item)
    decisions.decide(db_session, second, item, Decision.OVERTURN, "Fair comment")
    assert review.hidden_at is None
    assert sanction.overturned_at is not None
    assert decisions.appeal_outcome_notice(db_session, item)[0].to == review.author.email


def test_one_appeal_only_and_only_by_the_person(db_session, council, moderator):
    review, sanction = hidden_review_with_sanction(db_session, council, moderator)
    with pytest.raises(NotAllowed):
        decisions.appeal(db_session, UserFactory(), sanction, "Not mine")
    with pytest.raises(DomainError):
        decisions.appeal(db_session, review.author, sanction, "x" * 2001)
    decisions.appeal(db_session, review.author, sanction, "Please look again")
    with pytest.raises(DomainError):
        decisions.appeal(db_session, review.author, sanction, "And again")


def test_uphold_keeps_the_effect(db_session, council, moderator):
    review, sanction = hidden_review_with_sanction(db_session, council, moderator)
    appeal = decisions.appeal(db_session, review.author, sanction, "Please")
    (item,) = moderation.open_entries_for(db_session, decisions.ITEM_APPEAL, appeal.id)
    decisions.decide(db_session, ulo_moderator(council), item, Decision.UPHOLD, "It stays")
    assert review.hidden_at is not None
    assert appeal.outcome == "uphold"


def test_overturning_a_suspension_lifts_it(db_session, council, moderator):
    review = published_review(db_session, council, moderator)
    item = reported(db_session, "review", review.id)
    decisions.decide(db_session, moderator, item, Decision.SUSPEND, "Threats", days=30)
    sanction = sanction_of(db_session, item)
    appeal = decisions.appeal(db_session, review.author, sanction, "It was not me")
    (appeal_item,) = moderation.open_entries_for(db_session, decisions.ITEM_APPEAL, appeal.id)
    decisions.decide(db_session, ulo_moderator(council), appeal_item, Decision.OVERTURN, "Sorry")
    assert review.author.suspended_until is None
    assert auth.authenticate(db_session, review.author.email, PASSWORD) == review.author


def test_overturning_an_edit_request_restores_the_listing(db_session, council, moderator):
    listing, staff = published_listing(db_session, council, moderator)
    item = reported(db_session, "listing", listing.id)
    decisions.decide(db_session, moderator, item, Decision.REMOVE, "Misleading")
    assert listing.status == ListingStatus.HIDDEN.value
    sanction = db_session.query(Sanction).filter_by(queue_item_id=item.id).first()
    owner = db_session.get(type(staff), sanction.user_id)
    appeal = decisions.appeal(db_session, owner, sanction, "It is accurate")
    (appeal_item,) = moderation.open_entries_for(db_session, decisions.ITEM_APPEAL, appeal.id)
    decisions.decide(db_session, ulo_moderator(council), appeal_item, Decision.OVERTURN, "Ok")
    assert listing.status == ListingStatus.PUBLISHED.value


def test_claim_is_refused_when_someone_else_has_it(db_session, council, moderator):
    review = published_review(db_session, council, moderator)
    item = reported(db_session, "review", review.id)
    moderation.claim(db_session, moderator, item)
    with pytest.raises(DomainError):
        moderation.claim(db_session, ulo_moderator(council), item)
    assert db_session.get(ModerationItem, item.id).claimed_by_id == moderator.id


def test_export_and_erasure_reach_decisions_and_appeals(db_session, council, moderator):
    review, sanction = hidden_review_with_sanction(db_session, council, moderator)
    author = review.author
    decisions.appeal(db_session, author, sanction, "My own words")
    (row,) = decisions._export(db_session, author)  # noqa: SLF001
    assert row["appeal"] == "My own words"
    decisions._erase(db_session, author)  # noqa: SLF001
    assert sanction.user_id is None
    assert decisions.appeal_of(db_session, sanction).text == "(erased)"


def test_a_second_suspension_never_shortens_the_first(db_session, council, moderator):
    first = published_review(db_session, council, moderator)
    author = first.author
    item = reported(db_session, "review", first.id)
    decisions.decide(db_session, moderator, item, Decision.SUSPEND, "Threats", days=30)
    long_until = as_utc(author.suspended_until)
    second = published_review(db_session, council, moderator)
    second.author = author
    db_session.flush()
    other = reported(db_session, "review", second.id)
    decisions.decide(db_session, moderator, other, Decision.SUSPEND, "Again", days=2)
    assert as_utc(author.suspended_until) == long_until

    # Overturning the long one leaves the short one running, not nothing.
    appeal = decisions.appeal(db_session, author, sanction_of(db_session, item), "Not me")
    (appeal_item,) = moderation.open_entries_for(db_session, decisions.ITEM_APPEAL, appeal.id)
    decisions.decide(db_session, ulo_moderator(council), appeal_item, Decision.OVERTURN, "Sorry")
    short_until = as_utc(sanction_of(db_session, other).until)
    assert as_utc(author.suspended_until) == short_until
    assert auth.authenticate(db_session, author.email, PASSWORD) is None


def test_the_second_moderator_sees_the_decision_in_words(db_session, council, moderator):
    review, sanction = hidden_review_with_sanction(db_session, council, moderator)
    shown = decisions.appealed_decision(db_session, sanction)
    assert shown["action"] == "Hidden from other people"
    assert shown["subject_title"] == f"a review of {review.listing.name}"
    assert shown["subject_text"] == review.body
