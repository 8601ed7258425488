"""Plain-English error pages, and nothing half-saved when a request fails."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.extensions import db
from tests.factories import UserFactory
from tests.helpers import sign_in


@pytest.fixture
def broken_page(app):
    """Make one page fail half-way through, as a bug would, without propagating to the test."""
    original = app.view_functions["pages.privacy"]

    def boom():
        db.session.add(
            User(
                email="half@example.org", display_name="x", password_hash="!", usage_intent="holder"
            )
        )
        db.session.flush()
        raise RuntimeError("a bug")

    app.view_functions["pages.privacy"] = boom
    app.config["PROPAGATE_EXCEPTIONS"] = False
    yield
    app.view_functions["pages.privacy"] = original
    app.config["PROPAGATE_EXCEPTIONS"] = None


def test_server_error_page_is_plain_and_rolls_back(client, db_session, broken_page):
    response = client.get("/privacy")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Sorry, there is a problem with the service" in html
    assert "Traceback" not in html
    assert db_session.scalars(select(User).where(User.email == "half@example.org")).first() is None


def test_not_found_and_forbidden_pages(client):
    assert "Page not found" in client.get("/no-such-page").get_data(as_text=True)
    sign_in(client, UserFactory())
    response = client.get("/admin/audit")
    assert response.status_code == 403
    assert "You cannot see this page" in response.get_data(as_text=True)
