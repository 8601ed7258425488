"""The pools package's background jobs: collecting a pool's money happens here, not in a page.

Both handlers are registered with commits=True (in `marketplace.pools.init_app`): card charges
commit their claim before Stripe is called (payments.charge_once), so they cannot share the
worker's transaction. They run under a lease, at least once, and are safe to run again: every
payment is claimed once per (pool, member, month) and charged with its own idempotency key.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from marketplace import outbox
from marketplace.pools import funding, invoices, quotes
from marketplace.pools.models import Pool, PoolStatus

log = logging.getLogger(__name__)

FUND = quotes.FUND_JOB  # enqueued by quotes.close_vote
CHARGE_DUE = "pools.charge_due"
VOTES = "pools.votes"
CHASE_INVOICES = "pools.chase_invoices"


def fund(session: Session, payload: dict[str, Any]) -> None:
    """Collect the first month of a pool whose vote chose a quote: {pool_id}. Enqueued with the
    vote's result; a pool already collected (by `pools.charge_due`, or an earlier run of this
    job) is settled again at most, which changes nothing that is settled."""
    # Read afresh: the worker's session may hold this pool from before the vote closed.
    pool = session.get(Pool, int(payload["pool_id"]), populate_existing=True)
    if pool is None or pool.status != PoolStatus.FUNDED.value:
        log.info("pools.fund: pool %s is not waiting to be funded", payload.get("pool_id"))
        return
    status = funding.fund(session, pool)
    outbox.commit(session)
    log.info("pools.fund: pool %s is %s", pool.id, status)


def charge_due(session: Session, _payload: dict[str, Any]) -> None:
    """Lapse, fund and charge pools, committing after each pool (see funding.charge_due_steps).
    It also collects any pool marked funded whose `pools.fund` job never ran."""
    report = funding.JobReport()
    for _ in funding.charge_due_steps(session, report):
        outbox.commit(session)
    log.info("pools.charge_due: %s", report)


def close_votes(session: Session) -> tuple[int, int]:
    """Close every vote whose window has ended, then remind proposers whose last moment to open
    a vote is near, committing after each pool. Returns (closed, reminded)."""
    closed = reminded = 0
    for _ in quotes.close_due_votes(session):
        outbox.commit(session)
        closed += 1
    for _ in quotes.remind_open_by(session):
        outbox.commit(session)
        reminded += 1
    outbox.commit(session)
    return closed, reminded


def votes(session: Session, _payload: dict[str, Any]) -> None:
    """The periodic `pools.votes` job: votes close by themselves (see close_votes)."""
    closed, reminded = close_votes(session)
    log.info("pools.votes: %s closed, %s reminded", closed, reminded)


def chase_invoices(session: Session, _payload: dict[str, Any]) -> None:
    """The periodic `pools.chase_invoices` job: reminders 7 days and 1 day before and on the due
    date, and the grace rule for an invoice unpaid after it (see invoices.chase)."""
    chased = invoices.chase(session)
    outbox.commit(session)
    log.info("pools.chase_invoices: %s", chased)
