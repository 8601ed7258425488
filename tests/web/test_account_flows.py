"""Registering, resetting a password over real SMTP, and changing details, through HTTP."""

from __future__ import annotations

import re

from sqlalchemy import select

from marketplace.auth.models import Role, User
from marketplace.extensions import db
from tests.auth.links import REGISTER_LINK, link_in, register, registration
from tests.factories import PASSWORD, UserFactory
from tests.helpers import post, sign_in, totp_code

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


def test_register_reports_a_weak_password_then_opens_the_account_by_the_emailed_link(
    client, db_session, mailbox
):
    weak = post(client, "/register", registration(password="short", confirm_password="short"))
    assert "at least 10 characters" in weak.get_data(as_text=True)
    assert mailbox.messages == []
    answer = post(client, "/register", registration("Robin@Example.org"))
    assert answer.status_code == 200
    assert "Check your email" in answer.get_data(as_text=True)
    assert db_session.scalars(select(User)).all() == []  # nothing until the link is followed
    path = link_in(mailbox, "robin@example.org", REGISTER_LINK)
    assert "Create my account" in client.get(path).get_data(as_text=True)  # a GET only asks
    assert db_session.scalars(select(User)).all() == []
    response = post(client, path)
    assert response.status_code == 302
    user = db_session.scalars(select(User)).one()
    assert user.email == "robin@example.org"
    assert user.has_role(Role.HOLDER)
    page = client.get("/account").get_data(as_text=True)
    assert "Robin" in page
    assert "Your account has been created" in page


def test_provider_staff_are_sent_to_set_up_their_organisation(client, mailbox):
    response = register(
        client, mailbox, "team@harbour.example", display_name="Harbour team", usage="provider"
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


def test_a_reset_link_asked_for_before_a_password_change_no_longer_works(client, mailbox):
    user = UserFactory(email="target@example.org")
    post(client, "/forgotten-password", {"email": "target@example.org"})
    message = mailbox.last_to("target@example.org", "Reset your password")
    token = LINK.search(message.get_payload(decode=True).decode()).group(1)
    sign_in(client, user)
    post(
        client,
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "another long password",
            "confirm_password": "another long password",
        },
    )
    assert client.get(f"/reset-password/{token}").status_code == 410


def test_password_reset_reply_is_the_same_for_unknown_addresses(client, mailbox):
    UserFactory(email="known@example.org")
    known = post(client, "/forgotten-password", {"email": "known@example.org"})
    unknown = post(client, "/forgotten-password", {"email": "unknown@example.org"})

    def body(response):
        return response.get_data(as_text=True).replace("unknown@example.org", "known@example.org")

    assert known.status_code == unknown.status_code == 200
    assert body(known) == body(unknown)
    assert [m["To"] for m in mailbox.messages] == ["known@example.org"]


CONFIRM = re.compile(r"http://localhost(/account/email/confirm/\S+)")
NOT_ME = re.compile(r"http://localhost(/account/email/not-me/\S+)")


def _body(message) -> str:
    return message.get_payload(decode=True).decode()


def _ask_to_change_email(client, user, new_email="new@example.org", **extra):
    sign_in(client, user)
    return post(
        client,
        "/account/details",
        {
            "display_name": "New name",
            "email": new_email,
            "current_password": PASSWORD,
            "support_needs": "Mornings are hard",
            **extra,
        },
    )


def test_change_display_name_without_a_password(client, db_session, mailbox):
    user = UserFactory(email="old@example.org")
    sign_in(client, user)
    response = post(
        client, "/account/details", {"display_name": "New name", "email": "old@example.org"}
    )
    assert response.status_code == 302
    assert "Your details have been saved" in client.get("/account").get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(User, user.id).display_name == "New name"
    assert mailbox.messages == []


def test_the_email_changes_only_when_the_link_sent_to_it_is_followed(app, client, mailbox):
    user = UserFactory(email="old@example.org")
    assert _ask_to_change_email(client, user).status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert (
        "We have sent a link to new@example.org. Your email address changes when you follow "
        "it, within 24 hours. Until then, sign in with old@example.org"
    ) in page
    assert "Mornings are hard" not in _body(mailbox.last_to("new@example.org"))
    confirm = CONFIRM.search(
        _body(mailbox.last_to("new@example.org", "Confirm your new email address"))
    )
    notice = mailbox.last_to("old@example.org", "Your email address is being changed")
    assert NOT_ME.search(_body(notice))
    with app.app_context():
        assert db.session.get(User, user.id).email == "old@example.org"

    path = confirm.group(1)
    assert "Use this email address" in client.get(path).get_data(as_text=True)  # a GET asks
    with app.app_context():
        assert db.session.get(User, user.id).email == "old@example.org"
    response = post(client, path)
    assert response.status_code == 302
    assert "Your email address is now new@example.org" in client.get("/account").get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.get(User, user.id).email == "new@example.org"
    assert client.get(path).status_code == 410  # works once


