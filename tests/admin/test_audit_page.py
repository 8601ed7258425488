"""/admin/audit names people and links subjects that have a page, instead of bare numbers."""

from __future__ import annotations

import pyotp

from marketplace import audit
from marketplace.db import utcnow
from tests.factories import UserFactory
from tests.helpers import sign_in
from tests.moderation.reporting import published_listing


def test_people_by_name_and_subjects_linked(app, db_session, council, moderator):
    listing, staff = published_listing(db_session, council, moderator)
    actor = UserFactory(display_name="Priya Shah")
    audit.record(db_session, actor.id, "test.looked", "listing", listing.id)
    audit.record(db_session, None, "test.job", "thing", 7)
    admin = UserFactory(
        roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
    )
    db_session.commit()
    client = app.test_client()
    sign_in(client, admin)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert f"Priya Shah (#{actor.id})" in page
    assert f'href="/services/{listing.id}">listing: {listing.name}</a>' in page
    assert "system" in page and "thing 7" in page


def test_queue_items_and_councils_are_named(app, db_session, council, moderator):
    from tests.moderation.test_safeguarding import concern_item

    with app.app_context():
        item = concern_item(db_session, council, moderator)
        audit.record(db_session, moderator.id, "test.claimed", "moderation_item", item.id)
        audit.record(db_session, moderator.id, "test.contact", "council", council.id)
        admin = UserFactory(
            roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
        )
        db_session.commit()
    client = app.test_client()
    sign_in(client, admin)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert f'href="/moderation/items/{item.id}">moderation_item: {item.summary}</a>' in page
    assert f"council: {council.name}" in page
