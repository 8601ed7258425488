"""Session, rate-limit, CSRF, header and second-factor guarantees, through HTTP."""

from __future__ import annotations

import pyotp
import pytest

from marketplace.auth.models import User
from marketplace.db import utcnow
from tests.factories import PASSWORD, UserFactory
from tests.helpers import csrf_from, csrf_token, post, sign_in, totp_code


def _session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_cookie_replayed_after_sign_out_is_refused(app, client):
    user = UserFactory()
    sign_in(client, user)
    assert client.get("/account").status_code == 200
    stolen = _session_cookie(client)
    post(client, "/sign-out", token_from="/account")
    assert client.get("/account").status_code == 302

    attacker = app.test_client()
    attacker.set_cookie("session", stolen, domain="localhost")
    response = attacker.get("/account")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_cookie_replayed_after_password_change_is_refused(app, client):
    user = UserFactory()
    sign_in(client, user)
    old = _session_cookie(client)
    response = post(
        client,
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "a different long password",
            "confirm_password": "a different long password",
        },
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200  # this browser stays signed in
    other = app.test_client()
    other.set_cookie("session", old, domain="localhost")
    assert other.get("/account").status_code == 302


def test_session_identifier_changes_at_sign_in(client):
    user = UserFactory()
    csrf_token(client)
    before = _session_cookie(client)
    with client.session_transaction() as session:
        session["sid"] = "planted-by-attacker"
    sign_in(client, user)
    with client.session_transaction() as session:
        assert session["sid"] != "planted-by-attacker"
        assert "csrf_token" not in session  # nothing carried over from before sign-in
    assert _session_cookie(client) != before


def test_failed_sign_ins_are_limited(client):
    user = UserFactory(email="limited@example.org")
    # The test app allows 5 failed attempts per 15 minutes.
    for _ in range(5):
        response = post(client, "/sign-in", {"email": user.email, "password": "not the password"})
        assert response.status_code == 200
        assert "The email address or password is not right" in response.get_data(as_text=True)
    response = post(client, "/sign-in", {"email": user.email, "password": "not the password"})
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_successful_sign_ins_do_not_count_towards_the_limit(client):
    user = UserFactory()
    for _ in range(7):
        sign_in(client, user)
        post(client, "/sign-out", token_from="/account")


def test_post_without_csrf_token_is_rejected(client):
    response = client.post(
        "/register",
        data={
            "display_name": "Robin",
            "email": "robin@example.org",
            "password": "a long enough password",
            "confirm_password": "a long enough password",
            "usage": "holder",
        },
    )
    assert response.status_code == 400
    assert "This form had expired" in response.get_data(as_text=True)
    assert User is not None


def test_sign_out_needs_csrf_token(client):
    sign_in(client, UserFactory())
    assert client.post("/sign-out").status_code == 400
    assert client.get("/account").status_code == 200