def test_an_email_change_needs_the_current_password(client, db_session, mailbox):
    user = UserFactory(email="old@example.org")
    response = _ask_to_change_email(client, user, current_password="not my password")
    html = response.get_data(as_text=True)
    assert 'id="current_password-error"' in html
    assert "Enter your current password to change your email address" in html
    assert mailbox.messages == []
    db_session.expire_all()
    assert db_session.get(User, user.id).display_name != "New name"  # nothing saved


def test_this_was_not_me_stops_the_change_signs_everyone_out_and_sends_a_reset_link(
    app, client, mailbox
):
    user = UserFactory(email="old@example.org")
    _ask_to_change_email(client, user, new_email="thief@example.org")
    confirm = CONFIRM.search(_body(mailbox.last_to("thief@example.org"))).group(1)
    post(client, confirm)  # the thief confirms at once
    path = NOT_ME.search(_body(mailbox.last_to("old@example.org"))).group(1)

    owner = app.test_client()
    assert "This was not me: secure my account" in owner.get(path).get_data(as_text=True)
    html = post(owner, path).get_data(as_text=True)
    assert "The email address of your account is old@example.org" in html
    assert "Everyone has been signed out of your account" in html
    assert client.get("/account").status_code == 302  # the thief's session has ended
    with app.app_context():
        assert db.session.get(User, user.id).email == "old@example.org"
    reset = LINK.search(_body(mailbox.last_to("old@example.org", "Reset your password")))
    assert owner.get(f"/reset-password/{reset.group(1)}").status_code == 200
    assert owner.get(path).status_code == 410  # works once


def test_change_email_to_a_taken_one_shows_error_and_saves_nothing(client, db_session):
    UserFactory(email="taken@example.org")
    user = UserFactory(email="mine@example.org", display_name="Mine")
    sign_in(client, user)
    response = post(
        client,
        "/account/details",
        {"display_name": "Changed", "email": "taken@example.org", "current_password": PASSWORD},
    )
    html = response.get_data(as_text=True)
    assert "Another account already uses this email address" in html
    assert 'value="Changed"' in html  # what was typed is kept
    db_session.expire_all()
    assert db_session.get(User, user.id).display_name == "Mine"


def test_a_password_change_is_told_to_the_account(client, mailbox):
    sign_in(client, UserFactory(email="me@example.org"))
    post(
        client,
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "another long password",
            "confirm_password": "another long password",
        },
    )
    body = _body(mailbox.last_to("me@example.org", "Your password has been changed"))
    assert "Your password was changed on " in body
    assert "http://localhost/forgotten-password" in body


def test_a_password_reset_is_told_to_the_account(client, mailbox):
    UserFactory(email="me@example.org")
    post(client, "/forgotten-password", {"email": "me@example.org"})
    token = LINK.search(_body(mailbox.last_to("me@example.org"))).group(1)
    path = f"/reset-password/{token}"
    post(
        client, path, {"password": "a new long password", "confirm_password": "a new long password"}
    )
    body = _body(mailbox.last_to("me@example.org", "Your password has been reset"))
    assert "Your password was reset on " in body


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

    user = UserFactory()
    sign_in(client, user)
    html = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'class="app-secret">([A-Z2-7]+)<', html).group(1)
    assert "<svg" in html  # the QR code is inline SVG, no script
    response = post(client, "/account/two-factor", {"code": totp_code(secret)})
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(User, user.id).has_second_factor
    assert PASSWORD


def test_turning_the_second_factor_on_and_off_is_told_to_the_account(client, db_session, mailbox):
    user = UserFactory(email="me@example.org")
    sign_in(client, user)
    html = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'class="app-secret">([A-Z2-7]+)<', html).group(1)
    post(client, "/account/two-factor", {"code": totp_code(secret)})
    body = _body(mailbox.last_to("me@example.org", "Your second factor has been turned on"))
    assert "A second factor was added to your account on " in body
    post(client, "/account/two-factor/off", {"password": PASSWORD}, "/account/two-factor")
    body = _body(mailbox.last_to("me@example.org", "Your second factor has been turned off"))
    assert "Your second factor was removed from your account on " in body
