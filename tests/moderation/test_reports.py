"""Reports, the urgent queue and auto-hide after three reports, without HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.audit import AuditEntry, entries_for
from marketplace.db import utcnow
from marketplace.engagement import services as engagement
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import reports
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, Report
from marketplace.providers.models import ListingStatus
from tests.factories import CouncilFactory, OrganisationFactory, UserFactory
from tests.listing_helpers import ulo_moderator
from tests.moderation.reporting import (
    buddy_message,
    pool_message,
    published_listing,
    published_review,
)

LATER = timedelta(hours=12, minutes=1)


def report(db_session, subject_type, subject_id, reason="spam", when=None, reporter=None):
    reporter = reporter or UserFactory()
    return reports.submit_report(
        db_session, reporter, subject_type, subject_id, reason, "details", now=when
    )


def item_of(db_session, report_row):
    (item,) = moderation.open_entries_for(db_session, reports.ITEM_REPORT, report_row.id)
    return item


def test_a_report_is_a_queue_item_in_the_things_areas(db_session, council, moderator):
    other_area = CouncilFactory()
    listing, _ = published_listing(db_session, council, moderator)
    row, notices = report(db_session, "listing", listing.id)
    item = item_of(db_session, row)
    assert notices == []
    assert item.councils == [council.code]
    assert not item.urgent
    assert "Spam or advertising" in item.summary
    assert item in moderation.queue_for(db_session, moderator)
    assert item not in moderation.queue_for(db_session, ulo_moderator(other_area))


def test_areas_of_pools_messages_and_organisations(db_session, council, moderator):
    message = pool_message(db_session, council, moderator)
    row, _ = report(db_session, "pool_message", message.id)
    assert item_of(db_session, row).councils == [council.code]
    row, _ = report(db_session, "pool", message.pool_id)
    assert item_of(db_session, row).councils == [council.code]

    buddy_msg, _, buddy = buddy_message(db_session, council, moderator)
    row, _ = reports.submit_report(db_session, buddy, "buddy_message", buddy_msg.id, "abuse", "")
    assert item_of(db_session, row).councils == [council.code]

    org = OrganisationFactory()
    second = CouncilFactory()
    org.councils.extend([council, second])
    db_session.flush()
    row, _ = report(db_session, "organisation", org.id)
    assert set(item_of(db_session, row).councils) == {council.code, second.code}


def test_safeguarding_is_urgent_and_first_in_the_queue(db_session, council, moderator):
    listing, _ = published_listing(db_session, council, moderator)
    old, _ = report(db_session, "listing", listing.id, when=utcnow() - timedelta(days=2))
    urgent, _ = report(db_session, "listing", listing.id, reason="money_misuse")
    queue = moderation.queue_for(db_session, moderator)
    urgent_item = item_of(db_session, urgent)
    assert urgent_item.urgent
    assert queue.index(urgent_item) < queue.index(item_of(db_session, old))
    assert queue[0] is urgent_item
    assert not moderation.is_overdue(urgent_item)
    assert moderation.is_overdue(urgent_item, utcnow() + timedelta(hours=25))
    assert not moderation.is_overdue(item_of(db_session, old))  # old, but not urgent


def test_one_open_report_per_person_per_thing(db_session, council, moderator):
    listing, _ = published_listing(db_session, council, moderator)
    person = UserFactory()
    report(db_session, "listing", listing.id, reporter=person)
    with pytest.raises(DomainError, match="already reported"):
        report(db_session, "listing", listing.id, reporter=person, reason="abuse")
    report(db_session, "listing", listing.id)  # someone else may


def test_bad_input_and_invisible_things(db_session, council, moderator):
    listing, _ = published_listing(db_session, council, moderator)
    with pytest.raises(DomainError) as bad:
        report(db_session, "listing", listing.id, reason="bored")
    assert bad.value.field == "reason"
    with pytest.raises(DomainError) as long:
        reports.submit_report(db_session, UserFactory(), "listing", listing.id, "spam", "x" * 2001)
    assert long.value.field == "details"
    with pytest.raises(NotAllowed):
        report(db_session, "review", 999999)
    message, seeker, _ = buddy_message(db_session, council, moderator)
    with pytest.raises(NotAllowed):  # not in the pairing
        report(db_session, "buddy_message", message.id)
    with pytest.raises(NotAllowed):  # your own message
        report(db_session, "buddy_message", message.id, reporter=seeker)


def _three_reports(db_session, subject_type, subject_id, first_at):
    notices = []
    for n in range(3):
        _, found = report(
            db_session, subject_type, subject_id, when=first_at + timedelta(minutes=n)
        )
        notices.extend(found)
    return notices


def test_three_reporters_and_12_hours_hide_a_review(app, db_session, council, moderator, mailbox):
    review = published_review(db_session, council, moderator)
    start = utcnow() - LATER
    assert _three_reports(db_session, "review", review.id, start) == []
    assert review.hidden_at is None  # each report was made before the 12 hours had passed
    notices = reports.hide_after_reports(db_session, start + LATER)
    assert review.hidden_at is not None
    assert [n.to for n in notices] == [review.author.email]
    assert review not in engagement.published_reviews(db_session, review.listing_id)
    assert engagement.rating_summary(db_session, review.listing_id).count == 0
    assert [e.action for e in entries_for(db_session, "review", review.id)][-1] == (
        "report.auto_hidden"
    )
    with app.app_context():
        reports.send_under_review(notices)
        db_session.commit()  # emails go after the commit
    email = mailbox.last_to(review.author.email)
    assert "under review" in email["Subject"]
    # Running the job again changes nothing and emails nobody.
    assert reports.hide_after_reports(db_session, start + LATER) == []


def test_the_check_also_runs_when_a_report_is_made(db_session, council, moderator):
    message = pool_message(db_session, council, moderator)
    start = utcnow() - timedelta(hours=13)
    report(db_session, "pool_message", message.id, when=start)
    report(db_session, "pool_message", message.id, when=start + timedelta(minutes=1))
    assert message.hidden_at is None
    _, notices = report(db_session, "pool_message", message.id)
    assert message.hidden_at is not None
    assert len(notices) == 1


def test_two_reports_never_hide_and_one_person_twice_counts_once(db_session, council, moderator):
    review = published_review(db_session, council, moderator)
    start = utcnow() - timedelta(days=3)
    report(db_session, "review", review.id, when=start)
    report(db_session, "review", review.id, when=start)
    assert reports.hide_after_reports(db_session, utcnow()) == []
    assert review.hidden_at is None


def test_not_hidden_before_12_hours_or_once_a_moderator_acted(db_session, council, moderator):
    review = published_review(db_session, council, moderator)
    _three_reports(db_session, "review", review.id, utcnow() - timedelta(hours=11))
    assert reports.hide_after_reports(db_session) == []
    assert review.hidden_at is None

    other = published_review(db_session, council, moderator)
    start = utcnow() - timedelta(days=1)
    rows = [report(db_session, "review", other.id, when=start)[0] for _ in range(3)]
    moderation.claim(db_session, moderator, item_of(db_session, rows[0]))
    assert reports.hide_after_reports(db_session) == []
    assert other.hidden_at is None


def test_listing_hidden_and_staff_emailed_then_a_moderator_shows_it_again(
    db_session, council, moderator
):
    listing, staff = published_listing(db_session, council, moderator)
    start = utcnow() - timedelta(days=1)
    _three_reports(db_session, "listing", listing.id, start)
    notices = reports.hide_after_reports(db_session)
    assert listing.status == ListingStatus.HIDDEN.value
    assert [n.to for n in notices] == [staff.email]
    first = reports.open_reports(db_session, "listing", listing.id)[0]
    moderation.decide(db_session, moderator, item_of(db_session, first), Decision.APPROVE, "")
    assert listing.status == ListingStatus.PUBLISHED.value
    assert reports.open_reports(db_session, "listing", listing.id) == []
    assert not [
        i for i in moderation.queue_for(db_session, moderator) if i.item_type == reports.ITEM_REPORT
    ]


def test_buddy_message_hidden_from_the_other_person(db_session, council, moderator):
    message, seeker, buddy = buddy_message(db_session, council, moderator)
    start = utcnow() - timedelta(days=1)
    # Only the other person in the pairing can report a buddy message through the service;
    # two more reporters are added directly to reach three different people.
    reports.submit_report(db_session, buddy, "buddy_message", message.id, "abuse", "", now=start)
    for _ in range(2):
        db_session.add(
            Report(
                reporter_id=UserFactory().id,
                subject_type="buddy_message",
                subject_id=message.id,
                reason="abuse",
                created_at=start,
            )
        )
    db_session.flush()
    notices = reports.hide_after_reports(db_session)
    assert message.hidden_at is not None
    assert [n.to for n in notices] == [seeker.email]


def test_the_hide_reported_command(app, db_session, council, moderator):
    review = published_review(db_session, council, moderator)
    _three_reports(db_session, "review", review.id, utcnow() - timedelta(days=1))
    db_session.commit()
    result = app.test_cli_runner().invoke(args=["moderation", "hide-reported"])
    assert result.exit_code == 0, result.output
    assert "1 owner notice" in result.output
    db_session.expire_all()
    assert db_session.get(type(review), review.id).hidden_at is not None


def test_export_and_erasure_of_a_reporter(db_session, council, moderator):
    from marketplace.privacy import services as privacy
    from tests.factories import PASSWORD

    listing, _ = published_listing(db_session, council, moderator)
    person = UserFactory()
    row, _ = reports.submit_report(db_session, person, "listing", listing.id, "spam", "Adverts")
    assert privacy.export_user_data(db_session, person)["reports"][0]["details"] == "Adverts"
    before = len(db_session.scalars(select(AuditEntry)).all())
    privacy.erase_account(db_session, person, PASSWORD)
    db_session.flush()
    assert row.reporter_id is None
    # Erasure only adds to the audit log (the database would refuse anything else).
    assert len(db_session.scalars(select(AuditEntry)).all()) == before + 1
