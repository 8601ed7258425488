"""Safeguarding pages through the client: the guidance and council contact on an urgent item,
the navigation count, release and take-over buttons, and recording a council's contact."""

from __future__ import annotations

from datetime import timedelta

import pyotp

from marketplace.db import utcnow
from marketplace.moderation import safeguarding
from marketplace.moderation import services as moderation
from marketplace.moderation.models import ModerationItem
from tests.factories import CouncilFactory, UserFactory
from tests.helpers import post, sign_in
from tests.listing_helpers import ulo_moderator
from tests.moderation.reporting import pool_message, published_listing
from tests.moderation.test_safeguarding import concern_item, report_item


def commit(app, db_session):
    """Commit the test's setup: the alert emails it sends read the app's config."""
    with app.app_context():
        db_session.commit()


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def admin_user():
    return UserFactory(roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow())


def test_an_urgent_item_shows_when_to_call_999_and_the_councils_contact(
    app, db_session, council, moderator
):
    item = concern_item(db_session, council, moderator)
    message = pool_message(db_session, council, moderator)
    ordinary = report_item(db_session, "pool_message", message.id, "spam")
    commit(app, db_session)
    client = signed_in(app, moderator)
    page = text(client.get(f"/moderation/items/{item.id}"))
    assert "call 999 now" in page
    assert "Refer to the council's adult safeguarding team when" in page
    assert "Nobody has recorded this council's adult safeguarding contact yet" in page
    safeguarding.record(
        db_session,
        moderator,
        council.code,
        safeguarding.ContactData(
            "0114 273 4908", "sg@council.example", "Mon-Fri 9-5", "EDT 0114 273 4000"
        ),
    )
    commit(app, db_session)
    page = text(client.get(f"/moderation/items/{item.id}"))
    assert f"Adult safeguarding: {council.name}" in page
    for words in ("0114 273 4908", "sg@council.example", "Mon-Fri 9-5", "EDT 0114 273 4000"):
        assert words in page
    ordinary_page = text(client.get(f"/moderation/items/{ordinary.id}"))
    assert "call 999 now" not in ordinary_page and "If someone may be at risk" not in ordinary_page


def test_the_navigation_shows_moderators_how_much_is_waiting(app, db_session, council, moderator):
    concern_item(db_session, council, moderator)
    message = pool_message(db_session, council, moderator)
    report_item(db_session, "pool_message", message.id, "spam")
    commit(app, db_session)
    page = text(signed_in(app, moderator).get("/"))
    assert "Moderation: 2 waiting, <strong>1 urgent</strong>" in page
    holder = UserFactory()
    commit(app, db_session)
    assert "Moderation:" not in text(signed_in(app, holder).get("/"))


def test_claim_release_and_take_over_through_the_pages(
    app, db_session, council, moderator, mailbox
):
    item = concern_item(db_session, council, moderator)
    boss = admin_user()
    commit(app, db_session)
    page = f"/moderation/items/{item.id}"
    first = signed_in(app, moderator)
    post(first, f"{page}/claim", token_from=page)
    shown = text(first.get(page))
    assert "You are dealing with this. If you decide nothing, your claim lapses at" in shown
    assert "keeps it for another 2 hours" in shown
    post(first, f"{page}/release", token_from=page)
    db_session.expire_all()
    assert db_session.get(ModerationItem, item.id).claimed_by_id is None
    assert "gave it back to the queue" in text(first.get(page))
    post(first, f"{page}/claim", token_from=page)

    second = signed_in(app, boss)
    shown = text(second.get(page))
    assert f"{moderator.display_name} is dealing with this" in shown
    form_page = text(second.get(f"{page}/take-over"))
    assert "If you take it over, they are emailed to say so and you can decide it." in form_page
    assert "Your reason is kept in the audit log and shown on this page." in form_page
    assert 'name="decision"' not in shown  # no decision form while someone else holds it
    response = post(second, f"{page}/take-over", {"reason": ""})
    assert response.status_code == 200
    assert "Say why you are taking this over" in text(response)
    response = post(second, f"{page}/take-over", {"reason": "Off sick today"})
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(ModerationItem, item.id).claimed_by_id == boss.id
    mailbox.last_to(moderator.email, "Someone else is now dealing with a moderation item")
    shown = text(second.get(page))
    assert f"took it over from {moderator.display_name}. Reason: Off sick today" in shown
    assert 'name="decision"' in shown


