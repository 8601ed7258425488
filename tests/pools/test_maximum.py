"""Raising the most a member pays when the share rises; never charging above it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.payments.gateway import get_gateway
from marketplace.pools import funding, maximum, quotes, schedule, services
from marketplace.pools.models import PaymentStatus
from tests.factories import UserFactory
from tests.helpers import post, sign_in
from tests.pools.builders import approved_pool, charge_month, go_ahead, invoice_pledge, quote
from tests.pools.test_funding import GOOD, intents, join_by_card, rows


def pool_whose_share_rises(db_session, gateway, council, moderator, provider):
    """Four members (three by card with a £25 maximum, one invoiced with £25); one leaves, so
    month two's share is £30: over everyone's maximum."""
    pool = approved_pool(db_session, council, moderator, min_members=3)
    offer = quote(db_session, provider, pool, total_pence=9000)
    people = [join_by_card(db_session, gateway, pool, GOOD, max_pence=2500) for _ in range(3)]
    invoiced = UserFactory()
    services.join(db_session, invoiced, pool, invoice_pledge(max_pence=2500))
    people.append(invoiced)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
    for person in people:
        quotes.vote(db_session, person, pool, offer)
    assert pool.chosen_quote_id == offer.id  # the last member's vote closed the vote
    go_ahead(db_session, pool, staff=moderator)  # 4 members: £22.50 each
    funding.leave_running(db_session, people[0], pool)
    charge_month(db_session, pool, 2)  # told a week ahead, then charged on the charge date
    assert schedule.due_date(db_session, pool, 2) == schedule.charge_date(db_session, pool, 2)
    return pool, people


def test_a_share_over_the_maximum_is_held_back_and_a_new_card_does_not_change_that(
    db_session, gateway, council, moderator, provider
):
    pool, people = pool_whose_share_rises(db_session, gateway, council, moderator, provider)
    held = rows(db_session, pool, 2)
    assert {r.status for r in held.values()} == {PaymentStatus.FAILED.value}
    assert {r.amount_pence for r in held.values()} == {3000}
    with pytest.raises(DomainError, match="Raise your maximum first"):
        funding.retry_payment(db_session, people[1], pool, 2, gateway=gateway)
    assert len(intents(gateway, pool.id)) == 3  # only month one's card charges


def test_raising_the_maximum_collects_what_was_held_back(
    db_session, gateway, council, moderator, provider
):
    pool, people = pool_whose_share_rises(db_session, gateway, council, moderator, provider)
    card_member, invoiced = people[1], people[3]
    for bad, message in [
        (2500, "more than the £25"),
        (2000, "more than the £25"),
        (4001, "The most anyone pays in this pool is £40"),
    ]:
        with pytest.raises(DomainError, match=message):
            maximum.raise_maximum(db_session, card_member, pool, bad)
    with pytest.raises(NotAllowed):
        maximum.raise_maximum(db_session, UserFactory(), pool, 3000)
    with pytest.raises(NotAllowed):
        maximum.raise_maximum(db_session, people[0], pool, 3000)  # they left

    member = maximum.raise_maximum(db_session, card_member, pool, 3000)
    assert member.max_pence == 3000
    assert "no more than £30" in member.terms
    db_session.commit()
    (paid,) = maximum.collect_held_back(db_session, card_member, pool, gateway=gateway)
    assert paid.status == PaymentStatus.PAID.value and paid.amount_pence == 3000

    maximum.raise_maximum(db_session, invoiced, pool, 3500)
    assert rows(db_session, pool, 2)[invoiced.id].status == PaymentStatus.INVOICED.value
    # The third member did not raise theirs: still held back, never charged.
    assert rows(db_session, pool, 2)[people[2].id].status == PaymentStatus.FAILED.value
    assert len(intents(gateway, pool.id)) == 3 + 1


def test_the_pages_check_first_and_errors_sit_beside_the_field(
    app, db_session, stripe_clean, council, moderator, provider
):
    # Not the `gateway` fixture: its app context would outlive the set-up and be shared by the
    # client's requests (and their `g`, where Flask-WTF keeps the CSRF token).
    with app.app_context():
        pool, people = pool_whose_share_rises(
            db_session, get_gateway(), council, moderator, provider
        )
        db_session.commit()
    card_member = people[1]
    client = app.test_client()
    sign_in(client, card_member)
    path = f"/pools/{pool.id}/maximum"
    page = client.get(path).get_data(as_text=True)
    assert "each share is £30 a month" in page
    page = post(client, path, {"max_pence": "20"}).get_data(as_text=True)
    assert 'id="max_pence-error"' in page and "more than the £25" in page
    page = post(client, path, {"max_pence": "30"}).get_data(as_text=True)
    assert "Check your new maximum" in page
    assert f"<title>Check your new maximum for {pool.title} – " in page
    assert "£30 for month 2" in page  # what will be taken at once
    assert db_session.get(type(pool), pool.id) is not None
    member = services.member_record(db_session, pool, card_member.id)
    db_session.refresh(member)
    assert member.max_pence == 2500  # nothing changes until they agree

    response = post(
        client, f"/pools/{pool.id}/maximum/confirm", {"max_pence": "3000"}, token_from=path
    )
    assert response.status_code == 302
    db_session.refresh(member)
    assert member.max_pence == 3000
    assert rows(db_session, pool, 2)[card_member.id].status == PaymentStatus.PAID.value
    # Someone outside the pool cannot reach the pages.
    outsider = app.test_client()
    sign_in(outsider, UserFactory())
    assert outsider.get(path).status_code == 404
