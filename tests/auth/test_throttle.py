"""The sign-in limit by account: it stops one account being tried from many addresses, and
cannot be used to lock its owner out (a second factor or an emailed link still signs in)."""

from __future__ import annotations

import re
import time as real_time
from datetime import timedelta
from types import SimpleNamespace

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from marketplace.auth import services, throttle
from marketplace.auth.models import PendingRegistration, SignInLink, UsageIntent
from marketplace.db import utcnow
from marketplace.extensions import db
from tests.auth.links import SIGN_IN_LINK, body_of, link_in
from tests.factories import PASSWORD, UserFactory
from tests.helpers import csrf_from, post, totp_code

ACCOUNT_LIMIT = 10  # the default ACCOUNT_SIGN_IN_RATE_LIMIT: 10 per 15 minutes
THROTTLED = "Too many wrong passwords have been tried for this account"


def _sign_in(app: Flask, email: str, password: str, address: str, client=None):
    """One sign-in from its own client address, behind one proxy (10.0.0.1)."""
    client = client or app.test_client()
    environ = {"REMOTE_ADDR": "10.0.0.1"}
    headers = {"X-Forwarded-For": address}
    page = client.get("/sign-in", environ_base=environ, headers=headers)
    return client.post(
        "/sign-in",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
        environ_base=environ,
        headers=headers,
    )


def _attack(app: Flask, email: str, times: int = ACCOUNT_LIMIT) -> list[int]:
    """Wrong passwords for one account, each from a different address."""
    return [
        _sign_in(app, email, "not the password", f"198.51.100.{n}").status_code
        for n in range(times)
    ]


@pytest.fixture
def behind_a_proxy(app, monkeypatch):
    """The app as deployed behind one reverse proxy: TRUSTED_PROXIES=1."""
    from marketplace.web import proxies

    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app)
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", 1)
    proxies.init_app(app)
    return app


def test_one_account_tried_from_many_addresses_is_limited_by_the_account_rule(behind_a_proxy):
    app = behind_a_proxy
    UserFactory(email="target@example.org")
    UserFactory(email="bystander@example.org")
    assert _attack(app, "target@example.org") == [200] * ACCOUNT_LIMIT  # no address is limited
    refused = _sign_in(app, "target@example.org", PASSWORD, "203.0.113.9")
    page = refused.get_data(as_text=True)
    assert THROTTLED in page
    assert "<title>Error: Sign in" in page
    assert app.test_client().get("/account").status_code == 302
    # Another account, from an address the attacker used, is not touched.
    other = _sign_in(app, "bystander@example.org", PASSWORD, "198.51.100.1")
    assert other.status_code == 302


def test_behind_the_proxy_each_client_address_has_its_own_limit_too(behind_a_proxy):
    app = behind_a_proxy
    UserFactory(email="someone@example.org")
    codes = [
        _sign_in(app, f"nobody-{n}@example.org", "wrong", "203.0.113.1").status_code
        for n in range(6)
    ]
    assert codes[-1] == 429  # one address, many accounts: the address rule
    assert _sign_in(app, "someone@example.org", PASSWORD, "203.0.113.2").status_code == 302


def test_while_limited_the_right_password_alone_is_answered_as_a_wrong_one(behind_a_proxy):
    app = behind_a_proxy
    UserFactory(email="target@example.org")
    _attack(app, "target@example.org")
    right = _sign_in(app, "target@example.org", PASSWORD, "203.0.113.9").get_data(as_text=True)
    wrong = _sign_in(app, "target@example.org", "nope", "203.0.113.10").get_data(as_text=True)

    def without_token(html: str) -> str:
        return re.sub(r'value="[^"]{40,}"', "", html)

    assert without_token(right) == without_token(wrong)  # the password's rightness is not shown


def test_an_address_with_no_account_is_limited_the_same(behind_a_proxy):
    app = behind_a_proxy
    _attack(app, "nobody@example.org")
    assert THROTTLED in _sign_in(app, "nobody@example.org", "x", "203.0.113.9").get_data(
        as_text=True
    )


def test_the_page_says_what_happened_and_each_way_in_works(behind_a_proxy, mailbox):
    app = behind_a_proxy
    UserFactory(email="target@example.org")
    _attack(app, "target@example.org")
    page = _sign_in(app, "target@example.org", PASSWORD, "203.0.113.9").get_data(as_text=True)
    assert "It ends 15 minutes after the last wrong password, at the latest" in page
    assert "If you use an authenticator app, your password and a code from the app still" in page
    assert 'href="/sign-in/link">get a sign-in link by email</a>: it works once, for 15' in page

    client = app.test_client()
    post(client, "/sign-in/link", {"email": "target@example.org"})
    path = link_in(mailbox, "target@example.org", SIGN_IN_LINK, "Your sign-in link")
    assert "the link works once, for 15 minutes" in body_of(mailbox.last_to("target@example.org"))
    assert "Sign in with your emailed link" in client.get(path).get_data(as_text=True)
    assert client.get("/account").status_code == 302  # a GET only asks
    assert post(client, path).status_code == 302
    assert client.get("/account").status_code == 200
    assert app.test_client().get(path).status_code == 410  # works once


