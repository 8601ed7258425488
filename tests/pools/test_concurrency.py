"""Many people at once, with real commits from real threads, on SQLite and PostgreSQL.

These tests need their own database: the rest of the suite runs each test inside one
transaction that other connections cannot see. `db` is pointed at it for the length of a test.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.payments import services as payments
from marketplace.payments.gateway import get_gateway
from marketplace.payments.models import Charge, LedgerEntry, LedgerKind
from marketplace.pools import funding, quotes, services
from marketplace.pools.models import Pool, PoolMember, PoolPayment, PoolStatus
from marketplace.pools.services import Pledge
from tests.conftest import database_of_its_own
from tests.factories import CouncilFactory, OrganisationFactory, StaffFactory, UserFactory
from tests.listing_helpers import ulo_moderator
from tests.pools.builders import approved_pool, in_days

PEOPLE = 200
PLACES = 50
# The quote starts in 40 days: month one is held from 5 days before and taken on that day.
HOLD_AT = utcnow() + timedelta(days=36)
CHARGE_AT = utcnow() + timedelta(days=40, hours=1)


@pytest.fixture
def own_database(db_session, app) -> Iterator[sessionmaker[Session]]:
    with database_of_its_own(app, "pools") as factory:
        yield factory


def in_thread_session(factory: sessionmaker[Session], work: Callable[[Session], Any]) -> Any:
    """Run `work` in a session of its own, retrying if SQLite says the database is busy."""
    for attempt in range(50):
        session = factory()
        try:
            result = work(session)
            session.commit()
            return result
        except OperationalError:
            session.rollback()  # SQLite's lock wait ran out: nothing was written; go again
            time.sleep(0.01 * (attempt + 1))
        finally:
            session.close()
    raise AssertionError("gave up after 50 attempts")


def test_200_people_joining_50_places_at_once(own_database):
    council = CouncilFactory()
    moderator = ulo_moderator(council)
    pool = approved_pool(
        db.session, council, moderator, min_members=2, max_members=PLACES, cap_pence=3000
    )
    people = [UserFactory() for _ in range(PEOPLE)]
    db.session.commit()
    pool_id, ids = pool.id, [p.id for p in people]
    start = threading.Barrier(20)

    def join(user_id: int) -> str:
        def work(session: Session) -> str:
            member = services.join(
                session,
                session.get(User, user_id),
                session.get(Pool, pool_id),
                Pledge(
                    max_pence=2000,
                    pay_by="managed_account",
                    invoice_to="Account holder",
                    invoice_email="holder@example.org",
                ),
            )
            return member.status

        return in_thread_session(own_database, work)

    def first_together(user_id: int) -> str:
        if user_id in ids[:20]:
            start.wait(timeout=30)  # the first twenty press the button at the same moment
        return join(user_id)

    with ThreadPoolExecutor(max_workers=20) as executor:
        outcomes = list(executor.map(first_together, ids))

    assert outcomes.count("member") == PLACES
    assert outcomes.count("waiting") == PEOPLE - PLACES
    with own_database() as session:
        counted = dict(
            session.execute(
                select(PoolMember.status, func.count())
                .where(PoolMember.pool_id == pool_id)
                .group_by(PoolMember.status)
            ).all()
        )
        assert counted == {"member": PLACES, "waiting": PEOPLE - PLACES}  # nobody lost
        waiting = session.scalars(
            select(PoolMember)
            .where(PoolMember.pool_id == pool_id, PoolMember.status == "waiting")
            .order_by(PoolMember.joined_at, PoolMember.id)
        ).all()
        assert len({m.user_id for m in waiting}) == PEOPLE - PLACES


def _voted_pool_of_six() -> tuple[Pool, list[User]]:
    """A pool of six card members whose vote has just chosen a quote (funded, committed)."""
    council = CouncilFactory()
    moderator = ulo_moderator(council)
    org = OrganisationFactory()
    org.councils.append(council)
    staff = UserFactory()
    StaffFactory(organisation=org, user=staff)
    pool = approved_pool(db.session, council, moderator, min_members=3, max_members=6)
    offer = quotes.submit_quote(
        db.session,
        staff,
        org,
        pool,
        quotes.QuoteData(in_days(40), quotes.even_split(12000, 3, 6), total_pence=12000),
    )
    members = []
    for _ in range(6):
        person = UserFactory()
        card = payments.save_card(
            db.session, person, payments.CardDetails("4242424242424242", 12, 2034, "123"), {}
        )
        services.join(
            db.session,
            person,
            pool,
            Pledge(max_pence=2500, pay_by="card", payment_method_id=card.payment_method_id),
        )
        members.append(person)
    quotes.open_vote(db.session, pool.proposer, pool, utcnow() + timedelta(days=3))
    for person in members:
        quotes.vote(db.session, person, pool, offer)
    db.session.commit()
    assert pool.status == PoolStatus.FUNDED.value
    return pool, members


def test_the_charging_job_twice_and_on_two_threads_charges_each_member_once(
    own_database, stripe_clean, app
):
    pool, members = _voted_pool_of_six()
    gateway = get_gateway()

    def run_job(now=None) -> None:
        # On the thread's own db.session, as `flask worker` runs it: emails read through it.
        with app.app_context():
            in_thread_session(db.scoped, lambda s: funding.charge_due(s, now=now))

    def on_two_threads(now) -> None:
        threads = [threading.Thread(target=run_job, args=(now,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    run_job(HOLD_AT)
    run_job(HOLD_AT)  # cron fired twice: month one is held, once each
    on_two_threads(CHARGE_AT)  # the start date: every hold taken, once each
    with own_database() as session:
        assert {c.status for c in session.scalars(select(Charge))} == {"succeeded"}
    next_month = funding.add_months(CHARGE_AT, 1) + timedelta(hours=1)
    on_two_threads(next_month)

    with own_database() as session:
        charges = session.scalars(select(Charge)).all()
        assert len(charges) == 12  # 6 members x 2 months
        assert len({c.idempotency_key for c in charges}) == 12
        assert {c.status for c in charges} == {"succeeded"}
        rows = session.scalars(select(PoolPayment)).all()
        assert sorted((r.user_id, r.month) for r in rows) == sorted(
            (m.id, month) for m in members for month in (1, 2)
        )
    remote = [p for p in gateway.recent_payment_intents(limit=1000) if "pool" in p.metadata]
    assert len(remote) == 12  # localstripe saw exactly one payment per member per month


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="two open write transactions at once need PostgreSQL; SQLite runs one writer at a "
    "time, which settles a pool once by itself",
)
def test_two_workers_settling_the_same_month_at_once_settle_it_once(
    own_database, stripe_clean, app
):
    """Every share is held; on the start date two workers settle month one at the same
    moment. Each hold is taken once, the pool starts once, and the provider is owed the month
    once (never twice, never stuck "funded" with every share taken)."""
    pool, members = _voted_pool_of_six()
    with app.app_context():
        in_thread_session(db.scoped, lambda s: funding.charge_due(s, now=HOLD_AT))
    with own_database() as session:
        assert {r.status for r in session.scalars(select(PoolPayment))} == {"held"}
    start = threading.Barrier(2)

    def settle() -> None:
        with app.app_context():
            start.wait(timeout=30)

            def work(session: Session) -> None:
                funding.settle_month(session, session.get_one(Pool, pool.id), 1, now=CHARGE_AT)

            in_thread_session(db.scoped, work)

    threads = [threading.Thread(target=settle) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    with own_database() as session:
        settled = session.get_one(Pool, pool.id)
        assert (settled.status, settled.months_started) == (PoolStatus.RUNNING.value, 1)
        assert {r.status for r in session.scalars(select(PoolPayment))} == {"paid"}
        owed = session.scalars(
            select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.PAYOUT_OWED.value)
        ).all()
        assert [e.amount_pence for e in owed] == [-12000]
        taken = session.scalars(
            select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.CHARGE.value)
        ).all()
        assert len(taken) == 6
    remote = [p for p in get_gateway().recent_payment_intents(limit=1000) if "pool" in p.metadata]
    assert len(remote) == 6 and {p.status for p in remote} == {"succeeded"}


def test_two_workers_collecting_a_new_pool_at_once_settle_it_once(own_database, stripe_clean, app):
    """Each worker charges some members; one of them, never both or neither, then finds every
    payment in and starts the pool, owing the provider one month's money."""
    pool, members = _voted_pool_of_six()
    start = threading.Barrier(2)

    def run_job(now) -> None:
        with app.app_context():
            start.wait(timeout=30)
            in_thread_session(db.scoped, lambda s: funding.charge_due(s, now=now))

    for now in (HOLD_AT, CHARGE_AT):  # both hold, then both take
        threads = [threading.Thread(target=run_job, args=(now,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    with own_database() as session:
        settled = session.get_one(Pool, pool.id)
        assert (settled.status, settled.months_started) == (PoolStatus.RUNNING.value, 1)
        assert session.scalar(select(func.count()).select_from(Charge)) == 6
        owed = session.scalars(
            select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.PAYOUT_OWED.value)
        ).all()
        assert [e.amount_pence for e in owed] == [-12000]  # one month, owed once
