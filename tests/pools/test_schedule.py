"""The dating rule: month n is charged on the quote's start date plus n - 1 months."""

from __future__ import annotations

from datetime import date

from marketplace.pools import schedule
from tests.pools.builders import approved_pool, join_by_invoice, quote


def test_months_fall_on_the_start_dates_day_and_clip_to_short_months(
    db_session, council, moderator, provider
) -> None:
    pool = approved_pool(db_session, council, moderator)
    assert schedule.charge_date(db_session, pool, 1) is None  # no quote chosen yet
    offer = quote(db_session, provider, pool, start_date=date(2027, 1, 31))
    pool.chosen_quote_id = offer.id
    assert schedule.charge_date(db_session, pool, 1) == date(2027, 1, 31)
    assert schedule.charge_date(db_session, pool, 2) == date(2027, 2, 28)
    assert schedule.charge_date(db_session, pool, 3) == date(2027, 3, 31)


def test_next_due_is_the_members_share_on_the_next_charge_date(
    db_session, council, moderator, provider
) -> None:
    pool = approved_pool(db_session, council, moderator)
    (first, *_rest) = join_by_invoice(db_session, pool, 3)
    offer = quote(db_session, provider, pool, total_pence=9000, start_date=date(2027, 1, 31))
    member = pool.current_members[0]
    assert member.user_id == first.id
    assert schedule.next_due(db_session, pool, member) is None  # still gathering
    pool.chosen_quote_id = offer.id
    pool.status = "funded"
    due = schedule.next_due(db_session, pool, member)
    assert due == schedule.Due(month=1, on=date(2027, 1, 31), pence=3000)