def test_a_second_factor_still_signs_in_while_the_account_is_limited(behind_a_proxy):
    app = behind_a_proxy
    secret = pyotp.random_base32()
    UserFactory(email="staff@example.org", totp_secret=secret, totp_enabled_at=utcnow())
    _attack(app, "staff@example.org")
    client = app.test_client()
    wrong = _sign_in(app, "staff@example.org", "nope", "203.0.113.9", client)
    assert THROTTLED in wrong.get_data(as_text=True)
    right = _sign_in(app, "staff@example.org", PASSWORD, "203.0.113.9", client)
    assert right.headers["Location"].endswith("/sign-in/code")
    environ = {"environ_base": {"REMOTE_ADDR": "10.0.0.1"}}
    headers = {"X-Forwarded-For": "203.0.113.9"}
    page = client.get("/sign-in/code", headers=headers, **environ).get_data(as_text=True)
    done = client.post(
        "/sign-in/code",
        data={"code": totp_code(secret), "csrf_token": csrf_from(page)},
        headers=headers,
        **environ,
    )
    assert done.status_code == 302
    assert client.get("/account").status_code == 200


def test_the_limit_ends_within_its_window_of_the_last_wrong_password(app, monkeypatch):
    if not app.config["RATELIMIT_STORAGE_URI"].startswith("memory"):
        pytest.skip("the clock is moved for the in-memory limiter storage only")
    import limits.storage.memory as memory

    offset = [0.0]
    monkeypatch.setattr(memory, "time", SimpleNamespace(time=lambda: real_time.time() + offset[0]))
    with app.test_request_context():
        for _ in range(ACCOUNT_LIMIT):
            throttle.count_failure("target@example.org")
        assert throttle.is_throttled("target@example.org")
        assert throttle.window_minutes() == 15
        offset[0] = 15 * 60 + 1
        assert not throttle.is_throttled("target@example.org")


def test_the_sign_in_link_answer_is_the_same_for_known_and_unknown(app, mailbox):
    UserFactory(email="known@example.org")
    known = post(app.test_client(), "/sign-in/link", {"email": "known@example.org"})
    unknown = post(app.test_client(), "/sign-in/link", {"email": "unknown@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True).replace(
        "unknown@example.org", "known@example.org"
    )
    assert "we have sent a sign-in link to it. The link works once and for 15 minutes" in (
        known.get_data(as_text=True)
    )
    assert [m["To"] for m in mailbox.messages] == ["known@example.org"]


def test_a_sign_in_link_for_an_account_with_a_second_factor_asks_for_the_code(app, mailbox):
    UserFactory(
        email="staff@example.org", totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
    )
    client = app.test_client()
    post(client, "/sign-in/link", {"email": "staff@example.org"})
    path = link_in(mailbox, "staff@example.org", SIGN_IN_LINK)
    assert post(client, path).headers["Location"].endswith("/sign-in/code")
    assert client.get("/account").status_code == 302


def test_sign_in_links_work_once_for_15_minutes_and_only_the_newest(db_session):
    user = UserFactory(email="a@example.org")
    now = utcnow()
    _, first = services.start_sign_in_link(db_session, "A@example.org", now)
    _, second = services.start_sign_in_link(db_session, "a@example.org", now)
    assert services.sign_in_link_user(db_session, first, now) is None
    assert services.sign_in_link_user(db_session, second, now) is user
    later = now + timedelta(seconds=services.SIGN_IN_LINK_TTL_SECONDS)
    assert services.sign_in_link_user(db_session, second, later) is None
    assert services.use_sign_in_link(db_session, second, now) is user
    assert services.sign_in_link_user(db_session, second, now) is None
    assert services.start_sign_in_link(db_session, "nobody@example.org") is None


def test_the_job_deletes_expired_registrations_and_links(db_session):
    from marketplace.auth.jobs import purge_expired_links

    UserFactory(email="a@example.org")
    data = services.Registration("Robin", "r@example.org", "x", UsageIntent.HOLDER)
    services.start_registration(db_session, data, "hash", now=utcnow() - timedelta(hours=2))
    services.start_sign_in_link(db_session, "a@example.org", utcnow() - timedelta(hours=1))
    fresh = services.Registration("Sam", "s@example.org", "x", UsageIntent.HOLDER)
    services.start_registration(db_session, fresh, "hash")
    db_session.commit()
    purge_expired_links(db_session, {})
    db_session.commit()
    assert [p.email for p in db_session.scalars(select(PendingRegistration))] == ["s@example.org"]
    assert db_session.scalars(select(SignInLink)).all() == []
    assert db is not None


def test_attempt_sign_in_refuses_a_password_alone_while_the_limit_holds(app, db_session):
    plain = UserFactory(email="plain@example.org")
    staff = UserFactory(
        email="staff@example.org", totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
    )
    with app.app_context():
        assert services.attempt_sign_in(db_session, "plain@example.org", PASSWORD).user is plain
        for email in ("plain@example.org", "staff@example.org"):
            for _ in range(ACCOUNT_LIMIT):
                assert services.attempt_sign_in(db_session, email, "wrong").user is None
        refused = services.attempt_sign_in(db_session, "plain@example.org", PASSWORD)
        assert refused == services.SignInAttempt(None, throttled=True)
        assert services.attempt_sign_in(db_session, "staff@example.org", PASSWORD).user is staff
