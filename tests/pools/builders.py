"""Building blocks for pool tests: proposals, approved pools, members, quotes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from flask import has_app_context

from marketplace.db import utcnow
from marketplace.jobs.services import run_next
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.pools import funding, quotes, schedule, services
from marketplace.pools.models import PoolStatus
from marketplace.pools.services import Pledge, PoolData
from tests.factories import UserFactory


def in_days(days: int) -> date:
    return utcnow().date() + timedelta(days=days)


def pool_data(council, **overrides) -> PoolData:
    data = PoolData(
        title="Evening art group for people who hear voices",
        description="A weekly art group in the evening, run by someone who understands.",
        council_id=council.id,
        frequency="Weekly, 2 hours",
        min_members=3,
        max_members=5,
        cap_pence=4000,
        months=3,
        deadline=in_days(30),
        area="LS6",
    )
    return replace(data, **overrides)


def approved_pool(db_session, council, moderator, **overrides):
    proposer = UserFactory()
    pool = services.propose(db_session, proposer, pool_data(council, **overrides))
    (item,) = moderation.open_entries_for(db_session, services.ITEM_POOL, pool.id)
    moderation.decide(db_session, moderator, item, Decision.APPROVE, "")
    return pool


def invoice_pledge(max_pence: int = 4000) -> Pledge:
    return Pledge(
        max_pence=max_pence,
        pay_by="managed_account",
        invoice_to="Leeds Direct Pay Ltd",
        invoice_email="invoices@leeds-direct-pay.example",
        invoice_reference="LDP-1234",
    )


def pay_invoice(db_session, staff, row, pence=None, reference="BACS 0001"):
    """ULO staff record the whole balance (or `pence`) of this share's invoice as received."""
    from marketplace.pools import invoices

    invoice = invoices.invoice_of(db_session, row)
    assert invoice is not None
    return invoices.record_payment(
        db_session,
        staff,
        invoice,
        invoices.Received(
            pence if pence is not None else invoice.balance_pence, utcnow().date(), reference
        ),
        utcnow(),
    )


def join_by_invoice(db_session, pool, count: int, max_pence: int = 4000):
    """`count` new people join, each paying through a managed account."""
    people = [UserFactory() for _ in range(count)]
    for person in people:
        services.join(db_session, person, pool, invoice_pledge(max_pence))
    return people


def quote(db_session, provider, pool, total_pence: int = 9000, **overrides):
    staff, org = provider
    data = quotes.QuoteData(
        start_date=in_days(40),
        prices=quotes.even_split(total_pence, pool.min_members, pool.max_members),
        total_pence=total_pence,
        terms="Cancel with a month's notice.",
    )
    return quotes.submit_quote(db_session, staff, org, pool, replace(data, **overrides))


def running_pool(
    db_session, council, moderator, provider, waiting_count=0, members=None, **overrides
):
    """Three members paying by invoice (no Stripe; new people unless `members` names them),
    then people waiting; month one collected."""
    pool = approved_pool(db_session, council, moderator, max_members=3, **overrides)
    # Starting tomorrow: month one is held at once and taken tomorrow, so "now" is in it.
    offer = quote(db_session, provider, pool, total_pence=9000, start_date=in_days(1))
    members = members or [UserFactory(), UserFactory(), UserFactory()]
    waiting = [UserFactory() for _ in range(waiting_count)]
    for person in [*members, *waiting]:
        services.join(db_session, person, pool, invoice_pledge())
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
    for person in members:
        quotes.vote(db_session, person, pool, offer)
    assert pool.chosen_quote_id == offer.id  # the last member's vote closed the vote
    assert go_ahead(db_session, pool, staff=moderator) == PoolStatus.RUNNING.value
    return pool, members, waiting


def hold_time(db_session, pool) -> datetime:
    """An hour into the first day month one's shares are held (5 days before it is charged)."""
    return schedule.start_of(schedule.hold_date(db_session, pool)) + timedelta(hours=1)


def charge_time(db_session, pool, month: int = 1) -> datetime:
    """An hour into the day `month` is charged (the chosen quote's start date for month one)."""
    return schedule.start_of(schedule.charge_date(db_session, pool, month)) + timedelta(hours=1)


def go_ahead(db_session, pool, gateway=None, staff=None) -> str:
    """Month one as the jobs run it: every share held on its hold date (and, with `staff`,
    every invoice accepted by the area's ULO staff), then taken (or all released) on the
    charge date. Returns the pool's status."""
    funding.fund(db_session, pool, now=hold_time(db_session, pool), gateway=gateway)
    if pool.status != PoolStatus.FUNDED.value:
        return pool.status
    if staff is not None:
        for row in funding.payments_for(db_session, pool, 1):
            if row.status == "invoiced":
                funding.accept_invoice(db_session, staff, row)
    return funding.fund(db_session, pool, now=charge_time(db_session, pool), gateway=gateway)


def run_jobs(app, db_session) -> int:
    """Run every job that is due, as `flask worker --burst` would (in an app context, for
    Stripe and email); returns how many ran."""
    if not has_app_context():
        with app.app_context():
            return run_jobs(app, db_session)
    ran = 0
    while run_next(db_session, "test-worker") is not None:
        ran += 1
    return ran


def notice_time(db_session, pool, month: int) -> datetime:
    """An hour into the first day the job works out `month`'s shares and tells any rise."""
    return schedule.start_of(schedule.notice_date(db_session, pool, month)) + timedelta(hours=1)


def due_time(db_session, pool, month: int) -> datetime:
    """An hour into the day `month` is actually charged (`schedule.due_date`)."""
    return schedule.start_of(schedule.due_date(db_session, pool, month)) + timedelta(hours=1)


def charge_month(db_session, pool, month: int, gateway=None) -> None:
    """A later month as the daily job runs it: on its notice date (leavers go, their places are
    offered, rises are told), then on its due date (charged)."""
    funding.charge_due(db_session, now=notice_time(db_session, pool, month), gateway=gateway)
    funding.charge_due(db_session, now=due_time(db_session, pool, month), gateway=gateway)
