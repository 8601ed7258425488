"""Helpers for HTTP tests: CSRF tokens from real pages, signing in through the real form."""

from __future__ import annotations

import re
import time

import pyotp
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug.test import TestResponse

from marketplace.auth.models import User
from marketplace.extensions import db
from tests.factories import PASSWORD

_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def csrf_token(client: FlaskClient, path: str = "/sign-in") -> str:
    """A valid token for this client's session, read from a real page (a POST-only address
    redirects to the page its form is on, as a browser would follow)."""
    return csrf_from(client.get(path, follow_redirects=True).get_data(as_text=True))


def post(
    client: FlaskClient, path: str, data: dict | None = None, token_from: str | None = None, **kw
) -> TestResponse:
    """POST with a CSRF token taken from `token_from` (default: the same path).

    The response is read whole and closed, as a real server does once it has sent it, so
    that work a view leaves for after its response (outbox.after_response: registration and
    reset emails) has happened when this returns."""
    token = csrf_token(client, token_from or path)
    kw.setdefault("buffered", True)
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kw)


_last_step: dict[str, int] = {}


def totp_code(secret: str) -> str:
    """A code the site has not seen yet for this secret: codes are single use, so a second
    sign-in within the same 30 seconds takes the next step's code (the site allows one step of
    drift), and a third waits for the clock."""
    totp = pyotp.TOTP(secret)
    while True:
        current = totp.timecode(time.time())
        step = max(current, _last_step.get(secret, current - 1) + 1)
        if step <= current + 1:
            _last_step[secret] = step
            return totp.generate_otp(step)
        time.sleep(max(0.05, (current + 1) * totp.interval - time.time()))


def sign_in(client: FlaskClient, user: User, password: str = PASSWORD) -> TestResponse:
    response = post(client, "/sign-in", {"email": user.email, "password": password})
    if user.has_second_factor:
        # Codes are single use (tests/web/test_security.py); tests sign the same person in many
        # times a minute, so the site is made to forget the last code first.
        with client.application.app_context():
            db.session.execute(update(User).where(User.id == user.id).values(totp_last_step=None))
            db.session.commit()
        code = pyotp.TOTP(user.totp_secret).now()
        response = post(client, "/sign-in/code", {"code": code})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response
