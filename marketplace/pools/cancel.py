"""Cancelling a pool: by its proposer before it is funded, by the area's ULO staff or an admin
at any time, always with a reason its members can read.

Cancelling stops the pool for good: every payment not yet taken is released
(`funding.release_all`), no month is charged after it (`funding.charge_due_steps` only charges
funded and running pools), the members and the people waiting are emailed, and the audit log
records who did it and why. Nothing is deleted: members (and carers acting for them) still read
the pool page with its payments, quotes and discussion (`services.can_see`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import User
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.pools import funding, notices, offers, services
from marketplace.pools.models import (
    Invoice,
    InvoiceStatus,
    PaymentStatus,
    Pool,
    PoolPayment,
    PoolStatus,
)

MAX_REASON = 1000
PROPOSER = "proposer"
STAFF = "staff"  # ULO staff for the pool's area, or an admin
# Before funding nobody has been asked for money yet, so the proposer may still call it off.
BY_PROPOSER = (PoolStatus.PENDING.value, PoolStatus.OPEN.value, PoolStatus.VOTING.value)
BY_STAFF = (
    *BY_PROPOSER,
    PoolStatus.FUNDED.value,
    PoolStatus.RUNNING.value,
    PoolStatus.WINDING_DOWN.value,
)
AUDIT_ACTION = "pool.cancel"


def role(session: Session, user: User, pool: Pool) -> str | None:
    """How this person could cancel the pool: as area staff (any time), as its proposer or a
    carer the proposer lets act for them in pools (before funding), or not at all (None).
    Staff powers win for a proposer who is also staff."""
    areas = moderation.moderated_council_codes(session, user)
    if areas is None or pool.council.code in areas:
        return STAFF
    if user.id == pool.proposer_id or _acts_for_proposer(session, user, pool):
        return PROPOSER
    return None


def _acts_for_proposer(session: Session, user: User, pool: Pool) -> bool:
    if pool.proposer_id is None:
        return False
    helped = carers.people_i_act_for(session, user, CarerScope.POOLS)
    return any(holder.id == pool.proposer_id for holder in helped)


def check(session: Session, user: User, pool: Pool) -> str:
    """The role this person cancels with, or NotAllowed (not theirs) / DomainError (too late)."""
    found = role(session, user, pool)
    if found is None:
        raise NotAllowed("Only the person who proposed the pool, or ULO staff, can cancel it")
    if pool.status == PoolStatus.CANCELLED.value:
        raise DomainError("This pool is already cancelled")
    allowed = BY_STAFF if found == STAFF else BY_PROPOSER
    if pool.status not in allowed:
        if found == PROPOSER and pool.status in BY_STAFF:
            raise DomainError(
                "The pool has been funded, so only the local user-led organisation can cancel "
                "it now. Contact them, or report the pool"
            )
        raise DomainError("This pool has already ended")
    return found


def clean_reason(reason: str) -> str:
    """The reason as members will read it; required, at most MAX_REASON characters."""
    text = (reason or "").strip()
    if not text:
        raise DomainError("Say why the pool is cancelled: its members will read this", "reason")
    if len(text) > MAX_REASON:
        raise DomainError(f"Keep the reason to {MAX_REASON:,} characters", field="reason")
    return text


@dataclass(frozen=True)
class Preview:
    """What cancelling would do now, in the numbers the confirm page states."""

    role: str
    members: int
    waiting: int
    open_payments: int  # payment rows not yet taken, which cancelling releases
    open_invoices: int  # invoices not paid in full: each account holder is told to stop


OPEN_PAYMENTS = (
    PaymentStatus.PENDING.value,
    PaymentStatus.FAILED.value,
    PaymentStatus.ACTION_NEEDED.value,
    PaymentStatus.INVOICED.value,
)


def preview(session: Session, user: User, pool: Pool) -> Preview:
    """For the confirm page: who is told and what is released (checks the person may)."""
    found = check(session, user, pool)
    open_payments = session.scalar(
        select(func.count(PoolPayment.id)).where(
            PoolPayment.pool_id == pool.id, PoolPayment.status.in_(OPEN_PAYMENTS)
        )
    )
    return Preview(
        role=found,
        members=len(pool.current_members),
        waiting=len(pool.waiting_list),
        open_payments=open_payments or 0,
        open_invoices=session.scalar(
            select(func.count(Invoice.id)).where(
                Invoice.pool_id == pool.id,
                Invoice.status == InvoiceStatus.OPEN.value,
                Invoice.payment_id.in_(
                    select(PoolPayment.id).where(PoolPayment.status.in_(OPEN_PAYMENTS))
                ),
            )
        )
        or 0,
    )


def _who(session: Session, user: User, pool: Pool, found: str) -> str:
    if found == PROPOSER and user.id != pool.proposer_id:
        return "someone acting for the person who proposed it"
    if found == PROPOSER:
        return "the person who proposed it"
    if moderation.moderated_council_codes(session, user) is None:
        return "the site's administrators"
    return "the local user-led organisation"


def cancel(
    session: Session, user: User, pool: Pool, reason: str, now: datetime | None = None
) -> Pool:
    """Cancel the pool (see the module docstring). Never commits."""
    now = as_utc(now or utcnow())
    text = clean_reason(reason)
    # Behind anyone joining, leaving or voting; then check again what we locked.
    services.lock_pool(session, pool)
    found = check(session, user, pool)
    if found == PROPOSER and user.id != pool.proposer_id and pool.proposer_id is not None:
        # A carer: their grant is checked again and the proposer can see what was done.
        services.act_as(session, user, pool.proposer_id, f"Cancelled the pool {pool.title}")
    before = pool.status
    if before == PoolStatus.PENDING.value:
        moderation.withdraw(session, services.ITEM_POOL, pool.id)  # nothing left to approve
    pool.status = PoolStatus.CANCELLED.value
    pool.end_reason = f"Cancelled by {_who(session, user, pool, found)}. Reason: {text.rstrip('.')}"
    pool.ended_at = now
    pool.vote_closes_at = None  # the closing job leaves it alone
    released = funding.release_all(session, pool)
    audit.record(
        session,
        user.id,
        AUDIT_ACTION,
        "pool",
        pool.id,
        f"Cancelled as {found} while {before}; {released} payment(s) released. Reason: {text}",
    )
    notices.cancelled(session, pool)  # people offered a place are told too, then the offers end
    offers.withdraw_all(session, pool, now)
    return pool
