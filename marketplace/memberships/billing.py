"""Membership changes Stripe must hear of, with no database transaction open during a call.

On SQLite every transaction takes the write lock at its first statement, and on PostgreSQL a
written row stays locked until the commit: a Stripe call inside either makes every other
request wait on Stripe. So each change here is a unit of work of three steps: check (reads
only, then that read is ended), tell Stripe, then write and commit. Routes, the membership job
and the CLI call these; the rules themselves are in services.py and never commit.

If the write fails after Stripe started a subscription, the subscription is stopped again
(unless a membership already holds it: the same form sent twice gets the same subscription).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from marketplace import outbox
from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.errors import DomainError
from marketplace.memberships import services
from marketplace.memberships.models import Basis, Membership, MembershipOffer
from marketplace.organisations.models import Organisation
from marketplace.payments import outside
from marketplace.payments import services as payments
from marketplace.payments.gateway import (
    CardDeclined,
    PaymentError,
    PaymentGateway,
    SubscriptionResult,
    get_gateway,
)

log = logging.getLogger(__name__)


def _stop_at_period_end(gateway: PaymentGateway, subscription_id: str) -> SubscriptionResult:
    try:
        return gateway.cancel_subscription(subscription_id, at_period_end=True)
    except PaymentError as error:
        raise DomainError(
            "We could not reach the card company just now, so nothing has changed. "
            "Please try again in a few minutes."
        ) from error


@contextmanager
def _recorded(session: Session, fee: services.FeeStart, gateway: PaymentGateway) -> Iterator[None]:
    """Write the started subscription in the block and commit; if that fails, stop it."""
    try:
        yield
        outbox.commit(session)
    except BaseException:
        session.rollback()
        held = services.subscription_recorded(session, fee.subscription.id)
        session.rollback()  # a read
        if not held:
            log.error("Subscription %s could not be recorded; stopping it", fee.subscription.id)
            gateway.cancel_subscription(fee.subscription.id, at_period_end=False)
        raise


def set_offer(
    session: Session,
    staff: User,
    org: Organisation,
    data: services.OfferData,
    gateway: PaymentGateway | None = None,
) -> MembershipOffer:
    """Staff set their ULO's offer: a new or changed fee's Stripe Plan is made first (a plan
    left unused if the write then fails costs nothing: nobody is subscribed to it)."""
    needed = services.plan_needed(session, staff, org, data)
    plan_id = None
    if needed is not None:
        outside.end_read(session)
        try:
            plan_id = (gateway or get_gateway()).create_plan(*needed)
        except PaymentError as error:
            raise DomainError(
                "We could not reach the card company just now, so the offer is not saved. "
                "Please try again in a few minutes.",
                field="fee_pence",
            ) from error
    offer = services.set_offer(session, staff, org, data, plan_id=plan_id)
    outbox.commit(session)
    return offer


def join_paying(
    session: Session,
    user: User,
    org: Organisation,
    card: payments.CardDetails | None,
    acting_carer: User | None = None,
    gateway: PaymentGateway | None = None,
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> Membership:
    """Join a ULO by fee: the card is saved and the subscription started (the first month is
    charged) before anything is written, so a declined card leaves nothing saved here."""
    gateway = gateway or get_gateway()
    terms = services.fee_terms(session, user, org, card is not None, acting_carer)
    customer_id = outside.customer_ready(session, user, gateway)
    fee = services.start_fee(customer_id, terms, card, gateway, idempotency_key)
    with _recorded(session, fee, gateway):
        membership = services.join(
            session, user, org, Basis.FEE.value, fee=fee, acting_carer=acting_carer, now=now
        )
    return membership


def switch(
    session: Session,
    user: User,
    membership: Membership,
    new_basis: str,
    card: payments.CardDetails | None = None,
    acting_carer: User | None = None,
    gateway: PaymentGateway | None = None,
    now: datetime | None = None,
) -> Membership:
    """Switch basis from next month: Stripe is told first (fee -> reciprocity: the subscription
    ends with the period paid for; reciprocity -> fee: the card is saved), then it is written."""
    gateway = gateway or get_gateway()
    plan = services.switch_plan(
        session, user, membership, new_basis, card is not None, acting_carer
    )
    if plan.stop_subscription_id is not None:
        outside.end_read(session)
        _stop_at_period_end(gateway, plan.stop_subscription_id)
    elif card is not None:
        customer_id = outside.customer_ready(session, user, gateway)
        try:
            payments.save_card_to_customer(customer_id, card, plan.metadata, gateway)
        except CardDeclined as error:
            raise DomainError(error.message, field="card") from error
    services.switch_basis(session, user, membership, new_basis, acting_carer, now)
    outbox.commit(session)
    return membership


def leave(
    session: Session,
    user: User,
    membership: Membership,
    acting_carer: User | None = None,
    gateway: PaymentGateway | None = None,
    now: datetime | None = None,
) -> Membership:
    """Leave: a fee subscription is told at Stripe to end with the period paid for, then the
    leaving is written."""
    stop = services.subscription_to_stop(session, user, membership, acting_carer)
    stopped = None
    if stop is not None:
        outside.end_read(session)
        stopped = _stop_at_period_end(gateway or get_gateway(), stop)
    services.leave(session, user, membership, acting_carer, stopped, now)
    outbox.commit(session)
    return membership


def apply_switches(
    session: Session, now: datetime | None = None, gateway: PaymentGateway | None = None
) -> int:
    """Job: make switches whose month has come take effect, each committed on its own (a later
    failure cannot roll back our record of a subscription Stripe already holds); returns how
    many did. A re-run asks Stripe with the same idempotency key."""
    now = now or utcnow()
    applied = 0
    for membership_id in services.switches_due(session, now):
        membership = session.get(Membership, membership_id)
        if membership is None or membership.pending_basis is None:
            continue
        if membership.pending_basis != Basis.FEE:
            applied += services.apply_switch(session, membership, None, now)
            outbox.commit(session)
            continue
        terms = services.switch_fee_terms(session, membership)
        customer_id = payments.stored_customer_id(session, membership.user)
        if terms is None or customer_id is None:
            services.drop_switch(membership, "the fee is no longer offered or no card is saved")
            outbox.commit(session)
            continue
        key = services.switch_key(membership)
        gateway = gateway or get_gateway()
        outside.end_read(session)
        try:
            fee = services.start_fee(customer_id, terms, None, gateway, key)
        except DomainError as error:
            services.drop_switch(membership, error.message)
            outbox.commit(session)
            continue
        with _recorded(session, fee, gateway):
            applied += services.apply_switch(session, membership, fee, now)
    return applied


@dataclass(frozen=True)
class JobReport:
    """What one run of the membership jobs did."""

    switched: int
    resumed: int
    lapsed: int
    reminders: services.ReminderReport


def run_jobs(
    session: Session, now: datetime | None = None, gateway: PaymentGateway | None = None
) -> JobReport:
    """Every membership job, in order, each step committed; safe to run again."""
    now = now or utcnow()
    switched = apply_switches(session, now, gateway)
    resumed = services.resume_finished_pauses(session, now)
    lapsed = services.lapse_overdue(session, now)
    reminders = services.remind_payment_due(session, now)
    outbox.commit(session)
    return JobReport(switched, resumed, lapsed, reminders)
