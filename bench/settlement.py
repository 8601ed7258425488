"""Benchmark hold-then-capture through localstripe: holds/s, captures/s, duplicates, lapses.

    .venv/bin/python bench/settlement.py --pools 1000 --pledges 20000 --workers 2

Sets up (untimed) a temporary SQLite database (or ``--database-url``), a localstripe on a free
loopback port, one council with its ULO and a provider, ``--pools`` pools each with an equal
share of ``--pledges`` card members (each with their own Stripe customer and saved 4242 card),
a quote, and a vote that funds every pool; in every ``--lapse-every``-th pool one member's card
is refused (4000000000000341), so that pool cannot secure every share and must lapse. Then it
times ``funding.charge_due`` run by ``--workers`` threads at once, as cron on several machines
would, twice: on the hold date (every share held, capture_method=manual) and on the charge date
(every hold taken, or every hold of a lapsing pool released), and reports:

1. holds per second and captures per second;
2. duplicate holds and duplicate captures, counted at localstripe: PaymentIntents beyond one
   per (pool, member, month) key. Must be 0;
3. captures in pools that lapsed (intents that succeeded for a lapsed pool). Must be 0.

Setting up the cards is the slow part (five Stripe calls a member); it runs on ``--setup-threads``
threads and its time is printed separately.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("INSTANCE_DIR", tempfile.mkdtemp(prefix="bench-settlement-"))
os.environ.setdefault("SECRET_KEY", "bench-only")

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from marketplace import create_app, migrations  # noqa: E402
from marketplace.auth.models import Role, User, UserRole  # noqa: E402
from marketplace.db import make_engine, utcnow  # noqa: E402
from marketplace.extensions import db  # noqa: E402
from marketplace.organisations.models import (  # noqa: E402
    ApprovalStatus,
    Organisation,
    OrganisationKind,
    OrganisationStaff,
)
from marketplace.payments import outside  # noqa: E402
from marketplace.payments import services as payments  # noqa: E402
from marketplace.payments.gateway import get_gateway  # noqa: E402
from marketplace.payments.localstripe_server import free_port, start_process  # noqa: E402
from marketplace.payments.models import Charge, ChargeStatus  # noqa: E402
from marketplace.places.models import Council  # noqa: E402
from marketplace.pools import funding, quotes, schedule, services  # noqa: E402
from marketplace.pools.models import Pool, PoolPayment, PoolStatus  # noqa: E402

CARD = payments.CardDetails("4242424242424242", 12, 2034, "123")
REFUSED = payments.CardDetails("4000000000000341", 12, 2034, "123")  # saves, then declines


def _user(session: Session, n: int, role: Role | None = None) -> User:
    user = User(
        email=f"bench{n}@example.invalid",
        display_name=f"Bench {n}",
        password_hash="!",  # noqa: S106 - nobody signs in as these
        usage_intent="holder",
    )
    if role is not None:
        user.roles.append(UserRole(role=role.value))
    session.add(user)
    return user


def set_up(
    factory: sessionmaker[Session], n_pools: int, n_pledges: int
) -> tuple[list[int], list[int], int, int]:
    """The world, and pools ready to fund; returns the pool ids."""
    per_pool = max(n_pledges // n_pools, 3)
    with factory() as session:
        council = Council(code="E08000035", name="Leeds")
        ulo = Organisation(
            name="Bench ULO",
            kind=OrganisationKind.ULO.value,
            status=ApprovalStatus.APPROVED.value,
            councils=[council],
        )
        provider = Organisation(
            name="Bench Provider",
            kind=OrganisationKind.PROVIDER.value,
            status=ApprovalStatus.APPROVED.value,
            councils=[council],
        )
        moderator = _user(session, 0, Role.ULO_STAFF)
        staff = _user(session, 1, Role.PROVIDER_STAFF)
        session.add_all([ulo, provider])
        session.flush()
        for org, person in ((ulo, moderator), (provider, staff)):
            session.add(
                OrganisationStaff(
                    organisation=org, user=person, status=ApprovalStatus.APPROVED.value
                )
            )
        pools = []
        for p in range(n_pools):
            pool = Pool(
                proposer_id=moderator.id,
                council=council,
                title=f"Bench pool {p}",
                description="A pool for the benchmark.",
                frequency="Weekly",
                min_members=3,
                max_members=per_pool,
                cap_pence=4000,
                months=3,
                deadline=utcnow().date() + timedelta(days=30),
                status=PoolStatus.OPEN.value,
            )
            session.add(pool)
            pools.append(pool)
        session.flush()
        for pool in pools:
            quotes.submit_quote(
                session,
                staff,
                provider,
                pool,
                quotes.QuoteData(
                    utcnow().date() + timedelta(days=40),
                    quotes.even_split(per_pool * 2500, pool.min_members, pool.max_members),
                    total_pence=per_pool * 2500,
                ),
            )
        people = [_user(session, 10 + i) for i in range(per_pool * n_pools)]
        session.commit()
        return [p.id for p in pools], [u.id for u in people], moderator.id, per_pool


def save_cards(app, factory, people: list[int], threads: int, refused: set[int]) -> dict[int, str]:
    """Each person's saved card (payment method id), made through localstripe in parallel."""

    def one(user_id: int) -> tuple[int, str]:
        # As the card page does (pools/routes.py `_save_card`): the customer's row committed
        # on its own, then the card saved with no transaction open, so that no database lock
        # is held while Stripe answers and SQLite can save cards on several threads too.
        with app.app_context(), factory() as session:
            user = session.get(User, user_id)
            customer_id = outside.customer_ready(session, user)
            number = REFUSED if user_id in refused else CARD
            card = payments.save_card_to_customer(customer_id, number, {"bench": "1"})
            return user_id, card.payment_method_id

    with ThreadPoolExecutor(max_workers=threads) as executor:
        return dict(executor.map(one, people))


