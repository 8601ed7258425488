"""A lent pool place when its borrower stops waiting: it goes on to the next person waiting, or
back to the lender (who is told), and no month is paid twice or left unpaid."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace import outbox
from marketplace.pools import funding, schedule
from marketplace.pools import services as pools
from marketplace.pools.models import (
    GRACE_DAYS,
    MemberStatus,
    PayBy,
    PaymentStatus,
    PoolPayment,
)
from marketplace.wellbeing import breaks
from tests.conftest import manual_outbox
from tests.pools.builders import charge_month, due_time, notice_time, running_pool

FREE_FOR_A_WHILE = "A place in your pool is free for a while"


@pytest.fixture(autouse=True)
def _app_context(app):
    """Funding emails read the app's config."""
    with app.app_context():
        yield


def month_start(pool, month):
    return funding.add_months(pool.commissioned_at, month - 1) + timedelta(hours=1)


def lend_from_month_two(db_session, pool, lender):
    """The lender goes on an open-ended break, lending their place; month two is collected."""
    manual_outbox(db_session)
    breaks.start_break(db_session, lender, "open", offer_pool_places=True)
    (loan,) = pool.loans
    assert (loan.from_month, loan.to_month) == (2, None)
    db_session.commit()
    assert outbox.run_committed(db_session) == 1  # the borrower is told, once
    charge_month(db_session, pool, 2)
    db_session.commit()
    outbox.run_committed(db_session)  # the borrower was told their share a week ahead
    return loan


def payers(db_session, pool, month):
    return sorted(
        db_session.scalars(
            select(PoolPayment.user_id).where(
                PoolPayment.pool_id == pool.id,
                PoolPayment.month == month,
                PoolPayment.status != PaymentStatus.CANCELLED.value,
            )
        )
    )


def rows_of(db_session, pool, month):
    """Everything about a month's payments, to show it did not move."""
    return sorted(
        (r.user_id, r.amount_pence, r.status)
        for r in db_session.scalars(
            select(PoolPayment).where(PoolPayment.pool_id == pool.id, PoolPayment.month == month)
        )
    )


def ids(*users):
    return sorted(u.id for u in users)


def loan_spans(pool):
    return [(loan.borrower.user_id, loan.from_month, loan.to_month) for loan in pool.loans]


def assert_one_payer_per_place(pool, month):
    """As many payers as members paying that month, nobody twice, and the lender not at all."""
    billable = funding.billable_members(pool, month)
    assert len(billable) == len(set(billable)) == len(pool.current_members)


def emails_to(mailbox, user, subject=None):
    return [
        m for m in mailbox.messages if m["To"] == user.email and subject in (None, m["Subject"])
    ]


def test_a_promoted_borrower_pays_as_a_member_and_the_next_person_waiting_borrows(
    db_session, council, moderator, provider, mailbox
):
    pool, (lender, stays, goes), (first, second) = running_pool(
        db_session, council, moderator, provider, waiting_count=2
    )
    lend_from_month_two(db_session, pool, lender)
    mailbox.clear()
    assert payers(db_session, pool, 2) == ids(stays, goes, first)
    before = [rows_of(db_session, pool, month) for month in (1, 2)]

    # A member leaves after month two: the first person waiting is offered their place for
    # month three, which passes the lent place on, and says yes before month three.
    funding.leave_running(db_session, goes, pool)
    funding.charge_due(db_session, now=notice_time(db_session, pool, 3))
    assert pools.member_record(db_session, pool, first.id).status == MemberStatus.OFFERED.value
    assert loan_spans(pool) == [(first.id, 2, 2), (second.id, 3, None)]
    pools.accept_offer(db_session, first, pool, now=notice_time(db_session, pool, 3))
    funding.charge_due(db_session, now=due_time(db_session, pool, 3))
    assert schedule.due_date(db_session, pool, 3) == schedule.charge_date(db_session, pool, 3)
    db_session.commit()  # charge_due leaves the commit to its caller
    outbox.run_committed(db_session)

    first_member = pools.member_record(db_session, pool, first.id)
    assert first_member.status == MemberStatus.MEMBER.value
    assert loan_spans(pool) == [(first.id, 2, 2), (second.id, 3, None)]
    assert payers(db_session, pool, 3) == ids(stays, first, second)
    assert [rows_of(db_session, pool, month) for month in (1, 2)] == before
    assert {r[1] for r in rows_of(db_session, pool, 3)} == {3000}
    for month in (3, 4):
        assert_one_payer_per_place(pool, month)
    assert len(emails_to(mailbox, second, FREE_FOR_A_WHILE)) == 1
    assert emails_to(mailbox, lender) == []


