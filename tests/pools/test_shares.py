"""The share a page shows is the share that is charged: pool page and maximum page against the
Charge rows and localstripe, through a leaver, a lender on a break and the waiting list."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from marketplace import outbox
from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.money import format_pence
from marketplace.payments import services as payments
from marketplace.payments.gateway import get_gateway
from marketplace.payments.models import Charge
from marketplace.pools import funding, quotes, services, shares
from marketplace.pools.models import Pool, PoolPayment, PoolStatus
from marketplace.pools.services import Pledge
from marketplace.wellbeing import breaks
from tests.factories import UserFactory
from tests.helpers import sign_in
from tests.pools.builders import approved_pool, charge_time, hold_time, quote, run_jobs

GOOD = "4242424242424242"


def page(app, user, path: str) -> str:
    client = app.test_client()
    sign_in(client, user)
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def shown(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert found is not None, element_id
    return found.group(1)


def paid_on_page(app, user, pool_id: int) -> str:
    """The amount the pool page tells this person they pay (for the month it shows)."""
    text = " ".join(shown(page(app, user, f"/pools/{pool_id}"), "my-share").split())
    found = re.search(r"you pay (£[\d,.]+?)(?:,|\.(?!\d))", text)
    assert found is not None, text
    return found.group(1)


def month_of(charge: Charge) -> int:
    return int(charge.reference.split(":")[1])


def test_every_page_and_email_shows_the_share_that_is_charged(
    app, db_session, council, moderator, provider, stripe_clean, mailbox
):
    # Services run in app contexts of their own (Stripe, emails); pages are fetched outside
    # them, so objects are read again by id after each context ends.
    with app.app_context():
        gateway = get_gateway()
        pool = approved_pool(db_session, council, moderator, min_members=3, max_members=4)
        pool.cap_pence = 5000
        # £100.01 a month: with 4 people the first to join pays £25.01 and the others £25.
        offer = quote(db_session, provider, pool, total_pence=10001)
        people = [UserFactory() for _ in range(6)]  # four members, then two waiting
        for person in people:
            card = payments.save_card(
                db_session, person, payments.CardDetails(GOOD, 12, 2034, "123"), {}, gateway
            )
            services.join(
                db_session,
                person,
                pool,
                Pledge(5000, "card", payment_method_id=card.payment_method_id),
            )
        quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
        for person in people[:4]:
            quotes.vote(db_session, person, pool, offer)
        assert pool.chosen_quote_id == offer.id  # the last member's vote closed the vote
        db_session.commit()
    pool_id, offer_id = pool.id, offer.id
    leaver, lender, stays, also_stays, first_waiting, second_waiting = people

    # Month one, before the job collects it: what the pages say each member will pay...
    pool = db_session.get(Pool, pool_id)
    assert pool.status == PoolStatus.FUNDED.value
    most = format_pence(shares.share_for(db_session, pool, 1))
    assert most == "£25.01"
    pool_page = page(app, stays, f"/pools/{pool_id}")
    assert most in shown(pool_page, f"quote-{offer_id}-share")
    assert shown(pool_page, f"quote-{offer_id}-split").startswith(
        "£100.01 split 4 ways: 1 person pays £25.01 and 3 pay £25"
    )
    said = {p.id: paid_on_page(app, p, pool_id) for p in people[:4]}
    assert said == {leaver.id: "£25.01", lender.id: "£25", stays.id: "£25", also_stays.id: "£25"}
    assert said[stays.id] in shown(page(app, stays, f"/pools/{pool_id}/maximum"), "share")
    run_jobs(app, db_session)
    with app.app_context():
        pool = db_session.get(Pool, pool_id)
        funding.charge_due(db_session, now=hold_time(db_session, pool))
        funding.charge_due(db_session, now=charge_time(db_session, pool))
        db_session.commit()
    charges = db_session.scalars(select(Charge)).all()
    # ... is what every member was charged, here and at Stripe, adding up to the quote.
    assert {c.user_id: format_pence(c.amount_pence) for c in charges} == said
    assert sum(c.amount_pence for c in charges) == 10001
    with app.app_context():
        remote = [p for p in gateway.recent_payment_intents(limit=100) if "pool" in p.metadata]
    assert sorted(p.amount_pence for p in remote) == sorted(c.amount_pence for c in charges)

    # Month two: one member leaves after month one and another lends their place while away.
    with app.app_context():
        pool = db_session.get(Pool, pool_id)
        assert pool.status == PoolStatus.RUNNING.value
        funding.leave_running(db_session, db_session.get(User, leaver.id), pool)
        breaks.start_break(
            db_session, db_session.get(User, lender.id), "open", offer_pool_places=True
        )
        db_session.commit()
        outbox.run_committed(db_session)
    pool = db_session.get(Pool, pool_id)
    (loan,) = pool.loans
    assert loan.borrower.user_id == first_waiting.id and loan.from_month == 2
    # Month two's payers, as charge_due will find them: nobody moves up from the waiting list
    # without saying yes, so until the leaver's place is offered the first person waiting pays
    # only for the lent place.
    pool = db_session.get(Pool, pool_id)
    month_two = format_pence(shares.share_for(db_session, pool, 2))
    assert month_two == "£33.34"  # £100.01 between three
    assert month_two in shown(page(app, stays, f"/pools/{pool_id}"), f"quote-{offer_id}-share")
    assert month_two in shown(page(app, stays, f"/pools/{pool_id}/maximum"), "share")
    assert paid_on_page(app, first_waiting, pool_id) == "£33.33"
    # From a little over a week before month two, the job gives the leaver's place to the
    # first person waiting as an offer, so the lent place passes to the second, and the ones
    # whose share rises are told; the first person waiting says yes.
    with app.app_context():
        pool = db_session.get(Pool, pool_id)
        told = charge_time(db_session, pool, 2) - timedelta(days=8)
        funding.charge_due(db_session, now=told)
        db_session.commit()
        pool = db_session.get(Pool, pool_id)
        assert services.member_record(db_session, pool, first_waiting.id).status == "offered"
        services.accept_offer(db_session, db_session.get(User, first_waiting.id), pool, now=told)
        db_session.commit()
    pool = db_session.get(Pool, pool_id)
    month_two = format_pence(shares.share_for(db_session, pool, 2))
    pool_page = page(app, stays, f"/pools/{pool_id}")
    assert month_two in shown(pool_page, f"quote-{offer_id}-share")
    assert month_two in shown(page(app, stays, f"/pools/{pool_id}/maximum"), "share")
    paying = (stays, also_stays, first_waiting, second_waiting)
    said_two = {p.id: paid_on_page(app, p, pool_id) for p in paying}
    # The earliest to join of month two's payers pays the odd penny.
    assert said_two == {
        stays.id: "£25.01",
        also_stays.id: "£25",
        first_waiting.id: "£25",
        second_waiting.id: "£25",
    }
    assert "You pay nothing" in shown(page(app, lender, f"/pools/{pool_id}"), "my-share")

    with app.app_context():
        pool = db_session.get(Pool, pool_id)
        start = pool.commissioned_at or utcnow()
        funding.charge_due(db_session, now=funding.add_months(start, 1) + timedelta(hours=1))
        db_session.commit()
        outbox.run_committed(db_session)
        remote = [
            p
            for p in gateway.recent_payment_intents(limit=100)
            if p.metadata.get("pool") == str(pool_id) and p.metadata.get("month") == "2"
        ]
    second = [c for c in db_session.scalars(select(Charge)) if month_of(c) == 2]
    assert {c.user_id for c in second} == {
        stays.id,
        also_stays.id,
        first_waiting.id,
        second_waiting.id,
    }
    assert {c.user_id: format_pence(c.amount_pence) for c in second} == said_two
    assert sum(c.amount_pence for c in second) == 10001
    rows = db_session.scalars(
        select(PoolPayment).where(PoolPayment.pool_id == pool_id, PoolPayment.month == 2)
    ).all()
    assert {r.user_id: format_pence(r.amount_pence) for r in rows} == said_two
    assert sorted(p.amount_pence for p in remote) == sorted(c.amount_pence for c in second)
    # After the charge the share for the month is still what was charged.
    pool = db_session.get(Pool, pool_id)
    assert shares.share_for(db_session, pool, 2) == max(c.amount_pence for c in second)
    for payer in paying:
        record = services.member_record(db_session, pool, payer.id)
        assert format_pence(shares.member_share(db_session, pool, record, 2)) == said_two[payer.id]