def test_security_headers_and_cookie_flags(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    assert "<script>" not in html  # no inline script anywhere on the page


def test_session_cookie_is_httponly_and_lax(client):
    user = UserFactory()
    response = sign_in(client, user)
    header = next(v for k, v in response.headers.items() if k == "Set-Cookie" and "session=" in v)
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_moderator_without_second_factor_cannot_reach_moderation(client):
    admin = UserFactory(roles=["admin"])
    sign_in(client, admin)
    response = client.get("/admin/organisations")
    assert response.status_code == 302
    assert "/account/two-factor" in response.headers["Location"]


def test_moderator_with_second_factor_reaches_moderation(client, db_session):
    secret = pyotp.random_base32()
    admin = UserFactory(roles=["admin"], totp_secret=secret)
    from marketplace.db import utcnow

    admin.totp_enabled_at = utcnow()
    db_session.commit()
    sign_in(client, admin)
    assert client.get("/admin/organisations").status_code == 200


def test_second_factor_code_is_asked_for_at_sign_in(client, db_session):
    secret = pyotp.random_base32()
    from marketplace.db import utcnow

    user = UserFactory(totp_secret=secret, totp_enabled_at=utcnow())
    response = post(client, "/sign-in", {"email": user.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/sign-in/code")
    assert client.get("/account").status_code == 302  # not signed in yet
    response = post(client, "/sign-in/code", {"code": "12345x"})
    assert "That code is not right" in response.get_data(as_text=True)
    response = post(client, "/sign-in/code", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200


def test_a_second_factor_code_cannot_be_replayed_at_sign_in(app, client, db_session):
    secret = pyotp.random_base32()
    user = UserFactory(totp_secret=secret, totp_enabled_at=utcnow())
    code = pyotp.TOTP(secret).now()
    post(client, "/sign-in", {"email": user.email, "password": PASSWORD})
    assert post(client, "/sign-in/code", {"code": code}).status_code == 302

    with app.test_client() as other:
        post(other, "/sign-in", {"email": user.email, "password": PASSWORD})
        response = post(other, "/sign-in/code", {"code": code})
        assert "That code is not right" in response.get_data(as_text=True)
        assert other.get("/account").status_code == 302


def test_downloads_are_never_stored_and_static_files_may_be(client):
    assert client.get("/services.csv").headers["Cache-Control"] == "no-store"
    static = client.get("/static/css/app.css")
    static.close()
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_a_signed_in_persons_json_is_never_stored(client):
    assert "no-store" not in client.get("/api/v1/services").headers.get("Cache-Control", "")
    sign_in(client, UserFactory())
    assert client.get("/api/v1/services").headers["Cache-Control"] == "no-store"


def test_a_request_for_another_host_is_refused_and_sends_no_email(client, mailbox):
    UserFactory(email="victim@example.org")
    token = csrf_token(client, "/forgotten-password")
    response = client.post(
        "/forgotten-password",
        data={"email": "victim@example.org", "csrf_token": token},
        headers={"Host": "evil.example"},
    )
    assert response.status_code == 400
    assert mailbox.messages == []


def test_reset_links_come_from_the_public_base_url_not_the_request(
    app, client, mailbox, monkeypatch
):
    # As create_app sets them for PUBLIC_BASE_URL=https://marketplace.example.org, with the
    # test client's own host (http://localhost) also trusted.
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://marketplace.example.org")
    monkeypatch.setitem(app.config, "SERVER_NAME", "marketplace.example.org")
    monkeypatch.setitem(app.config, "PREFERRED_URL_SCHEME", "https")
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["marketplace.example.org", "localhost"])
    UserFactory(email="someone@example.org")
    # The test client would take SERVER_NAME's host and scheme: ask as a browser at
    # http://localhost would.
    here = "http://localhost"
    page = client.get("/forgotten-password", base_url=here).get_data(as_text=True)
    client.post(
        "/forgotten-password",
        data={"email": "someone@example.org", "csrf_token": csrf_from(page)},
        base_url=here,
        buffered=True,  # closed, as a server closes it: the email goes after the response
    )
    body = mailbox.last_to("someone@example.org").get_payload(decode=True).decode()
    assert "https://marketplace.example.org/reset-password/" in body
    assert "localhost" not in body


def test_the_app_refuses_to_start_without_a_public_base_url():
    from marketplace import create_app
    from marketplace.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="Set PUBLIC_BASE_URL"):
        create_app({"TESTING": False, "DEBUG": False, "PUBLIC_BASE_URL": None})
    with pytest.raises(ConfigurationError, match="no path"):
        create_app({"TESTING": False, "PUBLIC_BASE_URL": "https://example.org/marketplace"})


def _age_session(client, idle_seconds: int = 0, since_sign_in: int = 0) -> None:
    import time

    with client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - idle_seconds
        session["started_at"] = int(time.time()) - max(since_sign_in, idle_seconds)


def _ulo_staff():
    return UserFactory(
        roles=["ulo_staff"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
    )


def test_the_account_page_says_when_a_session_ends(client):
    sign_in(client, UserFactory())
    html = client.get("/account").get_data(as_text=True)
    assert (
        "You are signed out after 120 minutes without using the site, and 12 hours after you "
        "signed in."
    ) in html


def test_a_session_ends_after_two_hours_without_a_request(client):
    sign_in(client, UserFactory())
    _age_session(client, idle_seconds=119 * 60)
    assert client.get("/account").status_code == 200  # and the idle clock starts again
    _age_session(client, idle_seconds=121 * 60)
    response = client.get("/account")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert "the session ran out of time" in client.get("/sign-in").get_data(as_text=True)


def test_people_who_moderate_are_signed_out_after_30_idle_minutes(client):
    staff = _ulo_staff()
    sign_in(client, staff)
    assert "signed out after 30 minutes" in client.get("/account").get_data(as_text=True)
    _age_session(client, idle_seconds=31 * 60)
    assert client.get("/account").status_code == 302


def test_the_idle_time_is_configurable(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 5)
    sign_in(client, UserFactory())
    _age_session(client, idle_seconds=6 * 60)
    assert client.get("/account").status_code == 302


def test_a_session_ends_12_hours_after_sign_in_however_busy(client):
    sign_in(client, UserFactory())
    _age_session(client, idle_seconds=0, since_sign_in=12 * 3600 + 60)
    assert client.get("/account").status_code == 302


def test_sign_out_everywhere_ends_every_session_of_the_account(app, client):
    user = UserFactory()
    sign_in(client, user)
    other_device = app.test_client()
    sign_in(other_device, user)
    response = post(client, "/account/sign-out-everywhere", token_from="/account")
    assert response.status_code == 302
    assert "You have been signed out everywhere, on every device" in client.get(
        "/sign-in"
    ).get_data(as_text=True)
    assert client.get("/account").status_code == 302
    assert other_device.get("/account").status_code == 302


def _fail_sign_ins(app, forwarded_for: str, times: int) -> list[int]:
    """Wrong passwords from one client behind the proxy (every request from 10.0.0.1)."""
    client = app.test_client()
    environ = {"REMOTE_ADDR": "10.0.0.1"}
    headers = {"X-Forwarded-For": forwarded_for}
    codes = []
    for _ in range(times):
        page = client.get("/sign-in", environ_base=environ, headers=headers)
        response = client.post(
            "/sign-in",
            data={
                "email": "someone@example.org",
                "password": "not the password",
                "csrf_token": csrf_from(page.get_data(as_text=True)),
            },
            environ_base=environ,
            headers=headers,
        )
        codes.append(response.status_code)
    return codes


def test_behind_one_trusted_proxy_each_client_has_its_own_sign_in_limit(app, monkeypatch):
    from marketplace.web import proxies

    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app)
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", 1)
    proxies.init_app(app)
    UserFactory(email="someone@example.org")
    assert _fail_sign_ins(app, "203.0.113.1", 6)[-1] == 429  # the attacker is limited...
    assert _fail_sign_ins(app, "203.0.113.2", 1) == [200]  # ...and nobody else


def test_without_proxy_fix_everyone_behind_the_proxy_shares_one_limit(app):
    UserFactory(email="someone@example.org")
    assert _fail_sign_ins(app, "203.0.113.1", 6)[-1] == 429
    assert _fail_sign_ins(app, "203.0.113.2", 1) == [429]  # why TRUSTED_PROXIES must be set