def join_and_vote(app, factory, pool_ids, people, cards, moderator_id, per_pool) -> None:
    # An app context: closing a vote builds its emails, with links to the pool's page.
    with app.app_context(), factory() as session:
        moderator = session.get(User, moderator_id)
        for index, pool_id in enumerate(pool_ids):
            pool = session.get(Pool, pool_id)
            members = people[index * per_pool : (index + 1) * per_pool]
            for user_id in members:
                services.join(
                    session,
                    session.get(User, user_id),
                    pool,
                    services.Pledge(4000, "card", payment_method_id=cards[user_id]),
                )
            quotes.open_vote(session, moderator, pool, utcnow() + timedelta(days=3))
            (offer,) = quotes.live_quotes(pool)
            for user_id in members:
                quotes.vote(session, session.get(User, user_id), pool, offer)
            # The last member's vote closes the vote: nobody closes it by hand.
        session.commit()


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_workers(app, factory, workers: int, now, profile: str | None = None) -> None:
    """`charge_due` on several threads at once, retrying when SQLite is busy."""
    barrier = threading.Barrier(workers)
    profiles: list[cProfile.Profile] = []
    restarts: list[str] = []

    def worker() -> None:
        barrier.wait()
        # CPU time of this thread, not wall time: waits (localstripe, a lock, a busy machine)
        # are left out, so what is shown is what this process spends.
        profiler = cProfile.Profile(time.thread_time) if profile else None
        if profiler is not None:
            profiles.append(profiler)
            profiler.enable()
        try:
            work()
        finally:
            if profiler is not None:
                profiler.disable()

    def work() -> None:
        with app.app_context():
            for _ in range(20):
                # The thread's own db.session, as the pools.charge_due job runs in `flask
                # worker`: emails read through it, so a second session would wait on our lock.
                session = db.scoped()
                try:
                    report = funding.JobReport()
                    for _step in funding.charge_due_steps(session, report, now):
                        session.commit()  # each pool on its own, as the job commits
                    return
                except OperationalError as error:
                    session.rollback()
                    restarts.append(str(error.orig).splitlines()[0])
                    time.sleep(0.05)
                finally:
                    session.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if restarts:
        print(f"Workers restarted after a database error {len(restarts)} times:", Counter(restarts))
    if profile:
        stats = pstats.Stats(profiles[0])
        for other in profiles[1:]:
            stats.add(other)
        stats.dump_stats(profile)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pools", type=int, default=100)
    parser.add_argument("--pledges", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="charge-due jobs run at once")
    parser.add_argument(
        "--setup-threads",
        type=int,
        default=8,
        help="threads saving cards (no database lock is held during the Stripe calls)",
    )
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument(
        "--lapse-every", type=int, default=10, help="one refused card in every N-th pool"
    )
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="cProfile the timed phases (every worker thread); writes PREFIX-hold and "
        "PREFIX-capture (pstats files) and prints the top functions",
    )
    args = parser.parse_args()

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='bench-')}/bench.sqlite3"
    migrations.upgrade(url)
    port = free_port()
    stripe = start_process(port)
    try:
        # No JSON request logs: they would print every email the run "sends" (to the log).
        app = create_app(
            {
                "DATABASE_URL": url,
                "PUBLIC_BASE_URL": "http://127.0.0.1",  # required; nothing here is served
                "STRIPE_API_BASE": f"http://127.0.0.1:{port}",
                "JSON_REQUEST_LOGS": False,
            }
        )
        engine = make_engine(url)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        load = os.getloadavg()
        print(
            f"{args.pools} pools, {args.pledges} pledges, {args.workers} workers; "
            f"{os.cpu_count()} cores, load {load[0]:.2f}; database {engine.dialect.name}"
        )

        started = time.perf_counter()
        pool_ids, people, moderator_id, per_pool = set_up(factory, args.pools, args.pledges)
        refused = {people[index * per_pool] for index in range(0, len(pool_ids), args.lapse_every)}
        cards = save_cards(app, factory, people, args.setup_threads, refused)
        join_and_vote(app, factory, pool_ids, people, cards, moderator_id, per_pool)
        print(f"Set-up: {len(people)} members with saved cards in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        with factory() as session, app.app_context():
            first = session.get(Pool, pool_ids[0])
            hold_at = schedule.start_of(schedule.hold_date(session, first)) + timedelta(hours=1)
            charge_at = schedule.start_of(schedule.charge_date(session, first, 1)) + timedelta(
                hours=1
            )

        ours, theirs = time.process_time(), cpu_seconds(stripe.pid)
        started = time.perf_counter()
        run_workers(app, factory, args.workers, hold_at, args.profile and f"{args.profile}-hold")
        hold_time = time.perf_counter() - started
        hold_cpu = (time.process_time() - ours, cpu_seconds(stripe.pid) - theirs)
        with factory() as session:
            holds = session.scalar(
                select(func.count(Charge.id)).where(Charge.manual_capture.is_(True))
            )
        ours, theirs = time.process_time(), cpu_seconds(stripe.pid)
        started = time.perf_counter()
        run_workers(
            app, factory, args.workers, charge_at, args.profile and f"{args.profile}-capture"
        )
        capture_time = time.perf_counter() - started
        capture_cpu = (time.process_time() - ours, cpu_seconds(stripe.pid) - theirs)

        with factory() as session, app.app_context():
            captured = session.scalar(
                select(func.count(Charge.id)).where(
                    Charge.status == ChargeStatus.SUCCEEDED.value, Charge.manual_capture.is_(True)
                )
            )
            running = session.scalar(
                select(func.count(Pool.id)).where(Pool.status == PoolStatus.RUNNING.value)
            )
            lapsed = {
                str(i)
                for i in session.scalars(
                    select(Pool.id).where(Pool.status == PoolStatus.LAPSED.value)
                )
            }
            pool_states = dict(
                session.execute(select(Pool.status, func.count()).group_by(Pool.status)).all()
            )
            payment_states = dict(
                session.execute(
                    select(PoolPayment.status, func.count()).group_by(PoolPayment.status)
                ).all()
            )
            remote = [
                p
                for p in get_gateway().recent_payment_intents(limit=10 * len(people) + 100)
                if "pool" in p.metadata
            ]
        per_key = Counter(p.metadata.get("charge_key") for p in remote)
        duplicate_holds = sum(n - 1 for n in per_key.values())
        taken = Counter(p.metadata.get("charge_key") for p in remote if p.status == "succeeded")
        duplicate_captures = sum(n - 1 for n in taken.values())
        in_lapsed = sum(
            1 for p in remote if p.status == "succeeded" and p.metadata.get("pool") in lapsed
        )
        print(f"Went ahead: {running}/{len(pool_ids)} pools; lapsed: {len(lapsed)}")
        print(f"Pools by state: {pool_states}; payments by state: {payment_states}")
        print(f"Holds placed: {holds} in {hold_time:.1f} s; captured: {captured} in "
              f"{capture_time:.1f} s (localstripe holds {len(remote)} PaymentIntents)")  # fmt: skip
        print(f"Duplicate holds: {duplicate_holds}; duplicate captures: {duplicate_captures}")
        print(f"Captures in pools that lapsed: {in_lapsed}")
        print(
            f"CPU seconds, this process / localstripe: holding {hold_cpu[0]:.1f} / "
            f"{hold_cpu[1]:.1f}; capturing {capture_cpu[0]:.1f} / {capture_cpu[1]:.1f}"
        )
        print(f"Holds per second: {holds / hold_time:.1f}")
        print(f"Captures per second: {captured / capture_time:.1f}")
        engine.dispose()
        db.scoped.remove()
    finally:
        stripe.terminate()


if __name__ == "__main__":
    main()
