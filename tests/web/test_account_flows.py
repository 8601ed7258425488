"""Registering, resetting a password over real SMTP, and changing details, through HTTP."""

from __future__ import annotations

import re

from sqlalchemy import select

from marketplace.auth.models import Role, User
from tests.factories import PASSWORD, UserFactory
from tests.helpers import post, sign_in

LINK = re.compile(r"http://localhost/reset-password/(\S+)")


def test_register_shows_errors_beside_fields_and_keeps_what_was_typed(client, db_session):
    response = post(
        client,
        "/register",
        {
            "display_name": "Robin",
            "email": "not-an-email",
            "password": "short",
            "confirm_password": "different",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "There is a problem" in html
    assert 'href="#email"' in html
    assert "Enter an email address in the correct format" in html
    assert "The passwords do not match" in html
    assert "Select how you will use the site" in html
    assert 'value="Robin"' in html
    assert 'value="not-an-email"' in html
    assert db_session.scalars(select(User)).all() == []


def test_a_password_mismatch_clears_only_the_confirmation(client, db_session):
    response = post(
        client,
        "/register",
        {
            "display_name": "Robin",
            "email": "robin@example.org",
            "password": "a long enough password",
            "confirm_password": "a long enough pasword",
            "usage": "holder",
        },
    )
    html = response.get_data(as_text=True)
    assert "<title>Error: Create an account" in html
    assert "The passwords do not match" in html
    assert re.search(r'id="password"[^>]*value="a long enough password"', html) or re.search(
        r'value="a long enough password"[^>]*id="password"', html
    )
    assert "a long enough pasword" not in html  # the confirmation is typed again
    assert db_session.scalars(select(User)).all() == []


def test_register_signs_in_and_reports_a_weak_password(client, db_session):
    weak = post(
        client,
        "/register",
        {
            "display_name": "Robin",
            "email": "robin@example.org",
            "password": "short",
            "confirm_password": "short",
            "usage": "holder",
        },
    )
    assert "at least 10 characters" in weak.get_data(as_text=True)
    response = post(
        client,
        "/register",
        {
            "display_name": "Robin",
            "email": "Robin@Example.org",
            "password": "a long enough password",
            "confirm_password": "a long enough password",
            "usage": "holder",
        },
    )
    assert response.status_code == 302
    user = db_session.scalars(select(User)).one()
    assert user.email == "robin@example.org"
    assert user.has_role(Role.HOLDER)
    assert "Robin" in client.get("/account").get_data(as_text=True)


def test_provider_staff_are_sent_to_set_up_their_organisation(client):
    response = post(
        client,
        "/register",
        {
            "display_name": "Harbour team",
            "email": "team@harbour.example",
            "password": "a long enough password",
            "confirm_password": "a long enough password",
            "usage": "provider",
        },
    )
    assert response.headers["Location"].endswith("/organisations/mine")


def test_password_reset_by_email_works_once(client, mailbox):
    user = UserFactory(email="forgetful@example.org")
    response = post(client, "/forgotten-password", {"email": "Forgetful@example.org"})
    assert "Check your email" in response.get_data(as_text=True)
    message = mailbox.last_to("forgetful@example.org")
    assert message["Subject"] == "Reset your password"
    token = LINK.search(message.get_payload(decode=True).decode()).group(1)

    path = f"/reset-password/{token}"
    response = post(
        client, path, {"password": "a new long password", "confirm_password": "a new long password"}
    )
    assert response.status_code == 302
    assert client.get(path).status_code == 410
    sign_in(client, user, password="a new long password")


def test_password_reset_reply_is_the_same_for_unknown_addresses(client, mailbox):
    UserFactory(email="known@example.org")
    known = post(client, "/forgotten-password", {"email": "known@example.org"})
    unknown = post(client, "/forgotten-password", {"email": "unknown@example.org"})

    def body(response):
        return response.get_data(as_text=True).replace("unknown@example.org", "known@example.org")

    assert known.status_code == unknown.status_code == 200
    assert body(known) == body(unknown)
    assert [m["To"] for m in mailbox.messages] == ["known@example.org"]


def test_change_display_name_and_email(client, db_session):
    user = UserFactory(email="old@example.org")
    sign_in(client, user)
    response = post(
        client,
        "/account/details",
        {
            "display_name": "New name",
            "email": "new@example.org",
            "support_needs": "Mornings are hard",
        },
    )
    assert response.status_code == 302
    db_session.expire_all()
    user = db_session.get(User, user.id)
    assert (user.display_name, user.email, user.support_needs) == (
        "New name",
        "new@example.org",
        "Mornings are hard",
    )


def test_change_email_to_a_taken_one_shows_error_and_saves_nothing(client, db_session):
    UserFactory(email="taken@example.org")
    user = UserFactory(email="mine@example.org", display_name="Mine")
    sign_in(client, user)
    response = post(
        client, "/account/details", {"display_name": "Changed", "email": "taken@example.org"}
    )
    html = response.get_data(as_text=True)
    assert "Another account already uses this email address" in html
    assert 'value="Changed"' in html  # what was typed is kept
    db_session.expire_all()
    assert db_session.get(User, user.id).display_name == "Mine"


def test_wrong_current_password_is_reported_beside_the_field(client):
    sign_in(client, UserFactory())
    response = post(
        client,
        "/account/password",
        {
            "current_password": "not my password",
            "new_password": "another long password",
            "confirm_password": "another long password",
        },
    )
    assert "Your current password is not right" in response.get_data(as_text=True)


def test_second_factor_setup_through_the_pages(client, db_session):
    import pyotp

    user = UserFactory()
    sign_in(client, user)
    html = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'class="app-secret">([A-Z2-7]+)<', html).group(1)
    assert "<svg" in html  # the QR code is inline SVG, no script
    response = post(client, "/account/two-factor", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(User, user.id).has_second_factor
    assert PASSWORD
