"""Raising the most a member will pay a month, when fewer people share the cost.

A share above a member's maximum is never charged (they never agreed to it). Raising the
maximum is agreeing to new terms, so it is a step of its own with a check-your-answers page;
afterwards any payment held back only because it was over the old maximum is collected (card)
or invoiced (managed account), and nothing above the new maximum ever is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.money import format_pence
from marketplace.payments.gateway import PaymentGateway
from marketplace.pools import funding, services, shares
from marketplace.pools.models import (
    PayBy,
    PaymentStatus,
    Pool,
    PoolMember,
    PoolPayment,
    PoolStatus,
)

OVER_MAXIMUM = funding.OVER_MAXIMUM
ENDED = frozenset(
    {
        PoolStatus.REJECTED,
        PoolStatus.WINDING_DOWN,
        PoolStatus.CLOSED,
        PoolStatus.LAPSED,
        PoolStatus.CANCELLED,
    }
)


def member_of(session: Session, user: User, pool: Pool) -> PoolMember:
    """The person's current place in the pool (member, waiting, or offered a place: they may
    raise their maximum to take it), or NotAllowed."""
    member = services.member_record(session, pool, user.id)
    if member is None or member.status not in services.IN_POOL:
        raise NotAllowed("You are not in this pool")
    return member


def check_new_maximum(pool: Pool, member: PoolMember, new_max_pence: int) -> None:
    """Raise DomainError (on the max_pence field) unless this is a real rise within the cap."""
    if PoolStatus(pool.status) in ENDED:
        raise DomainError("This pool has ended, so nothing more will be charged", field="max_pence")
    if new_max_pence <= member.max_pence:
        raise DomainError(
            f"Enter an amount more than the {format_pence(member.max_pence)} you agreed to",
            field="max_pence",
        )
    if new_max_pence > pool.cap_pence:
        raise DomainError(
            f"The most anyone pays in this pool is {format_pence(pool.cap_pence)} a month",
            field="max_pence",
        )


def current_share(session: Session, pool: Pool) -> int | None:
    """What each member pays for the month being collected or next (None before a quote wins):
    `shares.share_for`, the amount that month is charged."""
    return shares.share_or_none(session, pool, shares.next_month(pool))


def held_back(session: Session, pool: Pool, member: PoolMember) -> list[PoolPayment]:
    """This member's payments not taken only because the share was over their maximum."""
    return list(
        session.scalars(
            select(PoolPayment)
            .where(
                PoolPayment.pool_id == pool.id,
                PoolPayment.user_id == member.user_id,
                PoolPayment.status == PaymentStatus.FAILED.value,
                PoolPayment.message == OVER_MAXIMUM,
            )
            .order_by(PoolPayment.month)
        )
    )


def raise_maximum(
    session: Session, user: User, pool: Pool, new_max_pence: int, now: datetime | None = None
) -> PoolMember:
    """Agree to pay up to `new_max_pence` a month: new terms, recorded with when they were
    agreed. Held-back invoices are sent at once; card payments are taken by `collect_held_back`
    after the commit (each charge commits its claim before Stripe is called)."""
    now = as_utc(now or utcnow())
    services.lock_pool(session, pool)
    member = member_of(session, user, pool)
    check_new_maximum(pool, member, new_max_pence)
    member.max_pence = new_max_pence
    member.terms = services.terms_text(pool, new_max_pence, member.pay_by)
    member.terms_agreed_at = now
    if member.pay_by != PayBy.CARD.value:
        for row in held_back(session, pool, member):
            if row.amount_pence <= new_max_pence:
                funding.invoice(session, row, member, now)
    return member


def collect_held_back(
    session: Session,
    user: User,
    pool: Pool,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
) -> list[PoolPayment]:
    """Take the card payments held back over the old maximum that fit the new one. Each charge
    commits its claim before Stripe is called (payments.charge_once); the caller commits the
    rest."""
    member = member_of(session, user, pool)
    rows = [r for r in held_back(session, pool, member) if r.amount_pence <= member.max_pence]
    return [
        funding.retry_payment(session, user, pool, row.month, now=now, gateway=gateway)
        for row in rows
        if member.pay_by == PayBy.CARD.value
    ]
