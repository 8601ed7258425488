"""Every moderation decision names the person who made it, and reading private content on a
moderator's page is audited every time, before or after a claim."""

from __future__ import annotations

from sqlalchemy import select

from marketplace import audit
from marketplace.audit import AuditEntry
from marketplace.moderation import decisions, reports
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, ModerationItem, Sanction
from tests.factories import UserFactory
from tests.helpers import post, sign_in
from tests.listing_helpers import ulo_moderator
from tests.moderation.reporting import buddy_message, pool_message, published_review


def _report(db_session, subject_type, subject_id, reporter=None):
    row, _ = reports.submit_report(
        db_session, reporter or UserFactory(), subject_type, subject_id, "abuse", "Please look"
    )
    (item,) = moderation.open_entries_for(db_session, reports.ITEM_REPORT, row.id)
    return item


def test_an_overturned_decision_names_the_moderator_who_overturned_it(
    db_session, council, moderator
):
    review = published_review(db_session, council, moderator)
    item = _report(db_session, "review", review.id)
    decisions.decide(db_session, moderator, item, Decision.HIDE, "Unkind")
    sanction = db_session.scalars(select(Sanction).filter_by(queue_item_id=item.id)).one()
    appeal = decisions.appeal(db_session, review.author, sanction, "It was fair")
    (appeal_item,) = moderation.open_entries_for(db_session, decisions.ITEM_APPEAL, appeal.id)
    second = ulo_moderator(council)
    decisions.decide(db_session, second, appeal_item, Decision.OVERTURN, "Fair comment")
    db_session.flush()
    (overturned,) = [
        e
        for e in audit.entries_for(db_session, "sanction", sanction.id)
        if "overturned" in e.action
    ]
    assert overturned.actor_id == second.id


def test_no_decision_a_person_made_is_logged_without_them(db_session, council, moderator):
    """Sweep: each decision-ish entry written by moderation has an actor."""
    review = published_review(db_session, council, moderator)
    item = _report(db_session, "review", review.id)
    decisions.decide(db_session, moderator, item, Decision.HIDE, "Unkind")
    sanction = db_session.scalars(select(Sanction).filter_by(queue_item_id=item.id)).one()
    appeal = decisions.appeal(db_session, review.author, sanction, "It was fair")
    (appeal_item,) = moderation.open_entries_for(db_session, decisions.ITEM_APPEAL, appeal.id)
    decisions.decide(db_session, ulo_moderator(council), appeal_item, Decision.OVERTURN, "Ok")
    db_session.flush()
    decided = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.action.like("moderation.%") | AuditEntry.action.like("sanction.%")
        )
    ).all()
    assert decided
    assert [e.action for e in decided if e.actor_id is None] == []


def _viewings(db_session, viewer):
    return db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "private.viewed", AuditEntry.actor_id == viewer.id
        )
    ).all()


def test_reading_a_reported_buddy_message_is_audited_before_and_after_claiming(
    app, db_session, council, moderator
):
    message, _, buddy = buddy_message(db_session, council, moderator, body="Private words")
    item = _report(db_session, "buddy_message", message.id, reporter=buddy)
    reader = ulo_moderator(council)
    db_session.commit()
    client = app.test_client()
    sign_in(client, reader)

    assert "Private words" in client.get(f"/moderation/items/{item.id}").get_data(as_text=True)
    (first,) = _viewings(db_session, reader)
    assert (first.subject_type, first.subject_id) == ("buddy_message", message.id)
    assert first.detail == f"on queue item {item.id}"

    page = f"/moderation/items/{item.id}"
    post(client, f"{page}/claim", token_from=page)  # reading the page for its token: a 2nd view
    assert db_session.get(ModerationItem, item.id).claimed_by_id == reader.id
    assert "Private words" in client.get(page).get_data(as_text=True)
    assert len(_viewings(db_session, reader)) == 3


def test_a_buddy_concern_page_is_audited_but_a_public_pool_message_is_not(
    app, db_session, council, moderator
):
    from marketplace.buddies import conversations
    from tests.moderation.reporting import buddy_pair

    seeker, _, match = buddy_pair(db_session, council, moderator)
    concern = conversations.report_concern(db_session, seeker, match, "They seem low")
    (concern_item,) = moderation.open_entries_for(
        db_session, conversations.ITEM_BUDDY_CONCERN, concern.id
    )
    pool_item = _report(db_session, "pool_message", pool_message(db_session, council, moderator).id)
    db_session.commit()
    client = app.test_client()
    sign_in(client, moderator)
    client.get(f"/moderation/items/{pool_item.id}")
    assert _viewings(db_session, moderator) == []
    client.get(f"/moderation/items/{concern_item.id}")
    (seen,) = _viewings(db_session, moderator)
    assert seen.subject_type == conversations.ITEM_BUDDY_CONCERN
