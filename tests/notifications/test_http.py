"""The email choices page, through the test client."""

from __future__ import annotations

from marketplace.notifications import preferences
from marketplace.notifications.models import Frequency
from tests.factories import UserFactory
from tests.helpers import post, sign_in
from tests.notifications.helpers import text


def test_the_email_page_saves_the_choice(app, db_session):
    person = UserFactory()
    client = app.test_client()
    sign_in(client, person)
    page = client.get("/account/emails")
    assert page.status_code == 200 and "How we email you" in text(page)
    empty = post(client, "/account/emails", {})
    assert empty.status_code == 200 and "Choose how often we email you" in text(empty)
    response = post(client, "/account/emails", {"frequency": "weekly_digest"})
    assert response.status_code == 302
    assert preferences.frequency_of(db_session, person.id) is Frequency.WEEKLY_DIGEST
    assert "How we email you" in text(client.get("/account"))
