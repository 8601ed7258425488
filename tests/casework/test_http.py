"""The complaint and request forms and the admin's list, through the client."""

from __future__ import annotations

import pyotp

from marketplace.casework import services as casework
from marketplace.casework.models import Case
from marketplace.db import utcnow
from marketplace.extensions import db
from tests.factories import UserFactory
from tests.helpers import post, sign_in


def text(response) -> str:
    return response.get_data(as_text=True)


def test_a_visitor_complains_and_errors_sit_beside_the_fields(app, db_session, mailbox):
    client = app.test_client()
    page = text(client.get("/complaints"))
    assert "Make a complaint" in page and "116 123" in page
    assert "We email you a reference as soon as it arrives." in page
    page = text(post(client, "/complaints", {"kind": "", "details": "", "contact_email": ""}))
    assert 'id="kind-error"' in page
    page = text(
        post(
            client,
            "/complaints",
            {"kind": "complaint_service", "details": "Slow", "contact_email": "nope"},
        )
    )
    assert 'id="contact_email-error"' in page
    assert "Slow" in page  # what they wrote is kept
    response = post(
        client,
        "/complaints",
        {"kind": "complaint_service", "details": "Slow", "contact_email": "a@example.com"},
    )
    assert response.status_code == 302
    case = db.session.query(Case).one()
    assert case.contact_email == "a@example.com"
    mailbox.last_to("a@example.com", f"We have your complaint (reference {case.id})")


def test_a_holder_asks_about_their_data_and_sees_it_listed(app, db_session):
    person = UserFactory()
    db_session.commit()
    client = app.test_client()
    sign_in(client, person)
    page = text(post(client, "/account/your-data/request", {"kind": "objection", "details": ""}))
    assert 'id="details-error"' in page
    response = post(
        client, "/account/your-data/request", {"kind": "objection", "details": "No emails"}
    )
    assert response.status_code == 302
    page = text(client.get("/account/your-data"))
    assert "Object to how you use my information" in page
    assert "Due by" in page


def test_an_admin_answers_and_the_person_is_emailed(app, db_session, mailbox):
    person = UserFactory()
    case = casework.open_case(db_session, person, "rectification", "Wrong name")
    admin = UserFactory(
        roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
    )
    db_session.commit()
    client = app.test_client()
    sign_in(client, admin)
    page = text(client.get("/admin/cases"))
    assert "Correct something you hold about me" in page and "days left" in page
    path = f"/admin/cases/{case.id}"
    assert 'id="response-error"' in text(post(client, path, {"response": ""}))
    assert post(client, path, {"response": "Corrected today"}).status_code == 302
    body = mailbox.last_to(person.email).get_payload(decode=True).decode()
    assert "Corrected today" in body
    assert "No open requests or complaints" in text(client.get("/admin/cases"))
