"""Carer invitations by email, organisation approval and "Your data", through HTTP."""

from __future__ import annotations

import json
import re

import pyotp
from sqlalchemy import select

from marketplace.auth.models import Role, User
from marketplace.carers.models import CarerAction, CarerGrant, GrantStatus
from marketplace.db import utcnow
from marketplace.organisations.models import ApprovalStatus, Organisation
from tests.factories import PASSWORD, CouncilFactory, UserFactory
from tests.helpers import post, sign_in

INVITE = re.compile(r"http://localhost(/carer/invitation/\S+)")


def test_holder_invites_carer_who_accepts_and_actions_are_shown(app, client, mailbox, db_session):
    holder = UserFactory(email="holder@example.org", display_name="Robin", roles=["holder"])
    carer_user = UserFactory(email="carer@example.org", display_name="Pat")
    sign_in(client, holder)
    response = post(
        client, "/account/carers", {"email": "carer@example.org", "scopes": ["view", "pools"]}
    )
    assert response.status_code == 302
    message = mailbox.last_to("carer@example.org")
    assert "Robin has asked you to help them" in message["Subject"]
    path = INVITE.search(message.get_payload(decode=True).decode()).group(1)

    carer = app.test_client()
    sign_in(carer, carer_user)
    assert "Help Robin" in carer.get(path).get_data(as_text=True)
    assert post(carer, path).status_code == 302
    notice = mailbox.last_to("holder@example.org", "Someone can now act for you as a carer")
    body = notice.get_payload(decode=True).decode()
    assert "Pat accepted your invitation to act for you as a carer on " in body
    assert "under Manage carer access on your account page" in body
    page = carer.get(f"/carer/people/{holder.id}")
    assert page.status_code == 200

    html = client.get("/account/carers").get_data(as_text=True)
    assert "Looked at your account summary – by Pat for you" in html
    grant = db_session.scalars(select(CarerGrant)).one()
    assert grant.status == GrantStatus.ACTIVE.value

    post(client, f"/account/carers/{grant.id}/revoke", token_from="/account/carers")
    assert carer.get(f"/carer/people/{holder.id}").status_code == 403
    assert db_session.scalars(select(CarerAction)).all()


def test_invitation_cannot_be_accepted_by_another_account(app, client, mailbox):
    holder = UserFactory(email="holder@example.org")
    sign_in(client, holder)
    post(client, "/account/carers", {"email": "carer@example.org", "scopes": ["view"]})
    path = INVITE.search(
        mailbox.last_to("carer@example.org").get_payload(decode=True).decode()
    ).group(1)
    intruder = app.test_client()
    sign_in(intruder, UserFactory(email="intruder@example.org"))
    response = post(intruder, path)
    assert "sent to a different email address" in response.get_data(as_text=True)


def test_invite_without_scopes_shows_error(client):
    sign_in(client, UserFactory())
    response = post(client, "/account/carers", {"email": "carer@example.org"})
    assert "Select at least one thing they may do" in response.get_data(as_text=True)


def test_organisation_registered_then_approved_by_admin(app, client, db_session):
    council = CouncilFactory(name="Leeds")
    owner = UserFactory(email="owner@example.org", usage_intent="ulo")
    sign_in(client, owner)
    response = post(
        client,
        "/organisations/new",
        {
            "kind": "ulo",
            "name": "Leeds Peer Voices",
            "description": "Peer support in Leeds",
            "council_ids": [str(council.id)],
            "website": "not a url",
        },
    )
    assert "Enter a web address like" in response.get_data(as_text=True)
    response = post(
        client,
        "/organisations/new",
        {
            "kind": "ulo",
            "name": "Leeds Peer Voices",
            "description": "Peer support in Leeds",
            "council_ids": [str(council.id)],
        },
    )
    assert response.status_code == 302
    org = db_session.scalars(select(Organisation)).one()
    assert org.status == ApprovalStatus.PENDING.value
    assert app.test_client().get(f"/organisations/{org.id}").status_code == 404

    admin = UserFactory(
        roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
    )
    admin_client = app.test_client()
    sign_in(admin_client, admin)
    path = f"/admin/organisations/{org.id}"
    response = post(admin_client, path, {"decision": "reject"})
    assert "Say why the organisation is not approved" in response.get_data(as_text=True)
    assert post(admin_client, path, {"decision": "approve"}).status_code == 302
    db_session.expire_all()
    assert db_session.get(User, owner.id).has_role(Role.ULO_STAFF)
    assert app.test_client().get(f"/organisations/{org.id}").status_code == 200
    assert "organisation.approved" in admin_client.get("/admin/audit").get_data(as_text=True)


def test_your_data_download_and_delete(client, db_session):
    user = UserFactory(email="me@example.org", support_needs="private note")
    sign_in(client, user)
    response = client.get("/account/your-data/download")
    assert response.headers["Content-Disposition"] == "attachment; filename=my-data.json"
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["support_needs"] == "private note"

    page = " ".join(client.get("/account/delete").get_data(as_text=True).split())
    # Said before the choice; tests/engagement/test_services.py checks both ways happen.
    assert (
        "they will show &#34;Former member&#34;, and your name is taken out of providers&#39; "
        "replies to you"
        in page
        or 'they will show "Former member", and your name is taken out '
        "of providers' replies to you"
        in page
    )
    assert "Delete my reviews and my messages to providers" in page
    unchosen = post(client, "/account/delete", {"password": PASSWORD})
    assert "Choose what should happen to your reviews and messages" in unchosen.get_data(
        as_text=True
    )
    wrong = post(
        client, "/account/delete", {"password": "not my password", "contributions": "keep"}
    )
    assert "Your password is not right" in wrong.get_data(as_text=True)
    response = post(client, "/account/delete", {"password": PASSWORD, "contributions": "keep"})
    assert response.status_code == 302
    assert client.get("/account").status_code == 302
    db_session.expire_all()
    erased = db_session.get(User, user.id)
    assert erased.erased_at is not None
    assert erased.support_needs is None
