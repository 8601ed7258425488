"""Report forms, the queue page, crisis signposting and hidden content, through the client."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace.audit import AuditEntry
from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.moderation import reports
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Report
from marketplace.pools import services as pools
from tests.factories import CouncilFactory, UserFactory
from tests.helpers import post, sign_in
from tests.listing_helpers import ulo_moderator
from tests.moderation.reporting import buddy_message, pool_message, published_listing

SIGNPOST = "If you need help now</h2>"


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def test_report_form_needs_sign_in(app, db_session, council, moderator):
    listing, _ = published_listing(db_session, council, moderator)
    db_session.commit()
    response = app.test_client().get(f"/report/listing/{listing.id}")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_report_form_errors_beside_the_fields(app, db_session, council, moderator):
    listing, _ = published_listing(db_session, council, moderator)
    person = UserFactory()
    db_session.commit()
    client = signed_in(app, person)
    path = f"/report/listing/{listing.id}"
    page = text(client.get(path))
    assert "Report the service" in page
    assert "Safeguarding: money is being misused" in page

    page = text(post(client, path, {"reason": "", "details": ""}))
    assert "There is a problem" in page
    assert 'id="reason-error"' in page
    assert "Choose why you are reporting this" in page

    page = text(post(client, path, {"reason": "spam", "details": "x" * 2001}))
    assert 'id="details-error"' in page
    assert "2,000 characters or fewer" in page

    page = text(post(client, path, {"reason": "other", "details": "  "}))
    assert "Tell us what is wrong" in page
    assert db_session.scalars(select(Report)).all() == []


def test_report_then_a_second_is_a_clear_message(app, db_session, council, moderator):
    listing, _ = published_listing(db_session, council, moderator)
    person = UserFactory()
    db_session.commit()
    client = signed_in(app, person)
    path = f"/report/listing/{listing.id}"
    response = post(client, path, {"reason": "false", "details": "Prices are wrong"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/services/{listing.id}")
    assert "Thank you" in text(client.get(response.headers["Location"]))
    (row,) = db_session.scalars(select(Report)).all()
    assert (row.reason, row.details, row.reporter_id) == ("false", "Prices are wrong", person.id)

    response = post(client, path, {"reason": "spam", "details": ""})
    assert response.status_code == 200
    assert "You have already reported this" in text(response)
    assert len(db_session.scalars(select(Report)).all()) == 1


def test_queue_shows_urgent_first_with_age_and_other_areas_see_nothing(
    app, db_session, council, moderator
):
    listing, _ = published_listing(db_session, council, moderator)
    other_listing, _ = published_listing(db_session, council, moderator)
    old, _ = reports.submit_report(
        db_session,
        UserFactory(),
        "listing",
        other_listing.id,
        "spam",
        "",
        utcnow() - timedelta(days=3),
    )
    urgent, _ = reports.submit_report(
        db_session,
        UserFactory(),
        "listing",
        listing.id,
        "risk_to_person",
        "",
        utcnow() - timedelta(hours=30),
    )
    elsewhere = ulo_moderator(CouncilFactory())
    db_session.commit()

    page = text(signed_in(app, moderator).get("/moderation"))
    assert "Urgent" in page
    assert "app-overdue" in page
    assert "1 day – over 24 hours" in page
    assert "3 days" in page
    assert page.index("someone may be at risk") < page.index("Spam or advertising")

    other = signed_in(app, elsewhere)
    page = text(other.get("/moderation"))
    assert "Nothing is waiting in your areas" in page
    (item,) = moderation.open_entries_for(db_session, reports.ITEM_REPORT, urgent.id)
    assert other.get(f"/moderation/items/{item.id}").status_code == 404
    assert old is not None


def test_ordinary_users_reach_no_moderation_route(app, db_session, council, moderator):
    listing, _ = published_listing(db_session, council, moderator)
    row, _ = reports.submit_report(db_session, UserFactory(), "listing", listing.id, "spam", "")
    (item,) = moderation.open_entries_for(db_session, reports.ITEM_REPORT, row.id)
    person = UserFactory()
    db_session.commit()
    client = signed_in(app, person)
    for path in ("/moderation", f"/moderation/items/{item.id}"):
        assert client.get(path).status_code == 403
    assert client.post(f"/moderation/items/{item.id}/claim").status_code in (400, 403)


def test_moderator_sees_the_report_and_what_was_reported(app, db_session, council, moderator):
    message = pool_message(db_session, council, moderator, body="Buy cheap pills here")
    row, _ = reports.submit_report(
        db_session, UserFactory(), "pool_message", message.id, "spam", "Selling things"
    )
    (item,) = moderation.open_entries_for(db_session, reports.ITEM_REPORT, row.id)
    db_session.commit()
    page = text(signed_in(app, moderator).get(f"/moderation/items/{item.id}"))
    assert "Selling things" in page
    assert "Buy cheap pills here" in page


def test_hidden_pool_message_only_for_its_author_and_moderators(
    app, db_session, council, moderator
):
    message = pool_message(db_session, council, moderator, body="A reported message")
    message.hidden_at = utcnow()
    author = db_session.get(type(message.author), message.author_id)
    row = Report(
        reporter_id=UserFactory().id,
        subject_type="pool_message",
        subject_id=message.id,
        reason="spam",
    )
    db_session.add(row)
    db_session.flush()
    moderation.submit(db_session, reports.ITEM_REPORT, row.id, "Report", None, [council.code])
    db_session.commit()
    path = f"/pools/{message.pool_id}"
    assert "A reported message" not in text(app.test_client().get(path))
    assert "A reported message" not in text(signed_in(app, UserFactory()).get(path))
    page = text(signed_in(app, author).get(path))
    assert "A reported message" in page
    assert "Under review" in page
    # Moderators read it on the report's queue item.
    (item,) = moderation.open_entries_for(db_session, reports.ITEM_REPORT, row.id)
    assert "A reported message" in text(
        signed_in(app, moderator).get(f"/moderation/items/{item.id}")
    )


def test_hidden_buddy_message_only_for_its_sender(app, db_session, council, moderator):
    message, seeker, buddy = buddy_message(db_session, council, moderator, body="Hidden words")
    message.hidden_at = utcnow()
    db_session.commit()
    path = f"/buddies/pairings/{message.match_id}"
    assert "Hidden words" not in text(signed_in(app, buddy).get(path))
    page = text(signed_in(app, seeker).get(path))
    assert "Hidden words" in page and "Under review" in page


def test_crisis_signpost_for_the_writer_only_and_not_stored(
    app, db_session, council, moderator, mailbox
):
    message, seeker, buddy = buddy_message(db_session, council, moderator)
    db_session.commit()
    mailbox.clear()
    writer = signed_in(app, seeker)
    path = f"/buddies/pairings/{message.match_id}"
    response = post(
        writer, f"{path}/messages", {"body": "I feel like I can't go on"}, token_from=path
    )
    assert response.status_code == 302
    page = text(writer.get(response.headers["Location"]))
    assert SIGNPOST in page and "116 123" in page and "85258" in page and "999" in page
    assert "option 2" in page
    # Once only, and never to the other person, nor in any email or the audit log.
    assert SIGNPOST not in text(writer.get(path))
    assert SIGNPOST not in text(signed_in(app, buddy).get(path))
    assert all("85258" not in m.as_string() for m in mailbox.messages)
    assert not any(
        "crisis" in (e.action + e.detail) for e in db_session.scalars(select(AuditEntry))
    )


def test_crisis_signpost_after_a_report_and_a_pool_message(app, db_session, council, moderator):
    message = pool_message(db_session, council, moderator)
    pool = pools.get_pool_for(db_session, None, message.pool_id)
    member = UserFactory()
    db_session.commit()
    client = signed_in(app, member)
    response = post(
        client,
        f"/report/pool/{pool.id}",
        {"reason": "risk_to_person", "details": "I want to end my life"},
    )
    assert SIGNPOST in text(client.get(response.headers["Location"]))
    response = post(client, f"/report/pool_message/{message.id}", {"reason": "spam"})
    assert SIGNPOST not in text(client.get(response.headers["Location"]))


def test_links_are_plain_text_from_new_accounts(app, db_session, council, moderator):
    message, seeker, buddy = buddy_message(
        db_session, council, moderator, body="See https://example.org/help now"
    )
    db_session.commit()
    path = f"/buddies/pairings/{message.match_id}"
    page = text(signed_in(app, buddy).get(path))
    assert "See https://example.org/help now" in page
    assert 'href="https://example.org/help"' not in page
    db_session.get(User, seeker.id).created_at = utcnow() - timedelta(days=8)
    db_session.commit()
    page = text(signed_in(app, buddy).get(path))
    assert 'href="https://example.org/help"' in page


def test_enquiry_signpost_and_new_account_limit_beside_the_field(
    app, db_session, council, moderator
):
    listing, _ = published_listing(db_session, council, moderator)
    holder = UserFactory(roles=["holder"])
    db_session.commit()
    client = signed_in(app, holder)
    path = f"/services/{listing.id}/enquire"
    response = post(client, path, {"subject": "Help", "body": "I want to die, can you help"})
    assert response.status_code == 302, text(response)[:3000]
    assert SIGNPOST in text(client.get(response.headers["Location"]))
    thread = response.headers["Location"]
    for n in range(4):
        post(client, thread, {"body": f"reply {n}"})
    page = text(post(client, thread, {"body": "one too many"}))
    assert 'id="body-error"' in page
    assert "New accounts can send 5 messages an hour" in page


def test_reports_about_one_thing_share_a_queue_row_with_their_count_and_reasons(
    app, db_session, council, moderator
):
    listing, _ = published_listing(db_session, council, moderator)
    for reason, details in (("spam", "Adverts"), ("false", "Wrong prices"), ("spam", "")):
        reports.submit_report(db_session, UserFactory(), "listing", listing.id, reason, details)
    db_session.commit()
    client = signed_in(app, moderator)
    page = text(client.get("/moderation"))
    assert "1 waiting" in page
    assert "3 reports: Spam or advertising; False or misleading" in page
    assert "Moderation: 1 waiting" in page
    (first, *_rest) = moderation.queue_for(db_session, moderator)
    item_page = text(client.get(f"/moderation/items/{first.id}"))
    assert "The other reports about it (your decision closes them all)" in item_page
    assert "Wrong prices" in item_page
