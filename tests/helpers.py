"""Helpers for HTTP tests: CSRF tokens from real pages, signing in through the real form."""

from __future__ import annotations

import re

import pyotp
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from marketplace.auth.models import User
from tests.factories import PASSWORD

_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def csrf_token(client: FlaskClient, path: str = "/sign-in") -> str:
    """A valid token for this client's session, read from a real page."""
    return csrf_from(client.get(path).get_data(as_text=True))


def post(
    client: FlaskClient, path: str, data: dict | None = None, token_from: str | None = None, **kw
) -> TestResponse:
    """POST with a CSRF token taken from `token_from` (default: the same path)."""
    token = csrf_token(client, token_from or path)
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kw)


def sign_in(client: FlaskClient, user: User, password: str = PASSWORD) -> TestResponse:
    response = post(client, "/sign-in", {"email": user.email, "password": password})
    if user.has_second_factor:
        code = pyotp.TOTP(user.totp_secret).now()
        response = post(client, "/sign-in/code", {"code": code})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response
