"""A place in a running pool lent to the waiting list while its member is on a break."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.pools import funding
from marketplace.pools import services as pools
from marketplace.pools.models import PoolPayment
from marketplace.wellbeing import breaks
from tests.pools.builders import charge_month, running_pool


@pytest.fixture(autouse=True)
def _app_context(app):
    """Funding emails read the app's config."""
    with app.app_context():
        yield


def full_running_pool(db_session, council, moderator, provider):
    """Three members paying by invoice (no Stripe), a fourth waiting; month one collected."""
    pool, members, (waiting,) = running_pool(db_session, council, moderator, provider, 1)
    return pool, members, waiting


def payers(db_session, pool, month):
    return set(
        db_session.scalars(
            select(PoolPayment.user_id).where(
                PoolPayment.pool_id == pool.id, PoolPayment.month == month
            )
        )
    )


def month_start(pool, month):
    return funding.add_months(pool.commissioned_at, month - 1) + timedelta(hours=1)


def test_the_first_person_waiting_pays_while_the_member_is_away(
    db_session, council, moderator, provider
):
    pool, members, waiting = full_running_pool(db_session, council, moderator, provider)
    away = members[0]
    assert [p.pool_id for p in breaks.places_to_lend(db_session, away)] == [pool.id]
    summary = breaks.plan(db_session, away, "open", lend_places=True)
    assert any(
        "Offered to the first person on the waiting list" in i.outcome for i in summary.items
    )

    breaks.start_break(db_session, away, "open", offer_pool_places=True)
    (loan,) = pool.loans
    assert (loan.from_month, loan.to_month) == (2, None)
    # The borrower paid nothing last month, so is told their share a week ahead (rises.py).
    charge_month(db_session, pool, 2)
    assert payers(db_session, pool, 2) == {members[1].id, members[2].id, waiting.id}

    # Back before month three: the place is theirs again; the share is the same for everyone.
    breaks.end_break(db_session, away, now=month_start(pool, 2) + timedelta(days=3))
    assert loan.to_month == 2
    charge_month(db_session, pool, 3)  # the lender, back, is told their share again
    assert payers(db_session, pool, 3) == {m.id for m in members}
    amounts = set(
        db_session.scalars(select(PoolPayment.amount_pence).where(PoolPayment.pool_id == pool.id))
    )
    assert amounts == {3000}


def test_without_the_choice_or_anyone_waiting_the_share_is_still_due(
    db_session, council, moderator, provider
):
    pool, members, waiting = full_running_pool(db_session, council, moderator, provider)
    breaks.start_break(db_session, members[0], "month")  # not offered
    funding.charge_due(db_session, now=month_start(pool, 2))
    assert members[0].id in payers(db_session, pool, 2)
    assert waiting.id not in payers(db_session, pool, 2)

    pools.leave(db_session, waiting, pool)  # nobody waiting now
    breaks.start_break(db_session, members[1], "month", offer_pool_places=True)
    assert pool.loans == []


def test_a_timed_break_lends_only_the_months_that_start_while_away(
    db_session, council, moderator, provider
):
    pool, members, _waiting = full_running_pool(db_session, council, moderator, provider)
    # A week that ends before month two starts lends nothing.
    breaks.start_break(
        db_session, members[0], "week", offer_pool_places=True, now=pool.commissioned_at
    )
    assert pool.loans == []
