"""The vote-opening page and the cancel pages through the test client, for every role:
anonymous, non-member, member, proposer, carer acting with consent, ULO staff of the area and of
another area, admin. Each sentence the pages say is read here and checked against what happens."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import as_utc, utcnow
from marketplace.pools import invoices, quotes, services
from marketplace.pools.models import (
    InvoiceStatus,
    PaymentStatus,
    Pool,
    PoolPayment,
    PoolStatus,
)
from marketplace.web.template_globals import format_date, format_datetime
from tests.factories import CouncilFactory, UserFactory
from tests.helpers import post, sign_in
from tests.listing_helpers import ulo_moderator
from tests.pools.builders import approved_pool, in_days, join_by_invoice, quote, running_pool

REASON = "The tutor has moved away and nobody else can run it"


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def with_carer(db_session, holder, scope=CarerScope.POOLS):
    carer = UserFactory()
    _, token = carers.invite_carer(db_session, holder, carer.email, [scope], 3600)
    carers.accept_invitation(db_session, carer, token)
    return carer


@pytest.fixture
def cast(app, db_session, council, moderator, provider):
    """An open pool with three members and a quote, and someone in every role."""
    with app.app_context():
        pool = approved_pool(db_session, council, moderator)
        offer = quote(db_session, provider, pool)
        members = join_by_invoice(db_session, pool, 3)
        people = {
            "member": members[0],
            "proposer": pool.proposer,
            "non-member": UserFactory(),
            "carer": with_carer(db_session, members[0]),
            "proposer's carer": with_carer(db_session, pool.proposer),
            "proposer's view-only carer": with_carer(db_session, pool.proposer, CarerScope.VIEW),
            "area staff": moderator,
            "other staff": ulo_moderator(CouncilFactory()),
            "admin": UserFactory(
                roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
            ),
        }
        db_session.commit()
    return pool, offer, members, people


# --- opening a vote -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 302),
        ("non-member", 403),
        ("member", 403),
        ("proposer", 200),
        ("carer", 403),
        ("area staff", 200),
        ("other staff", 403),
        ("admin", 200),
    ],
)
def test_who_may_see_the_vote_opening_page(app, cast, role, status):
    pool, _, _, people = cast
    client = app.test_client() if role == "anonymous" else signed_in(app, people[role])
    response = client.get(f"/pools/{pool.id}/vote/open")
    assert response.status_code == status
    if role == "anonymous":
        assert "/sign-in" in response.headers["Location"]


def test_the_vote_opening_page_says_when_it_closes_and_by_when_it_must(app, db_session, cast):
    pool, _, _, people = cast
    proposer = signed_in(app, people["proposer"])
    page = text(proposer.get(f"/pools/{pool.id}/vote/open"))
    must_end_by = format_datetime(quotes.vote_must_end_by(pool))
    assert f"It must close before the pool's deadline: by {must_end_by}." in page
    assert f"The vote must close by {must_end_by}." in page
    assert "At least 2 of the 3 members must vote for it to choose a quote." in page
    assert "closes by itself at the time you choose, or as soon as every member has voted" in (page)
    assert "Nobody can close it early, not even you." in page
    # Each choice says when it would close.
    assert "1 week: closes " in page and "2 days: closes " in page
    # The pool page says by when a vote must be opened.
    pool_page = text(proposer.get(f"/pools/{pool.id}"))
    assert f"A vote must be opened by {format_datetime(quotes.open_vote_by(pool))}" in pool_page
    # And nobody closes a vote by hand: there is no such button or address.
    assert "Close the vote" not in pool_page
    assert post(proposer, f"/pools/{pool.id}/vote/close", token_from="/pools").status_code == 404


def test_a_closing_time_past_the_deadline_is_refused_beside_the_field(
    app, db_session, council, moderator, provider
):
    with app.app_context():
        pool = approved_pool(db_session, council, moderator, deadline=in_days(5))
        quote(db_session, provider, pool)
        join_by_invoice(db_session, pool, 3)
        db_session.commit()
        proposer = signed_in(app, pool.proposer)
    response = post(proposer, f"/pools/{pool.id}/vote/open", {"days": "7"})
    assert response.status_code == 200
    page = text(response)
    assert 'id="days-error"' in page and "There is a problem" in page
    assert "The vote must close before the pool&#39;s deadline, by " in page
    assert db_session.get(Pool, pool.id, populate_existing=True).status == PoolStatus.OPEN.value
    # A choice that fits opens it.
    response = post(proposer, f"/pools/{pool.id}/vote/open", {"days": "3"})
    assert response.status_code == 302
    pool = db_session.get(Pool, pool.id, populate_existing=True)
    assert pool.status == PoolStatus.VOTING.value
    assert abs(as_utc(pool.vote_closes_at) - (utcnow() + timedelta(days=3))) < timedelta(minutes=1)


def test_too_late_for_a_vote_the_pages_say_so(app, db_session, council, moderator, provider):
    with app.app_context():
        pool = approved_pool(db_session, council, moderator, deadline=in_days(1))
        quote(db_session, provider, pool)
        join_by_invoice(db_session, pool, 3)
        db_session.commit()
        proposer = signed_in(app, pool.proposer)
    page = text(proposer.get(f"/pools/{pool.id}"))
    assert (
        "There is no longer time for a vote, which lasts at least 48 hours and must close "
        f"before the deadline, so the pool ends after {format_date(pool.deadline)} without "
        "going ahead."
    ) in page
    assert "Open the vote" not in page
    page = text(proposer.get(f"/pools/{pool.id}/vote/open"))
    assert "There is no longer time for a vote" in page
    response = post(proposer, f"/pools/{pool.id}/vote/open", {"days": "2"})
    assert "There is no longer time for a vote" in text(response)


def test_voting_through_the_pages_closes_on_the_last_vote_and_explains_itself(
    app, db_session, cast
):
    pool, offer, members, people = cast
    proposer = signed_in(app, people["proposer"])
    assert post(proposer, f"/pools/{pool.id}/vote/open", {"days": "7"}).status_code == 302
    first = signed_in(app, members[0])
    page = text(first.get(f"/pools/{pool.id}"))
    pool = db_session.get(Pool, pool.id, populate_existing=True)
    assert (
        f"The vote closes on {format_datetime(pool.vote_closes_at)}, or as soon as every member "
        "has voted. At least 2 of the 3 members must vote for it to choose a quote."
    ) in page
    for person in members:
        client = signed_in(app, person)
        response = post(client, f"/pools/{pool.id}/vote", {"quote": str(offer.id)})
        assert response.status_code == 302
    page = text(client.get(f"/pools/{pool.id}"))
    assert "Every member has now voted, so the vote has closed" in page
    pool = db_session.get(Pool, pool.id, populate_existing=True)
    assert pool.status in (PoolStatus.FUNDED.value, PoolStatus.RUNNING.value)
    assert pool.vote_outcome.replace("'", "&#39;") in page


def test_a_void_vote_is_explained_on_the_pool_page(app, db_session, cast):
    pool, offer, members, _ = cast
    with app.app_context():
        pool = db_session.get(Pool, pool.id)
        quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
        quotes.vote(db_session, members[0], pool, offer)
        list(quotes.close_due_votes(db_session, now=utcnow() + timedelta(days=8)))
        db_session.commit()
    page = text(signed_in(app, members[1]).get(f"/pools/{pool.id}"))
    assert (
        "The last vote did not choose a quote. Only 1 of the 3 members voted. At least 2 of the "
        "3 members must vote for the vote to choose a quote, so no quote was chosen."
    ) in page


# --- cancelling ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 302),
        ("non-member", 403),
        ("member", 403),
        ("proposer", 200),
        ("carer", 403),
        ("proposer's carer", 200),  # acting for the proposer, with their consent
        ("proposer's view-only carer", 403),
        ("area staff", 200),
        ("other staff", 403),
        ("admin", 200),
    ],
)
def test_who_may_cancel_an_open_pool(app, db_session, cast, role, status):
    pool, _, _, people = cast
    client = app.test_client() if role == "anonymous" else signed_in(app, people[role])
    assert client.get(f"/pools/{pool.id}/cancel").status_code == status
    response = post(
        client,
        f"/pools/{pool.id}/cancel/confirm",
        {"reason": REASON},
        token_from="/sign-in" if role == "anonymous" else "/pools",
    )
    assert response.status_code == (302 if status in (200, 302) else status)
    done = db_session.get(Pool, pool.id, populate_existing=True).status
    assert (done == PoolStatus.CANCELLED.value) == (status == 200)
    page = text(client.get(f"/pools/{pool.id}")) if status == 403 else ""
    assert "Cancel this pool" not in page


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 302),
        ("non-member", 404),
        ("member", 403),
        ("proposer", 302),  # too late for them: back to the pool page, with the reason why
        ("carer", 403),
        ("proposer's carer", 302),  # too late for the proposer, so for them too
        ("proposer's view-only carer", 404),
        ("area staff", 200),
        ("other staff", 404),
        ("admin", 200),
    ],
)
def test_who_may_cancel_a_running_pool(app, db_session, council, moderator, provider, role, status):
    with app.app_context():
        pool, members, _ = running_pool(db_session, council, moderator, provider)
        people = {
            "member": members[0],
            "proposer": pool.proposer,
            "non-member": UserFactory(),
            "carer": with_carer(db_session, members[0]),
            "proposer's carer": with_carer(db_session, pool.proposer),
            "proposer's view-only carer": with_carer(db_session, pool.proposer, CarerScope.VIEW),
            "area staff": moderator,
            "other staff": ulo_moderator(CouncilFactory()),
            "admin": UserFactory(
                roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
            ),
        }
        db_session.commit()
    client = app.test_client() if role == "anonymous" else signed_in(app, people[role])
    response = client.get(f"/pools/{pool.id}/cancel")
    assert response.status_code == status
    if role == "proposer":
        assert response.headers["Location"].endswith(f"/pools/{pool.id}")
        assert "only the local user-led organisation can cancel it now" in text(
            client.get(f"/pools/{pool.id}")
        )


def test_cancel_asks_for_a_reason_then_says_what_will_happen_then_does_it(
    app, db_session, council, moderator, provider, mailbox
):
    with app.app_context():
        pool, members, waiting = running_pool(
            db_session, council, moderator, provider, waiting_count=1
        )
        carer = with_carer(db_session, members[0])
        services.post_message(db_session, members[1], pool, "See you on Tuesday")
        db_session.commit()
    staff = signed_in(app, moderator)
    assert "Cancel this pool" in text(staff.get(f"/pools/{pool.id}"))
    response = post(staff, f"/pools/{pool.id}/cancel", {"reason": "  "})
    assert response.status_code == 200
    assert 'id="reason-error"' in text(response)

    response = post(staff, f"/pools/{pool.id}/cancel", {"reason": REASON})
    assert response.status_code == 200
    check = text(response)
    assert REASON in check
    assert db_session.get(Pool, pool.id, populate_existing=True).status == "running"  # not yet
    sentences = {
        "stops": "The pool ends for good: nobody can join it, vote in it or quote for it, and "
        "you cannot undo this.",
        "money": "Nothing more is taken from anyone for this pool: no future month is charged, "
        "and the 3 payments not yet taken are cancelled.",
        "told": "We email the 3 members and the 1 person waiting to say the pool is cancelled. "
        "The email does not include your reason. We also tell the account holders of the 3 "
        "unpaid invoices that there is nothing to pay.",
        "reason": "Your reason is shown on the pool page to everyone who can see it.",
        "history": "Members keep the pool page: its payments, quotes and discussion stay readable.",
        "audit": "The cancellation is recorded in the audit log with your name.",
    }
    for sentence in sentences.values():
        assert sentence in check.replace("&#39;", "'")

    mailbox.clear()
    response = post(staff, f"/pools/{pool.id}/cancel/confirm", {"reason": REASON})
    assert response.status_code == 302
    pool = db_session.get(Pool, pool.id, populate_existing=True)
    # "stops": cancelled; nothing can be done to it (service tests try join, vote and quote).
    assert pool.status == PoolStatus.CANCELLED.value
    assert post(staff, f"/pools/{pool.id}/cancel/confirm", {"reason": REASON}).status_code == 302
    assert "already cancelled" in text(staff.get(f"/pools/{pool.id}"))
    # "money": the three invoices are cancelled (test_cancel.py runs the charging job on).
    rows = db_session.scalars(select(PoolPayment).where(PoolPayment.pool_id == pool.id)).all()
    assert [r.status for r in rows] == [PaymentStatus.CANCELLED.value] * 3
    # "told": the 3 members and the 1 person waiting, and the email has no reason in it.
    assert len(mailbox.messages) == 4 + 3
    for person in [*members, *waiting]:
        message = mailbox.last_to(person.email, "A pool you are in has been cancelled")
        assert "tutor" not in message.get_payload(decode=True).decode()
    # The account holders: each invoice by its number, nothing private, nothing to pay.
    cancelled = invoices.for_pool(db_session, pool)
    assert [i.status for i in cancelled] == [InvoiceStatus.CANCELLED.value] * 3
    for invoice in cancelled:
        message = mailbox.last_to(
            invoice.bill_to_email, f"Invoice {invoice.number} is cancelled: there is nothing to pay"
        )
        body = message.get_payload(decode=True).decode()
        assert pool.title not in body and "tutor" not in body
    # "audit".
    from marketplace import audit

    assert any(
        e.action == "pool.cancel" and e.actor_id == moderator.id
        for e in audit.entries_for(db_session, "pool", pool.id)
    )
    # "reason" and "history": members and their carer read it all; others get 404.
    for person in [members[0], carer]:
        page = text(signed_in(app, person).get(f"/pools/{pool.id}"))
        assert "Cancelled" in page and REASON in page
        assert "See you on Tuesday" in page
        assert "Quotes" in page and "(chosen)" in page
        assert "£30" in page  # the month's payment row
    assert "payments" in text(signed_in(app, carer).get(f"/pools/{pool.id}"))
    member_page = text(signed_in(app, members[0]).get(f"/pools/{pool.id}"))
    assert "Your payments" in member_page and "Cancel this pool" not in member_page
    assert "You were a member when the pool was cancelled." in member_page
    assert signed_in(app, UserFactory()).get(f"/pools/{pool.id}").status_code == 404
    assert app.test_client().get(f"/pools/{pool.id}").status_code == 404
