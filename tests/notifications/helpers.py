"""Reading one-click links out of real emails and following them like a person would."""

from __future__ import annotations

import re
from email.message import Message

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.helpers import csrf_from

_DO = re.compile(r"https?://[^/\s]+(/do/[A-Za-z0-9_\-]+)")


def body_of(email: Message) -> str:
    payload = email.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def do_paths(email: Message) -> list[str]:
    """Every one-click link in the email, as paths for the test client."""
    return _DO.findall(body_of(email))


def follow(client: FlaskClient, path: str) -> TestResponse:
    """Open the link (GET), then press its one button (POST), without signing in."""
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:2000]
    return client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)
