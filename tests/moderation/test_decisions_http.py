"""The decision form, the appeal page, who can reach them, and the admin audit log."""

from __future__ import annotations

import pyotp

from marketplace import audit
from marketplace.db import utcnow
from marketplace.engagement.models import Review
from marketplace.extensions import db
from marketplace.moderation import decisions, reports
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, Sanction
from tests.factories import PASSWORD, CouncilFactory, UserFactory
from tests.helpers import post, sign_in
from tests.listing_helpers import ulo_moderator
from tests.moderation.reporting import published_review


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def reported_review(db_session, council, moderator):
    review = published_review(db_session, council, moderator)
    row, _ = reports.submit_report(db_session, UserFactory(), "review", review.id, "abuse", "")
    (item,) = moderation.open_entries_for(db_session, reports.ITEM_REPORT, row.id)
    return review, item


def test_decision_form_offers_actions_and_shows_errors_beside_fields(
    app, db_session, council, moderator, mailbox
):
    review, item = reported_review(db_session, council, moderator)
    db_session.commit()
    client = signed_in(app, moderator)
    path = f"/moderation/items/{item.id}"
    page = text(client.get(path))
    assert "Suspend the person who wrote it" in page
    assert 'name="days"' in page

    page = text(post(client, path, {"decision": "suspend", "reason": "Threats", "days": "0"}))
    assert 'id="days-error"' in page
    page = text(post(client, path, {"decision": "suspend", "reason": "Threats", "days": ""}))
    assert 'id="days-error"' in page
    page = text(post(client, path, {"decision": "hide", "reason": ""}))
    assert 'id="reason-error"' in page

    response = post(client, path, {"decision": "hide", "reason": "Unkind words"})
    assert response.status_code == 302
    assert db.session.get(Review, review.id).hidden_at is not None
    message = mailbox.last_to(review.author.email)
    body = message.get_payload(decode=True).decode()
    assert "Unkind words" in body
    sanction = db.session.query(Sanction).filter_by(queue_item_id=item.id).one()
    assert f"/moderation/appeals/{sanction.id}" in body


def test_appeal_page_once_and_errors_beside_the_field(app, db_session, council, moderator):
    review, item = reported_review(db_session, council, moderator)
    decisions.decide(db_session, moderator, item, Decision.HIDE, "Unkind")
    sanction = db_session.query(Sanction).filter_by(queue_item_id=item.id).one()
    author = review.author
    db_session.commit()
    path = f"/moderation/appeals/{sanction.id}"
    assert signed_in(app, UserFactory()).get(path).status_code == 404
    client = signed_in(app, author)
    assert "Why should the decision change?" in text(client.get(path))
    page = text(post(client, path, {"text": ""}))
    assert 'id="text-error"' in page
    page = text(post(client, path, {"text": "x" * 2001}))
    assert 'id="text-error"' in page and "2,000 characters" in page
    assert post(client, path, {"text": "It was fair"}).status_code == 302
    page = text(client.get(path))
    assert "You appealed this decision" in page
    assert 'name="text"' not in page


def test_the_deciding_moderator_cannot_take_the_appeal(app, db_session, council, moderator):
    review, item = reported_review(db_session, council, moderator)
    decisions.decide(db_session, moderator, item, Decision.HIDE, "Unkind")
    sanction = db_session.query(Sanction).filter_by(queue_item_id=item.id).one()
    appeal = decisions.appeal(db_session, review.author, sanction, "Please")
    (appeal_item,) = moderation.open_entries_for(db_session, decisions.ITEM_APPEAL, appeal.id)
    second = ulo_moderator(council)
    db_session.commit()
    path = f"/moderation/items/{appeal_item.id}"
    client = signed_in(app, moderator)
    page = text(client.get(path))
    assert "a different moderator must deal with this" in page
    assert post(client, path + "/claim", token_from=path).status_code == 302
    assert post(client, path, {"decision": "overturn", "reason": "x"}).status_code == 403

    other = signed_in(app, second)
    assert "Overturn it and undo its effect" in text(other.get(path))
    assert post(other, path, {"decision": "overturn", "reason": "Fair"}).status_code == 302
    assert db.session.get(Review, review.id).hidden_at is None