def test_a_lapsed_claim_shows_nobody_dealing_with_it(app, db_session, council, moderator):
    item = concern_item(db_session, council, moderator)
    moderation.claim(db_session, moderator, item, now=utcnow() - timedelta(hours=2, minutes=1))
    commit(app, db_session)
    page = text(signed_in(app, ulo_moderator(council)).get(f"/moderation/items/{item.id}"))
    assert "Nobody is dealing with this yet" in page


def test_take_over_and_release_are_404_for_other_areas(app, db_session, council, moderator):
    item = concern_item(db_session, council, moderator)
    outsider = ulo_moderator(CouncilFactory())
    commit(app, db_session)
    client = signed_in(app, outsider)
    assert client.get(f"/moderation/items/{item.id}/take-over").status_code == 404
    token_page = "/moderation"
    assert (
        post(client, f"/moderation/items/{item.id}/release", token_from=token_page).status_code
        == 404
    )


def test_recording_a_council_contact_through_the_form(app, db_session, council, moderator):
    other = CouncilFactory()
    commit(app, db_session)
    client = signed_in(app, moderator)
    listing = text(client.get("/moderation/safeguarding-contacts"))
    assert council.name in listing and other.name not in listing
    path = f"/moderation/safeguarding-contacts/{council.code}"
    response = post(client, path, {"phone": "ring us", "email": "x@y.example", "hours": "9-5"})
    assert response.status_code == 200
    assert "Enter a phone number, like 0114 273 4908" in text(response)
    response = post(
        client, path, {"phone": "0114 273 4908", "email": "sg@council.example", "hours": "9-5"}
    )
    assert response.status_code == 302
    assert "sg@council.example" in text(client.get("/moderation/safeguarding-contacts"))
    assert client.get(f"/moderation/safeguarding-contacts/{other.code}").status_code == 404
    admin_client = signed_in(app, admin_user())
    assert admin_client.get(f"/moderation/safeguarding-contacts/{other.code}").status_code == 200


def test_the_report_form_says_who_is_told_at_once(app, db_session, council, moderator):
    listing, _ = published_listing(db_session, council, moderator)
    member = UserFactory()
    commit(app, db_session)
    page = text(signed_in(app, member).get(f"/report/listing/{listing.id}"))
    assert "or illegal content if it breaks the law. A moderator is told at once" in page
    assert "never someone from an organisation the report is about" in page
    assert "Illegal content (for example selling drugs, fraud, threats or hate)" in page


def test_a_lapsed_claim_no_longer_opens_the_pairings_conversation(
    app, db_session, council, moderator
):
    item = concern_item(db_session, council, moderator)
    moderation.claim(db_session, moderator, item, now=utcnow() - timedelta(hours=2, minutes=1))
    commit(app, db_session)
    client = signed_in(app, moderator)
    page = text(client.get(f"/moderation/items/{item.id}"))
    assert "Read the pairing's conversation" not in page
    assert "say you will deal with this first" in page
    assert client.get(f"/buddies/concerns/{item.id}/conversation").status_code == 404


def test_an_urgent_report_says_to_deal_with_it_first_and_is_first(
    app, db_session, council, moderator
):
    message = pool_message(db_session, council, moderator)
    ordinary = report_item(db_session, "pool_message", message.id, "spam")
    other = pool_message(db_session, council, moderator, body="Another message")
    illegal = report_item(db_session, "pool_message", other.id, "illegal")
    commit(app, db_session)
    client = signed_in(app, moderator)
    page = text(client.get(f"/moderation/items/{illegal.id}"))
    assert "Someone may be at risk, or it may break the law: deal with it first" in page
    assert "deal with it first" not in text(client.get(f"/moderation/items/{ordinary.id}"))
    assert [row.item.id for row in moderation.queue_rows(db_session, moderator)][0] == illegal.id
