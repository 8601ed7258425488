"""Reporters are told what happened to their report, in general words, and can look it up."""

from __future__ import annotations

from marketplace.moderation import decisions, reporter_outcomes, reports
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from tests.factories import UserFactory
from tests.helpers import post, sign_in
from tests.moderation.reporting import published_review


def report_by(db_session, person, review):
    row, _ = reports.submit_report(db_session, person, "review", review.id, "abuse", "Cruel")
    (item,) = moderation.open_entries_for(db_session, reports.ITEM_REPORT, row.id)
    return item


def test_every_reporter_of_the_thing_is_told_without_the_moderators_note(
    db_session, council, moderator
):
    review = published_review(db_session, council, moderator)
    first, second = UserFactory(), UserFactory()
    item = report_by(db_session, first, review)
    report_by(db_session, second, review)
    notices = decisions.decide(
        db_session, moderator, item, Decision.SUSPEND, "Private note about them", days=3
    )
    told = {n.to: n.body for n in notices if n.subject == "What happened to your report"}
    assert set(told) == {first.email, second.email}
    body = told[first.email]
    assert "acted on it with the person who wrote it" in body
    assert "Private note" not in body
    assert "suspend" not in body.lower()
    # The author is told separately, with the reason and a link to appeal.
    assert any(n.to == review.author.email and n.sanction_id for n in notices)


def test_nothing_wrong_is_said_plainly_and_the_report_page_shows_it(db_session, council, moderator):
    review = published_review(db_session, council, moderator)
    person = UserFactory()
    item = report_by(db_session, person, review)
    assert reporter_outcomes.reports_of(db_session, person)[0].outcome == reporter_outcomes.WAITING
    notices = decisions.decide(db_session, moderator, item, Decision.APPROVE, "")
    (notice,) = notices
    assert "does not break our rules" in notice.body
    (summary,) = reporter_outcomes.reports_of(db_session, person)
    assert summary.title == f"a review of {review.listing.name}"
    assert summary.outcome.startswith("A moderator looked at it and found")
    assert summary.decided_at is not None
    assert reporter_outcomes.reports_of(db_session, UserFactory()) == []


def test_an_erased_reporter_is_not_emailed(db_session, council, moderator):
    review = published_review(db_session, council, moderator)
    person = UserFactory()
    item = report_by(db_session, person, review)
    person.erased_at = person.created_at
    assert decisions.decide(db_session, moderator, item, Decision.REJECT, "Dealt with") == []


def test_the_reporter_gets_the_email_and_sees_the_outcome(
    app, db_session, council, moderator, mailbox
):
    review = published_review(db_session, council, moderator)
    person = UserFactory()
    item = report_by(db_session, person, review)
    db_session.commit()
    moderator_client = app.test_client()
    sign_in(moderator_client, moderator)
    response = post(
        moderator_client, f"/moderation/items/{item.id}", {"decision": "hide", "reason": "Unkind"}
    )
    assert response.status_code == 302
    body = mailbox.last_to(person.email).get_payload(decode=True).decode()
    assert "it is now hidden from other people" in body
    client = app.test_client()
    sign_in(client, person)
    page = client.get("/report/yours").get_data(as_text=True)
    assert "it is now hidden from other people" in page
    assert "Rude or abusive" in page
