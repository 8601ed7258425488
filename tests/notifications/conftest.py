"""Notification tests use the shared fixtures (tests/conftest.py).

`ctx` gives service-level tests an app context. HTTP tests that sign in must not use it: the
test client's requests would share its `g`, and with it a CSRF token cached before sign-in
started a fresh session.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