def test_a_borrower_leaving_the_waiting_list_passes_the_place_on(
    db_session, council, moderator, provider, mailbox
):
    pool, (lender, *others), (first, second) = running_pool(
        db_session, council, moderator, provider, waiting_count=2
    )
    lend_from_month_two(db_session, pool, lender)
    mailbox.clear()
    before = rows_of(db_session, pool, 2)

    assert pools.leave(db_session, first, pool) is None  # nobody is promoted: no place freed
    assert loan_spans(pool) == [(first.id, 2, 2), (second.id, 3, None)]
    assert emails_to(mailbox, second) == []  # not before the commit
    db_session.commit()
    outbox.run_committed(db_session)
    assert "month 3" in emails_to(mailbox, second, FREE_FOR_A_WHILE)[0].get_payload()

    charge_month(db_session, pool, 3)
    assert payers(db_session, pool, 3) == ids(*others, second)
    assert rows_of(db_session, pool, 2) == before
    assert_one_payer_per_place(pool, 3)
    assert emails_to(mailbox, lender) == []


def test_with_nobody_else_waiting_the_lender_pays_from_the_next_month_and_is_told_once(
    db_session, council, moderator, provider, mailbox
):
    pool, (lender, *others), (borrower,) = running_pool(
        db_session, council, moderator, provider, waiting_count=1
    )
    lend_from_month_two(db_session, pool, lender)
    mailbox.clear()
    before = rows_of(db_session, pool, 2)

    pools.leave(db_session, borrower, pool)
    assert loan_spans(pool) == [(borrower.id, 2, 2)]
    assert emails_to(mailbox, lender) == []  # not before the commit
    db_session.commit()
    outbox.run_committed(db_session)
    outbox.run_committed(db_session)

    # Sent although the lender is on a break: money that is due always is.
    (email,) = emails_to(mailbox, lender)
    assert email["Subject"] == "Your pool share is due again"
    assert "from month 3" in email.get_payload()

    charge_month(db_session, pool, 3)
    assert payers(db_session, pool, 3) == ids(lender, *others)
    assert rows_of(db_session, pool, 2) == before
    assert_one_payer_per_place(pool, 3)
    assert len(emails_to(mailbox, lender)) == 1


def test_a_borrower_leaving_before_their_first_month_is_collected_hands_all_of_it_on(
    db_session, council, moderator, provider
):
    pool, (lender, *others), (first, second) = running_pool(
        db_session, council, moderator, provider, waiting_count=2
    )
    breaks.start_break(db_session, lender, "open", offer_pool_places=True)
    pools.leave(db_session, first, pool)
    assert loan_spans(pool) == [(first.id, 2, 1), (second.id, 2, None)]

    charge_month(db_session, pool, 2)
    assert payers(db_session, pool, 2) == ids(*others, second)


def test_a_borrower_removed_for_not_paying_passes_the_place_on_and_the_lender_is_not_charged(
    db_session, council, moderator, provider
):
    pool, (lender, *others), (first, second) = running_pool(
        db_session, council, moderator, provider, waiting_count=2, min_members=2
    )
    borrower = pools.member_record(db_session, pool, first.id)
    borrower.pay_by = PayBy.CARD.value  # with no card saved, their charge fails
    lend_from_month_two(db_session, pool, lender)
    assert pool.months_started == 1  # month two waits for the borrower to put it right

    funding.charge_due(db_session, now=due_time(db_session, pool, 2) + timedelta(days=GRACE_DAYS))
    assert borrower.status == MemberStatus.REMOVED.value
    assert pool.months_started == 2
    assert payers(db_session, pool, 2) == ids(*others)
    assert loan_spans(pool) == [(first.id, 2, 2), (second.id, 3, None)]

    charge_month(db_session, pool, 3)
    assert payers(db_session, pool, 3) == ids(*others, second)
    assert lender.id not in payers(db_session, pool, 2)


def test_someone_waiting_who_borrows_nothing_changes_nothing(
    db_session, council, moderator, provider, mailbox
):
    pool, (lender, *others), (first, second) = running_pool(
        db_session, council, moderator, provider, waiting_count=2
    )
    lend_from_month_two(db_session, pool, lender)
    pools.leave(db_session, second, pool)
    db_session.commit()
    assert outbox.run_committed(db_session) == 0
    assert loan_spans(pool) == [(first.id, 2, None)]
    charge_month(db_session, pool, 3)
    assert payers(db_session, pool, 3) == ids(*others, first)


def test_months_of_a_loan_start_on_the_stated_charge_dates_not_when_the_job_ran(
    db_session, council, moderator, provider
):
    from marketplace.pools import loans, schedule

    pool, _, _ = running_pool(db_session, council, moderator, provider)
    pool.commissioned_at = pool.commissioned_at + timedelta(days=4)  # the job ran 4 days late
    second = schedule.start_of(schedule.charge_date(db_session, pool, 2))
    # Month two starts on its charge date, as the pages say, whenever month one was taken.
    assert loans.last_month_starting_before(db_session, pool, second) == 1
    assert loans.last_month_starting_before(db_session, pool, second + timedelta(hours=1)) == 2
