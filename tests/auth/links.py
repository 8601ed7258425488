"""Helpers for journeys through emailed links: registering, signing in by link."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.helpers import post

REGISTER_LINK = re.compile(r"http://localhost(/register/confirm/\S+)")
SIGN_IN_LINK = re.compile(r"http://localhost(/sign-in/link/\S+)")
RESET_LINK = re.compile(r"http://localhost(/reset-password/\S+)")


def body_of(message) -> str:
    return message.get_payload(decode=True).decode()


def link_in(mailbox, to: str, pattern: re.Pattern[str], subject: str | None = None) -> str:
    """The path of the link in the latest email to `to` (with this subject, when given)."""
    match = pattern.search(body_of(mailbox.last_to(to, subject)))
    assert match, body_of(mailbox.last_to(to, subject))
    return match.group(1)


def registration(email: str = "robin@example.org", **fields: str) -> dict[str, str]:
    return {
        "display_name": "Robin",
        "email": email,
        "password": "a long enough password",
        "confirm_password": "a long enough password",
        "usage": "holder",
        **fields,
    }


def register(client: FlaskClient, mailbox, email: str = "robin@example.org", **fields: str):
    """Register through /register and the emailed link; returns the link's final response."""
    answer = post(client, "/register", registration(email, **fields))
    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
    path = link_in(mailbox, email.strip().lower(), REGISTER_LINK)
    response: TestResponse = post(client, path)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response
