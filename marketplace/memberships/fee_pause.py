"""A fee membership's fee, paused while the member takes a wellbeing break, if their ULO offers it.

The ULO chooses (MembershipOffer.pause_fee_on_break); it is their income. When it does, Stripe is
told to take nothing (`pause_collection`, invoices voided, so nothing is owed afterwards) and the
subscription row notes since when. Coming back resumes it. If Stripe cannot be reached on the way
back, the break still ends (coming back must never fail) and `resume_fees_left_paused`, run by
the hourly job that ends timed breaks, tries again until Stripe has it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

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


def pause_fee(
    session: Session,
    membership: Membership,
    until: datetime | None,
    gateway: PaymentGateway | None = None,
    now: datetime | None = None,
) -> MembershipSubscription | None:
    """Stop the fee until `until` (None: until resumed); None, changing nothing, when it cannot
    be paused (see can_pause_fee). Raises DomainError if Stripe cannot be told, so the caller's
    transaction (the whole break) is rolled back and nothing changed."""
    subscription = current_subscription(membership)
    if subscription is None or not can_pause_fee(session, membership):
        return None
    try:
        (gateway or get_gateway()).pause_collection(subscription.stripe_subscription_id, until)
    except PaymentError as error:
        raise DomainError(
            "We could not pause your membership fee just now, so nothing has changed. "
            "Please try again in a few minutes."
        ) from error
    subscription.collection_paused_at = now or utcnow()
    return subscription


def resume_fee(
    session: Session, membership: Membership, gateway: PaymentGateway | None = None
) -> bool:
    """Take the fee again. False (and the row stays marked) if Stripe could not be reached:
    the hourly job tries again."""
    subscription = current_subscription(membership)
    if subscription is None or subscription.collection_paused_at is None:
        return True
    try:
        (gateway or get_gateway()).resume_collection(subscription.stripe_subscription_id)
    except PaymentError:
        log.warning("Could not resume the fee of membership %s; will retry", membership.id)
        return False
    subscription.collection_paused_at = None
    return True


def resume_fees_left_paused(
    session: Session,
    still_away: Callable[[int], bool],
    gateway: PaymentGateway | None = None,
) -> int:
    """Job: fees still paused although their member is back (Stripe was unreachable when they
    returned, or the membership ended meanwhile). Returns how many were resumed."""
    paused = session.scalars(
        select(MembershipSubscription)
        .where(
            MembershipSubscription.collection_paused_at.is_not(None),
            MembershipSubscription.ended_at.is_(None),
        )
        .order_by(MembershipSubscription.id)
    ).all()
    resumed = 0
    for subscription in paused:
        membership = subscription.membership
        if still_away(membership.user_id):
            continue
        if resume_fee(session, membership, gateway):
            resumed += 1
    return resumed
