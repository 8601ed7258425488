"""The receipt pages through the test client, for every role: anonymous, the payer, another
holder, a carer whose grant covers the money, a carer whose grant does not, ULO staff, provider
staff and an admin (for support, audited). The page's sentences are the receipt's own rows."""

from __future__ import annotations

import html
import re

import pyotp
import pytest
from sqlalchemy import select

from marketplace import audit
from marketplace.auth.models import User
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.payments.gateway import get_gateway
from marketplace.pools.models import Pool
from marketplace.receipts import jobs, services
from marketplace.receipts.models import Receipt
from marketplace.web.template_globals import format_date
from tests.commitments.builders import carer_of
from tests.factories import UserFactory
from tests.helpers import sign_in
from tests.receipts.conftest import (
    PROVIDER_ADDRESS,
    PROVIDER_NAME,
    captured_pool,
    paid_invoice,
    post_event,
)


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def shown(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">(.*?)</(?:dd|p|div)>', page, re.S)
    assert match, f"no #{element_id} on the page"
    return html.unescape(match.group(1)).strip()


@pytest.fixture
def issued(app, db_session, stripe_clean, council, moderator, provider):
    """A captured pool share's receipt: (receipt, payer, the pool). Each request must get an
    app context of its own (flask-login and flask-wtf keep the signed-in user and the CSRF
    token in `g`), so none is left open, and everything is committed before it is left."""
    payer = UserFactory(display_name="Hana Holder")
    with app.app_context():
        pool, _members = captured_pool(
            db_session, get_gateway(), council, moderator, provider, people=[payer, None, None]
        )
        jobs.issue_due(db_session)
        ids = payer.id, pool.id
    # Leaving the app context removed the test's session; the test goes on with its successor.
    session = db.scoped()
    receipt = session.scalars(select(Receipt).where(Receipt.user_id == ids[0])).one()
    return receipt, session.get(User, ids[0]), session.get(Pool, ids[1])


@pytest.fixture
def session(issued):
    """The test's session once `issued` has left its app context."""
    return db.scoped()


def admin_user(second_factor=True):
    extra = (
        {"totp_secret": pyotp.random_base32(), "totp_enabled_at": utcnow()} if second_factor else {}
    )
    return UserFactory(roles=["admin"], **extra)


def test_anonymous_people_are_asked_to_sign_in(client, issued):
    receipt, _payer, _pool = issued
    for path in ("/receipts", f"/receipts/{receipt.number}"):
        response = client.get(path)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_the_payer_sees_a_receipt_whose_sentences_are_its_rows(app, session, issued):
    receipt, payer, pool = issued
    client = signed_in(app, payer)
    listing = text(client.get("/receipts"))
    assert f'href="/receipts/{receipt.number}"' in listing
    assert services.READY_WITHIN in html.unescape(listing)
    page = text(client.get(f"/receipts/{receipt.number}"))
    assert f"Receipt {receipt.number}</h1>" in page
    assert shown(page, "number") == receipt.number
    assert shown(page, "amount") == "£30" and receipt.amount_pence == 3000
    assert shown(page, "paid-on") == format_date(receipt.paid_at)
    assert shown(page, "payer") == "Hana Holder"
    assert shown(page, "what-for") == f"Your share of {pool.title}, month 1"
    assert shown(page, "period") == (
        f"{format_date(receipt.period_start)} to {format_date(receipt.period_end)}"
    )
    assert shown(page, "provider-name") == PROVIDER_NAME
    assert shown(page, "provider-address") == PROVIDER_ADDRESS
    assert shown(page, "paid-by") == "Card (Visa ending 4242)"
    assert shown(page, "seller-name") == app.config["SELLER_NAME"]
    assert shown(page, "seller-address") == app.config["SELLER_ADDRESS"]
    assert shown(page, "seller-words") == (
        f"{app.config['SELLER_NAME']} is the seller of record: it took this payment, and "
        f"{PROVIDER_NAME} provides the service."
    )
    assert 'media="print"' in page and "/static/css/receipt-print." in page  # hashed name
    assert "<script" not in page.split('id="main-content"')[1]  # no JS on the receipt itself
    with client.get("/static/css/receipt-print.css") as sheet:
        assert sheet.status_code == 200 and b"@media" not in sheet.data  # linked media="print"
    assert audit.entries_for(session, services.SUBJECT_TYPE, receipt.id) == []


def test_the_receipts_list_is_newest_first_and_linked_from_commitments(
    app, client, db_session, fee_member, issued
):
    receipt, payer, _pool = issued
    page = text(signed_in(app, payer).get("/commitments"))
    assert 'href="/receipts"' in page
    # The fee member's two fees: the later one first.
    for name in ("a", "b"):
        post_event(
            app, client, f"evt_{name}", "invoice.payment_succeeded", paid_invoice(f"in_{name}")
        )
        with app.app_context():
            jobs.issue_due(db.scoped())
    session = db.scoped()
    first, second = session.scalars(
        select(Receipt).where(Receipt.user_id == fee_member.id).order_by(Receipt.id)
    ).all()
    listing = text(signed_in(app, fee_member).get("/receipts"))
    assert listing.index(second.number) < listing.index(first.number)
    assert receipt.number not in listing  # someone else's


def test_a_refund_is_said_on_the_receipt(app, session, issued):
    from marketplace.payments import services as payments

    receipt, payer, _pool = issued
    with app.app_context():
        payments.refund_charge(db.scoped(), receipt.charge, gateway=get_gateway())
    page = text(signed_in(app, payer).get(f"/receipts/{receipt.number}"))
    assert shown(page, "refunded") == f"Refunded in full on {format_date(utcnow())}."
    assert shown(page, "amount") == "£30"  # the receipt still says what was paid


@pytest.mark.parametrize("who", ["other_holder", "ulo_staff", "provider_staff"])
def test_nobody_else_can_see_a_receipt(app, session, issued, provider, moderator, who):
    receipt, payer, _pool = issued
    viewer = {
        "other_holder": lambda: UserFactory(),
        "ulo_staff": lambda: moderator,
        "provider_staff": lambda: provider[0],
    }[who]()
    session.commit()
    client = signed_in(app, viewer)
    assert client.get(f"/receipts/{receipt.number}").status_code == 404
    assert client.get(f"/receipts?for_whom={payer.id}").status_code == 404
    assert receipt.number not in text(client.get("/receipts"))
    assert client.get("/receipts/R-2026-999999").status_code == 404


def test_a_carer_with_the_pools_grant_sees_the_receipt_and_the_look_is_recorded(
    app, session, issued
):
    receipt, payer, _pool = issued
    carer = carer_of(session, payer, scopes=(CarerScope.POOLS,))
    session.commit()
    client = signed_in(app, carer)
    own = text(client.get("/receipts"))
    assert "Whose receipts do you want to see?" in own and "Hana Holder" in own
    listing = text(client.get(f"/receipts?for_whom={payer.id}"))
    assert "Hana Holder's receipts</h1>" in html.unescape(listing)
    assert f'href="/receipts/{receipt.number}"' in listing
    page = client.get(f"/receipts/{receipt.number}")
    assert page.status_code == 200
    assert shown(text(page), "amount") == "£30"
    described = [a.description for a in carers.actions_for_holder(session, payer)]
    assert "Looked at your receipts" in described
    assert f"Looked at your receipt {receipt.number}" in described


@pytest.mark.parametrize("scopes", [(CarerScope.VIEW,), (CarerScope.MEMBERSHIPS,)])
def test_a_carer_whose_grant_does_not_cover_pool_money_gets_404(app, session, issued, scopes):
    receipt, payer, _pool = issued
    carer = carer_of(session, payer, scopes=scopes)
    session.commit()
    client = signed_in(app, carer)
    assert client.get(f"/receipts/{receipt.number}").status_code == 404
    listing = client.get(f"/receipts?for_whom={payer.id}")
    if scopes == (CarerScope.MEMBERSHIPS,):
        # The grant covers fees: the list opens, without the pool share's receipt.
        assert listing.status_code == 200 and receipt.number not in text(listing)
    else:
        assert listing.status_code == 404
    assert f"Looked at your receipt {receipt.number}" not in [
        a.description for a in carers.actions_for_holder(session, payer)
    ]


def test_a_revoked_grant_stops_working_at_once(app, session, issued):
    receipt, payer, _pool = issued
    carer = carer_of(session, payer, scopes=(CarerScope.POOLS,))
    (grant,) = carers.grants_given(session, payer)
    carers.revoke(session, payer, grant.id)
    session.commit()
    client = signed_in(app, carer)
    assert client.get(f"/receipts/{receipt.number}").status_code == 404
    assert client.get(f"/receipts?for_whom={payer.id}").status_code == 404


def test_an_admin_sees_a_receipt_for_support_and_it_is_audited(app, session, issued):
    receipt, payer, _pool = issued
    admin = admin_user()
    session.commit()
    client = signed_in(app, admin)
    page = client.get(f"/receipts/{receipt.number}")
    assert page.status_code == 200
    assert "You are seeing this receipt for support" in text(page)
    (entry,) = audit.entries_for(session, services.SUBJECT_TYPE, receipt.id)
    assert (entry.actor_id, entry.action) == (admin.id, services.AUDIT_VIEWED)
    # Support is one receipt at a time: an admin cannot list someone's receipts.
    assert client.get(f"/receipts?for_whom={payer.id}").status_code == 404


def test_an_admin_without_a_second_factor_is_sent_to_set_one_up_and_nothing_is_shown(
    app, session, issued
):
    receipt, _payer, _pool = issued
    admin = admin_user(second_factor=False)
    session.commit()
    response = signed_in(app, admin).get(f"/receipts/{receipt.number}")
    assert response.status_code == 302 and "two-factor" in response.headers["Location"]
    assert audit.entries_for(session, services.SUBJECT_TYPE, receipt.id) == []


@pytest.mark.parametrize("value", ["abc", "-1", "1.5"])
def test_a_bad_choice_is_404_not_a_500(app, session, issued, value):
    _receipt, payer, _pool = issued
    assert signed_in(app, payer).get(f"/receipts?for_whom={value}").status_code == 404
