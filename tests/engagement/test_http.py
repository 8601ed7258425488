"""Shortlists, enquiries and reviews through HTTP, with emails through the real SMTP test server."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from marketplace.engagement.models import Enquiry, Review, ShortlistEntry
from marketplace.moderation import services as moderation
from marketplace.providers import services as providers
from marketplace.providers.models import ListingStatus
from tests.factories import UserFactory
from tests.helpers import csrf_token, post, sign_in
from tests.listing_helpers import listing_data, provider_with_staff, ulo_moderator

LINK = re.compile(r"http://localhost(/enquiries/\d+)")


@pytest.fixture
def world(db_session):
    org, staff, council = provider_with_staff(name="Calm Minds")
    listing = providers.create_listing(db_session, staff, org, listing_data(db_session, council))
    listing.status = ListingStatus.PUBLISHED.value
    holder = UserFactory(email="robin@example.org", display_name="Robin")
    moderator = ulo_moderator(council)
    db_session.commit()
    return SimpleNamespace(org=org, staff=staff, listing=listing, holder=holder, mod=moderator)


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_holder_shortlists_a_service_and_removes_it(client, db_session, world):
    service = f"/services/{world.listing.id}"
    assert "Sign in</a> to save this service" in page(client, service)
    sign_in(client, world.holder)
    assert "Add to your shortlist" in page(client, service)
    response = post(client, f"{service}/shortlist", {"next": service}, token_from=service)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(service)
    html = page(client, service)
    assert "Peer support group is on your shortlist" in html
    assert "Remove from your shortlist" in html
    assert "Peer support group" in page(client, "/shortlist")
    post(client, f"{service}/shortlist/remove", {"next": "/shortlist"}, token_from="/shortlist")
    assert "Nothing saved yet" in page(client, "/shortlist")


def test_state_changes_need_a_csrf_token(client, db_session, world):
    sign_in(client, world.holder)
    assert client.post(f"/services/{world.listing.id}/shortlist").status_code == 400
    response = client.post(
        f"/services/{world.listing.id}/enquire", data={"subject": "Hi", "body": "Hello"}
    )
    assert response.status_code == 400
    assert db_session.scalars(select(ShortlistEntry)).all() == []
    assert db_session.scalars(select(Enquiry)).all() == []


def test_visitors_are_sent_to_sign_in(client, world):
    for path in ("/shortlist", "/enquiries", f"/services/{world.listing.id}/enquire"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/sign-in" in response.headers["Location"]


def test_enquiry_thread_between_holder_and_provider(app, client, db_session, world, mailbox):
    enquire = f"/services/{world.listing.id}/enquire"
    sign_in(client, world.holder)
    html = page(client, enquire)
    assert "Who is this for?" not in html  # only carers choose
    response = post(client, enquire, {"subject": "Tuesday places", "body": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter your message" in html
    assert "Choose who this is for" not in html
    assert 'value="Tuesday places"' in html  # what was typed is kept
    body = "Do you have places?\n<script>alert(1)</script>"
    response = post(client, enquire, {"subject": "Tuesday places", "body": body})
    assert response.status_code == 302
    thread = response.headers["Location"]

    email = mailbox.last_to(world.staff.email)
    text = email.get_payload(decode=True).decode()
    assert LINK.search(text).group(1) == thread
    assert "places" not in text

    provider = app.test_client()
    sign_in(provider, world.staff)
    assert "Tuesday places" in page(provider, "/enquiries")
    html = page(provider, thread)
    assert "Robin" in html
    assert "robin@example.org" not in html
    assert '<p class="govuk-body app-preserve-lines">Do you have places?\n&lt;script&gt;' in html
    assert "<script>alert" not in html
    response = post(provider, thread, {"body": "Yes.\nSee you Tuesday."})
    assert response.status_code == 302
    reply_email = mailbox.last_to("robin@example.org")
    assert LINK.search(reply_email.get_payload(decode=True).decode()).group(1) == thread

    html = page(client, thread)
    assert "Yes.\nSee you Tuesday." in html
    assert "Calm Minds" in html
    assert world.staff.email not in html
    assert "Waiting for your reply" in page(client, "/enquiries")  # the provider answered
    assert "Waiting for them" in page(provider, "/enquiries")

    post(client, f"{thread}/close", token_from=thread)
    html = page(client, thread)
    assert "This conversation was closed" in html
    assert "Send reply" not in html


def test_reply_form_errors_are_shown_beside_the_field(client, db_session, world):
    sign_in(client, world.holder)
    response = post(
        client, f"/services/{world.listing.id}/enquire", {"subject": "Hi", "body": "Hello"}
    )
    thread = response.headers["Location"]
    html = post(client, thread, {"body": "x" * 5001}).get_data(as_text=True)
    assert "There is a problem" in html
    assert "Your reply must be 5000 characters or fewer" in html
    assert "Error: Hi" in html


def test_outsiders_get_404_for_a_thread(app, client, db_session, world):
    sign_in(client, world.holder)
    response = post(
        client, f"/services/{world.listing.id}/enquire", {"subject": "Hi", "body": "Private"}
    )
    thread = response.headers["Location"]
    _, other_staff, _ = provider_with_staff()
    db_session.commit()
    for person in (UserFactory(), other_staff):
        outsider = app.test_client()
        sign_in(outsider, person)
        assert outsider.get(thread).status_code == 404
        token = csrf_token(outsider, "/enquiries")
        assert outsider.post(thread, data={"body": "Hi", "csrf_token": token}).status_code == 404
        assert outsider.post(f"{thread}/close", data={"csrf_token": token}).status_code == 404
        assert "Private" not in page(outsider, "/enquiries")
    assert app.test_client().get("/enquiries/999999").status_code == 302  # visitors: sign in


def test_review_is_moderated_then_shown_with_the_provider_reply(app, client, db_session, world):
    service = f"/services/{world.listing.id}"
    sign_in(client, world.holder)
    html = page(client, f"{service}/review")
    assert "You can review services you have been in touch with" in html
    post(client, f"{service}/enquire", {"subject": "Hi", "body": "Hello"})

    response = post(client, f"{service}/review", {"body": "Kind and on time"})
    html = response.get_data(as_text=True)
    assert re.search(r"<legend[^>]*>\s*How would you rate this service\?\s*</legend>", html)
    assert "Choose a rating from 1 to 5" in html
    assert "Kind and on time" in html
    response = post(client, f"{service}/review", {"rating": "4", "body": "Kind and on time"})
    assert response.status_code == 302
    html = page(client, service)
    assert "Your review is waiting for a moderator" in html
    assert "No reviews yet" in html

    mod = app.test_client()
    sign_in(mod, world.mod)
    review = db_session.scalars(select(Review)).one()
    [item] = moderation.open_entries_for(db_session, "review", review.id)
    assert post(mod, f"/moderation/items/{item.id}", {"decision": "approve"}).status_code == 302
    html = page(app.test_client(), service)
    assert "4.0 out of 5</strong> on average, from 1 review." in html
    assert "Kind and on time" in html

    provider = app.test_client()
    sign_in(provider, world.staff)
    assert "Reply to this review" in page(provider, service)
    reply_path = f"/reviews/{review.id}/reply"
    html = post(provider, reply_path, {"body": ""}).get_data(as_text=True)
    assert "Write your reply" in html
    assert post(provider, reply_path, {"body": "Thank you, Robin"}).status_code == 302
    assert "waiting for a moderator" in page(provider, service)
    db_session.expire_all()
    [item] = moderation.open_entries_for(db_session, "review_reply", review.reply.id)
    post(mod, f"/moderation/items/{item.id}", {"decision": "approve"})
    html = page(app.test_client(), service)
    assert "Reply from Calm Minds" in html
    assert "Thank you, Robin" in html
    # Once is enough: the reply page sends staff back to the service.
    assert provider.get(reply_path).status_code == 302
    assert client.get(reply_path).status_code == 404  # not staff


def test_rejected_review_shows_the_reason_to_its_author(app, client, db_session, world):
    service = f"/services/{world.listing.id}"
    sign_in(client, world.holder)
    post(client, f"{service}/enquire", {"subject": "Hi", "body": "Hello"})
    post(client, f"{service}/review", {"rating": "1", "body": "Awful people"})
    review = db_session.scalars(select(Review)).one()
    [item] = moderation.open_entries_for(db_session, "review", review.id)
    mod = app.test_client()
    sign_in(mod, world.mod)
    post(mod, f"/moderation/items/{item.id}", {"decision": "reject", "reason": "Say what happened"})
    html = page(client, service)
    assert "Your review was not published" in html
    assert "Say what happened" in html
    assert "Say what happened" not in page(app.test_client(), service)
    html = page(client, f"{service}/review")
    assert "Awful people" in html  # the form keeps the text to fix


def test_carer_shortlists_and_enquires_for_a_holder(app, client, db_session, world):
    from marketplace.carers import services as carers
    from marketplace.carers.models import CarerScope

    carer = UserFactory(display_name="Pat")
    _, token = carers.invite_carer(
        db_session, world.holder, carer.email, [CarerScope.VIEW, CarerScope.SERVICES], 3600
    )
    carers.accept_invitation(db_session, carer, token)
    db_session.commit()
    service = f"/services/{world.listing.id}"
    sign_in(client, carer)
    assert "Add to Robin&#39;s shortlist" in page(client, service)
    post(
        client,
        f"{service}/shortlist",
        {"next": service, "for_holder": str(world.holder.id)},
        token_from=service,
    )
    html = page(client, "/shortlist")
    assert "Robin&#39;s shortlist" in html
    assert "Nothing saved yet" in html  # the carer's own list is untouched

    legend = re.compile(r"<legend[^>]*>\s*Who is this for\?\s*</legend>")
    assert legend.search(page(client, f"{service}/enquire"))
    html = post(
        client, f"{service}/enquire", {"for_whom": "999999", "subject": "Hi", "body": "Hello"}
    ).get_data(as_text=True)
    assert "Choose who this is for" in html
    response = post(
        client,
        f"{service}/enquire",
        {"for_whom": str(world.holder.id), "subject": "For Robin", "body": "Hello"},
    )
    assert response.status_code == 302
    assert "sent by Pat who helps them" in page(client, response.headers["Location"])

    holder = app.test_client()
    sign_in(holder, world.holder)
    html = page(holder, "/account/carers")
    assert "Shortlisted Peer support group – by Pat for you" in html
    assert "Sent an enquiry about Peer support group – by Pat for you" in html
    assert "For Robin" in page(holder, "/enquiries")


def test_a_shortlist_prints_and_shares_as_a_link_without_account_data(
    app, client, db_session, world
):
    other = providers.create_listing(
        db_session,
        world.staff,
        world.org,
        listing_data(db_session, world.listing.councils[0], name="Walking group"),
    )
    other.status = ListingStatus.PUBLISHED.value
    db_session.commit()
    sign_in(client, world.holder)
    for listing_id in (world.listing.id, other.id):
        service = f"/services/{listing_id}"
        post(client, f"{service}/shortlist", {"next": service}, token_from=service)
    html = page(client, "/shortlist")
    assert (
        "a page anyone with the link can open, showing the services only, not your name or "
        "account." in html
    )
    link = re.search(r'href="(/services/list\?ids=[^"]+)">Print or share these services', html)
    assert link is not None, html
    shared = link.group(1).replace("%2C", ",")
    assert shared == f"/services/list?ids={other.id},{world.listing.id}"  # as the shortlist

    # Anyone with the link, signed in or not, sees the services and nothing about Robin.
    visitor = app.test_client()
    text = page(visitor, shared)
    assert "Peer support group" in text and "Walking group" in text
    assert text.index("Walking group") < text.index("Peer support group")  # the link's order
    assert "£5 per session – per person" in text
    assert "Robin" not in text and "robin@example.org" not in text
    assert "It shows the services only: nothing about who chose them." in text

    # A service no longer listed drops out; what is not an id is ignored; nothing left says so.
    db_session.get(type(other), other.id).status = ListingStatus.HIDDEN.value
    db_session.commit()
    text = page(visitor, f"/services/list?ids={other.id},{world.listing.id},x,-3,{'9' * 30}")
    assert "Walking group" not in text and "Peer support group" in text
    assert "1 service from the Budget Marketplace directory" in text
    assert "None of the services in this link are in the directory now." in page(
        visitor, f"/services/list?ids={other.id}"
    )
    assert "None of the services" in page(visitor, "/services/list")