def test_ordinary_users_and_other_areas_reach_nothing(app, db_session, council, moderator):
    _, item = reported_review(db_session, council, moderator)
    elsewhere = ulo_moderator(CouncilFactory())
    holder = UserFactory(roles=["holder"])
    db_session.commit()
    path = f"/moderation/items/{item.id}"
    client = signed_in(app, holder)
    assert client.get(path).status_code == 403
    assert client.get("/moderation").status_code == 403
    assert client.post(path + "/claim").status_code in (400, 403)
    other = signed_in(app, elsewhere)
    assert other.get(path).status_code == 404
    assert f"/moderation/items/{item.id}" not in text(other.get("/moderation"))


def admin_user():
    return UserFactory(roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow())


def test_audit_filters_and_formula_safe_export(app, db_session):
    admin = admin_user()
    audit.record(db_session, admin.id, "sanction.warn", "review", 7, "=HYPERLINK(1)")
    audit.record(db_session, None, "report.auto_hidden", "pool_message", 3, "system did it")
    db_session.commit()
    client = signed_in(app, admin)
    page = text(client.get("/admin/audit?action=sanction."))
    assert "sanction.warn" in page and "report.auto_hidden" not in page
    page = text(client.get("/admin/audit?actor=system"))
    assert "report.auto_hidden" in page and "sanction.warn" not in page
    page = text(client.get("/admin/audit?subject_type=review"))
    assert "sanction.warn" in page and "report.auto_hidden" not in page
    page = text(client.get("/admin/audit?date_from=2999-01-01"))
    assert "sanction.warn" not in page
    page = text(client.get("/admin/audit?date_to=yesterday&actor=bob"))
    assert 'id="date_to-error"' in page and 'id="actor-error"' in page

    response = client.get("/admin/audit.csv?action=sanction.")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    csv_text = text(response)
    assert "'=HYPERLINK(1)" in csv_text
    assert "report.auto_hidden" not in csv_text
    assert client.get("/admin/audit.csv?date_from=nope").status_code == 400


def test_audit_is_admin_only(app, db_session, council):
    for person in (UserFactory(roles=["holder"]), ulo_moderator(council)):
        db_session.commit()
        client = signed_in(app, person)
        assert client.get("/admin/audit").status_code == 403
        assert client.get("/admin/audit.csv").status_code == 403
    assert app.test_client().get("/admin/audit.csv").status_code == 302


def test_a_suspended_person_appeals_through_the_emailed_link(
    app, db_session, council, moderator, mailbox
):
    review, item = reported_review(db_session, council, moderator)
    author_email = review.author.email
    db_session.commit()
    client = signed_in(app, moderator)
    path = f"/moderation/items/{item.id}"
    response = post(client, path, {"decision": "suspend", "reason": "Threats", "days": "3"})
    assert response.status_code == 302
    body = mailbox.last_to(author_email).get_payload(decode=True).decode()
    link = next(line for line in body.splitlines() if "/moderation/appeals/" in line)
    link = link.replace("http://localhost", "")
    visitor = app.test_client()
    refused = post(visitor, "/sign-in", {"email": author_email, "password": PASSWORD})
    assert refused.status_code == 200  # suspended: the sign-in form comes back
    assert "A moderator has suspended this account until" in text(refused)
    wrong = post(visitor, "/sign-in", {"email": author_email, "password": "not it"})
    assert "suspended" not in text(wrong)
    assert "Why should the decision change?" in text(visitor.get(link))
    assert visitor.get(link[:-3] + "abc").status_code == 404
    assert post(visitor, link, {"text": "It was not a threat"}).status_code == 302
    assert "You appealed this decision" in text(visitor.get(link))
