"""A fee membership's fee, paused while the member takes a wellbeing break, if their ULO offers it.

The ULO chooses (MembershipOffer.pause_fee_on_break); it is their income. When it does, Stripe is
told to take nothing (`pause_collection`, invoices voided, so nothing is owed afterwards) and the
subscription row notes since when. Stripe is told before the break is written
(wellbeing/break_steps.py), with no transaction open. Coming back resumes it after the commit
(the outbox). If Stripe cannot be reached then, the break still ends (coming back must never
fail) and `resume_fees_left_paused`, run by the hourly job that ends timed breaks, tries again
until Stripe has it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace import outbox
from marketplace.db import utcnow
from marketplace.errors import DomainError
from marketplace.memberships.common import offer_of
from marketplace.memberships.models import (
    Basis,
    Membership,
    MembershipStatus,
    MembershipSubscription,
)
from marketplace.memberships.services import current_subscription
from marketplace.payments import outside
from marketplace.payments.gateway import PaymentError, PaymentGateway, get_gateway

log = logging.getLogger(__name__)


def ulo_pauses_fee(session: Session, membership: Membership) -> bool:
    """True when this is a fee membership whose ULO stops the fee during a member's break."""
    if membership.basis != Basis.FEE.value:
        return False
    offer = offer_of(session, membership.organisation_id)
    return offer is not None and offer.pause_fee_on_break


def can_pause_fee(session: Session, membership: Membership) -> bool:
    """The fee can be paused now: the ULO allows it, it is paid up and still running.
    A payment that is due stays due: a break never cancels money already owed."""
    subscription = current_subscription(membership)
    return (
        ulo_pauses_fee(session, membership)
        and membership.status == MembershipStatus.ACTIVE.value
        and not membership.leaving
        and subscription is not None
        and subscription.collection_paused_at is None
    )


def fee_to_pause(session: Session, membership: Membership) -> MembershipSubscription | None:
    """The subscription whose fee a break would pause now, if any (see can_pause_fee)."""
    if not can_pause_fee(session, membership):
        return None
    return current_subscription(membership)


def pause_at_stripe(
    stripe_ids: list[str], until: datetime | None, gateway: PaymentGateway | None = None
) -> None:
    """Tell Stripe to take nothing from these subscriptions until `until` (None: until resumed).
    All or none: if Stripe cannot be told about one, those already paused are resumed and
    DomainError says nothing has changed. Stripe calls only: call it with no transaction open."""
    gateway = gateway or get_gateway()
    done: list[str] = []
    try:
        for stripe_id in stripe_ids:
            gateway.pause_collection(stripe_id, until)
            done.append(stripe_id)
    except PaymentError as error:
        unpause_at_stripe(done, gateway)
        raise DomainError(
            "We could not pause your membership fee just now, so nothing has changed. "
            "Please try again in a few minutes."
        ) from error


def unpause_at_stripe(stripe_ids: list[str], gateway: PaymentGateway | None = None) -> None:
    """Undo `pause_at_stripe` when the break it was for could not be saved (best effort: a
    fee left paused is found by `resume_fees_left_paused`, as it has no paused row)."""
    gateway = gateway or get_gateway()
    for stripe_id in stripe_ids:
        try:
            gateway.resume_collection(stripe_id)
        except PaymentError:
            log.error("Could not resume the fee of subscription %s after a failed break", stripe_id)


def mark_paused(subscription: MembershipSubscription, now: datetime | None = None) -> None:
    """Record that Stripe has paused this fee (after `pause_at_stripe`)."""
    subscription.collection_paused_at = now or utcnow()


def resume_later(session: Session, membership: Membership) -> None:
    """Take the fee again once this transaction commits (the outbox), never inside it, and
    never blocking coming back: if Stripe cannot be reached then, the row stays marked and
    the hourly job (`resume_fees_left_paused`) tries again."""
    subscription = current_subscription(membership)
    if subscription is None or subscription.collection_paused_at is None:
        return
    outbox.note(
        session,
        ("fee-resume", subscription.id),
        functools.partial(_resume_now, subscription.id),
        f"resume the fee of membership {membership.id}",
    )


def _resume_now(subscription_id: int, session: Session) -> None:
    """Outbox work, on a session of its own: read, end the read, tell Stripe, then write."""
    subscription = session.get(MembershipSubscription, subscription_id)
    if subscription is None or subscription.collection_paused_at is None:
        return  # resumed meanwhile
    stripe_id = subscription.stripe_subscription_id
    outside.end_read(session)
    try:
        get_gateway().resume_collection(stripe_id)
    except PaymentError:
        log.warning("Could not resume the fee of subscription %s; will retry", subscription_id)
        return
    subscription.collection_paused_at = None


def resume_fees_left_paused(session: Session, still_away: Callable[[int], bool]) -> int:
    """Job: fees still paused although their member is back (Stripe was unreachable when they
    returned, or the membership ended meanwhile): each is resumed after the job's commit.
    Returns how many were noted."""
    paused = session.scalars(
        select(MembershipSubscription)
        .where(
            MembershipSubscription.collection_paused_at.is_not(None),
            MembershipSubscription.ended_at.is_(None),
        )
        .order_by(MembershipSubscription.id)
    ).all()
    noted = 0
    for subscription in paused:
        membership = subscription.membership
        if still_away(membership.user_id):
            continue
        resume_later(session, membership)
        noted += 1
    return noted
