"""Registering by emailed link, and the reset request, answer the same for every address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.auth import services
from marketplace.auth.models import PendingRegistration, UsageIntent, User
from marketplace.auth.passwords import hash_password, verify_password
from marketplace.db import utcnow
from marketplace.errors import DomainError
from tests.auth.links import (
    REGISTER_LINK,
    RESET_LINK,
    body_of,
    link_in,
    register,
    registration,
)
from tests.factories import PASSWORD, UserFactory
from tests.helpers import csrf_token, post


def _data(email: str = "robin@example.org", name: str = "Robin") -> services.Registration:
    return services.Registration(name, email, "a long enough password", UsageIntent.HOLDER)


# --- Services ------------------------------------------------------------------------------


def test_a_new_address_gets_a_pending_registration_and_no_account(db_session):
    started = services.start_registration(db_session, _data(" Robin@Example.org "), "hash")
    assert started.existing is None and started.token
    assert started.pending.email == "robin@example.org"
    assert db_session.scalars(select(User)).all() == []


def test_an_address_with_an_account_is_told_and_its_account_untouched(db_session):
    user = UserFactory(email="robin@example.org", display_name="Original")
    before = user.password_hash
    started = services.start_registration(db_session, _data(name="Impostor"), "hash")
    assert started.existing is user and started.token is None
    assert db_session.scalars(select(PendingRegistration)).all() == []
    assert (user.display_name, user.password_hash) == ("Original", before)


def test_the_link_opens_the_account_once(db_session):
    started = services.start_registration(
        db_session, _data(), hash_password("a long enough password")
    )
    user = services.confirm_registration(db_session, started.token)
    assert user.email == "robin@example.org"
    assert verify_password(user.password_hash, "a long enough password")
    assert services.registration_to_confirm(db_session, started.token) is None
    with pytest.raises(DomainError, match="expired or has already been used"):
        services.confirm_registration(db_session, started.token)


def test_the_link_works_for_an_hour(db_session):
    now = utcnow()
    started = services.start_registration(db_session, _data(), "hash", now=now)
    later = now + timedelta(seconds=services.REGISTRATION_TTL_SECONDS)
    assert services.registration_to_confirm(db_session, started.token, later - timedelta(1e-3))
    assert services.registration_to_confirm(db_session, started.token, later) is None
    with pytest.raises(DomainError):
        services.confirm_registration(db_session, started.token, later)


def test_registering_twice_before_following_leaves_only_the_newest_link(db_session):
    first = services.start_registration(db_session, _data(name="First"), "hash")
    second = services.start_registration(db_session, _data(name="Second"), "hash")
    assert services.registration_to_confirm(db_session, first.token) is None
    assert services.confirm_registration(db_session, second.token).display_name == "Second"


def test_a_link_for_an_address_that_has_since_opened_an_account_opens_nothing(db_session):
    started = services.start_registration(db_session, _data(), "hash")
    UserFactory(email="robin@example.org")
    with pytest.raises(DomainError, match="already uses this email address"):
        services.confirm_registration(db_session, started.token)


def test_the_checks_before_the_answer_do_not_look_at_the_address(db_session):
    UserFactory(email="robin@example.org")
    services.check_registration(db_session, _data())  # no error: the address is not looked at
    with pytest.raises(DomainError):
        services.check_registration(
            db_session, services.Registration("Robin", "x@example.org", "short", UsageIntent.HOLDER)
        )


# --- Through HTTP --------------------------------------------------------------------------


def _same(known, unknown, known_email: str, unknown_email: str) -> None:
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True).replace(
        unknown_email, known_email
    )


def test_register_answers_the_same_for_known_and_unknown_addresses(app, mailbox, db_session):
    user = UserFactory(email="known@example.org", display_name="Known")
    known = post(app.test_client(), "/register", registration("known@example.org"))
    unknown = post(app.test_client(), "/register", registration("unknown@example.org"))
    _same(known, unknown, "known@example.org", "unknown@example.org")
    page = known.get_data(as_text=True)
    assert "We have sent an email to known@example.org" in page
    assert "No account is created until the link is followed" in page
    assert "If this address already has an account, the email says so instead, and nothing" in page

    told = mailbox.last_to("known@example.org")
    assert told["Subject"] == "Someone tried to create an account with your email address"
    assert "Someone tried to register with this address" in body_of(told)
    assert "http://localhost/sign-in" in body_of(told)
    assert "http://localhost/forgotten-password" in body_of(told)
    assert not REGISTER_LINK.search(body_of(told))
    db_session.expire_all()
    assert db_session.get(User, user.id).display_name == "Known"  # not touched

    invited = mailbox.last_to("unknown@example.org")
    assert invited["Subject"] == "Confirm your email address to create your account"
    assert "the link works once, for 1 hour" in body_of(invited)
    assert "No account exists until you follow the link" in body_of(invited)
    assert db_session.scalars(select(User).where(User.email == "unknown@example.org")).all() == []


def test_the_reset_request_answers_the_same_and_mails_only_a_known_address(app, mailbox):
    UserFactory(email="known@example.org")
    known = post(app.test_client(), "/forgotten-password", {"email": "known@example.org"})
    unknown = post(app.test_client(), "/forgotten-password", {"email": "unknown@example.org"})
    _same(known, unknown, "known@example.org", "unknown@example.org")
    assert [m["To"] for m in mailbox.messages] == ["known@example.org"]
    assert link_in(mailbox, "known@example.org", RESET_LINK)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/register", registration("known@example.org")),
        ("/forgotten-password", {"email": "known@example.org"}),
    ],
)
def test_the_address_is_looked_at_only_after_the_response_has_gone(
    app, client, mailbox, path, data
):
    UserFactory(email="known@example.org")
    token = csrf_token(client, path)
    response = client.post(path, data={**data, "csrf_token": token})  # not closed yet
    assert response.status_code == 200
    assert mailbox.messages == []
    response.close()  # what a server does once the response is sent
    assert [m["To"] for m in mailbox.messages] == ["known@example.org"]


def test_following_the_link_opens_the_account_and_signs_in(app, client, mailbox, db_session):
    register(client, mailbox, "new@example.org", display_name="Newcomer")
    page = client.get("/account").get_data(as_text=True)
    assert "Your account has been created" in page and "Newcomer" in page
    path = link_in(mailbox, "new@example.org", REGISTER_LINK)
    assert app.test_client().get(path).status_code == 410  # works once
    other = app.test_client()
    post(other, "/sign-in", {"email": "new@example.org", "password": "a long enough password"})
    assert other.get("/account").status_code == 200


def test_an_expired_link_says_so(client, mailbox, db_session):
    post(client, "/register", registration())
    path = link_in(mailbox, "robin@example.org", REGISTER_LINK)
    pending = db_session.scalars(select(PendingRegistration)).one()
    pending.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    response = client.get(path)
    assert response.status_code == 410
    assert "Links to create an account work once, for 1 hour" in response.get_data(as_text=True)


def test_registering_twice_before_following_works_with_the_newest_link(client, mailbox):
    post(client, "/register", registration(display_name="First try"))
    first = link_in(mailbox, "robin@example.org", REGISTER_LINK)
    post(client, "/register", registration(display_name="Second try"))
    second = link_in(mailbox, "robin@example.org", REGISTER_LINK)
    assert first != second
    assert client.get(first).status_code == 410
    assert post(client, second).status_code == 302
    assert "Second try" in client.get("/account").get_data(as_text=True)


def test_registering_an_address_with_an_account_keeps_its_password(app, mailbox):
    UserFactory(email="known@example.org")
    post(app.test_client(), "/register", registration("known@example.org"))
    client = app.test_client()
    post(client, "/sign-in", {"email": "known@example.org", "password": PASSWORD})
    assert client.get("/account").status_code == 200
