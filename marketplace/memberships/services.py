"""Membership rules: each ULO's offer, joining on a basis, switching, pausing, leaving, the fee
subscription kept in line with Stripe by webhooks, and the jobs that lapse and remind.

States (see models.py): active ⇄ paused (reciprocity) ; active → payment_due → active | lapsed ;
lapsed → active (a retry paid) ; any live state → ended.

Services never commit (DESIGN §5a). Stripe is called BEFORE our rows are written when joining,
so a declined card leaves nothing saved here. Importing this module registers the webhook
handlers, the privacy exporter/eraser, and (through its imports) the reciprocity, help-request
and dashboard services.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.db import as_utc, utcnow
from marketplace.email import MONEY, send_now
from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships.common import (
    act_as,
    live_membership,
    month_start,
    next_month,
    offer_of,
    require_staff,
    require_ulo,
    today_of,
)
from marketplace.memberships.models import (
    MAX_COMMITMENT_MINUTES,
    MAX_FEE_PENCE,
    PAYMENT_GRACE_DAYS,
    Basis,
    GivingKind,
    Membership,
    MembershipOffer,
    MembershipPause,
    MembershipStatus,
    MembershipSubscription,
)
from marketplace.money import format_pence
from marketplace.organisations.models import Organisation
from marketplace.payments import services as payments
from marketplace.payments.gateway import (
    CardDeclined,
    PaymentError,
    PaymentGateway,
    SubscriptionResult,
    get_gateway,
)

log = logging.getLogger(__name__)

# Metadata on every membership subscription, so reconciliation and the dashboard can match it.
META_ORGANISATION = "membership_organisation"
META_USER = "membership_user"

ACTIVE_AT_STRIPE = ("active", "trialing")


# --- the offer ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferData:
    """A ULO's membership offer, parsed from the form (pence, minutes)."""

    fee_pence: int | None
    reciprocity_minutes: int | None
    reciprocity_kinds: tuple[str, ...] = ()
    pause_fee_on_break: bool = False


def _check_offer(data: OfferData) -> None:
    if data.fee_pence is None and data.reciprocity_minutes is None:
        raise DomainError("Offer a monthly fee, giving time back, or both", field="fee_pence")
    if data.fee_pence is not None and not 0 < data.fee_pence <= MAX_FEE_PENCE:
        raise DomainError(
            f"The monthly fee must be more than £0 and at most {format_pence(MAX_FEE_PENCE)}",
            field="fee_pence",
        )
    if data.reciprocity_minutes is not None:
        if not 0 < data.reciprocity_minutes <= MAX_COMMITMENT_MINUTES:
            raise DomainError(
                f"The hours a month must be more than 0 and at most {MAX_COMMITMENT_MINUTES // 60}",
                field="reciprocity_minutes",
            )
        if not data.reciprocity_kinds:
            raise DomainError(
                "Choose the kinds of giving back you accept", field="reciprocity_kinds"
            )
        known = {k.value for k in GivingKind}
        if any(k not in known for k in data.reciprocity_kinds):
            raise DomainError(
                "Choose kinds of giving back from the list", field="reciprocity_kinds"
            )


def set_offer(
    session: Session,
    staff: User,
    org: Organisation,
    data: OfferData,
    gateway: PaymentGateway | None = None,
) -> MembershipOffer:
    """Staff set their ULO's offer. A new or changed fee makes a new Stripe Plan, which new
    subscriptions use; existing members keep the plan they joined on."""
    require_ulo(org)
    require_staff(session, staff, org)
    _check_offer(data)
    offer = offer_of(session, org.id)
    if offer is None:
        offer = MembershipOffer(organisation_id=org.id)
        session.add(offer)
    if data.fee_pence is not None and (
        data.fee_pence != offer.fee_pence or offer.stripe_plan_id is None
    ):
        gateway = gateway or get_gateway()
        offer.stripe_plan_id = gateway.create_plan(f"{org.name} membership", data.fee_pence)
    if data.fee_pence is None:
        offer.stripe_plan_id = None
    offer.fee_pence = data.fee_pence
    offer.reciprocity_minutes = data.reciprocity_minutes
    kinds = [k.value for k in GivingKind if k.value in data.reciprocity_kinds]
    offer.reciprocity_kinds = ",".join(kinds) if data.reciprocity_minutes is not None else ""
    offer.pause_fee_on_break = data.pause_fee_on_break and data.fee_pence is not None
    offer.updated_by_id = staff.id
    return offer


def offer_for(session: Session, org: Organisation) -> MembershipOffer | None:
    """The ULO's public offer (anyone may read it)."""
    return offer_of(session, org.id)


# --- joining ------------------------------------------------------------------------------------


def _offer_for_basis(session: Session, org: Organisation, basis: str) -> MembershipOffer:
    offer = offer_of(session, org.id)
    if basis not in {b.value for b in Basis}:
        raise DomainError("Choose to pay a fee or to give time back", field="basis")
    if offer is None:
        raise DomainError("This organisation has not set up memberships yet", field="organisation")
    if basis == Basis.FEE and offer.fee_pence is None:
        raise DomainError("This organisation does not offer a fee membership", field="basis")
    if basis == Basis.RECIPROCITY and offer.reciprocity_minutes is None:
        raise DomainError("This organisation does not offer giving time back", field="basis")
    return offer


def _subscribe(
    session: Session,
    user: User,
    org: Organisation,
    offer: MembershipOffer,
    card: payments.CardDetails | None,
    gateway: PaymentGateway,
    idempotency_key: str | None = None,
) -> tuple[str, SubscriptionResult]:
    """Save the card (if given) and start a subscription; nothing of ours is written except the
    Stripe customer row. Raises DomainError(field="card") when the card or first payment fails."""
    if offer.stripe_plan_id is None:  # cannot happen: the fee_has_plan constraint
        raise DomainError("This organisation does not offer a fee membership", field="basis")
    metadata = {META_ORGANISATION: str(org.id), META_USER: str(user.id)}
    try:
        if card is not None:
            payments.save_card(session, user, card, metadata, gateway)
        customer_id = payments.customer_for(session, user, gateway)
        result = gateway.create_subscription(
            customer_id,
            offer.stripe_plan_id,
            metadata,
            idempotency_key or f"membership:{org.id}:{user.id}:{uuid.uuid4().hex}",
        )
    except CardDeclined as error:
        raise DomainError(error.message, field="card") from error
    except PaymentError as error:
        raise DomainError(error.message, field="card") from error
    if result.status not in ACTIVE_AT_STRIPE:
        # The first payment did not go through (Stripe: "incomplete"): do not keep it.
        gateway.cancel_subscription(result.id, at_period_end=False)
        raise DomainError(
            "Your card was declined. Please try a different card or contact your bank.",
            field="card",
        )
    return offer.stripe_plan_id, result


def _record_subscription(
    session: Session,
    membership: Membership,
    plan_id: str,
    fee_pence: int,
    result: SubscriptionResult,
) -> MembershipSubscription:
    record = MembershipSubscription(
        membership=membership,
        stripe_subscription_id=result.id,
        stripe_plan_id=plan_id,
        fee_pence=fee_pence,
        current_period_end=result.current_period_end,
    )
    session.add(record)
    return record


def join(
    session: Session,
    user: User,
    org: Organisation,
    basis: str,
    card: payments.CardDetails | None = None,
    acting_carer: User | None = None,
    gateway: PaymentGateway | None = None,
    now: datetime | None = None,
) -> Membership:
    """Join a ULO on a basis. Fee: the card is saved and the subscription started (the first
    month is charged) before anything is written here; reciprocity: commit the offer's hours."""
    act_as(session, acting_carer, user.id, f"Joined {org.name} ({basis})")
    require_ulo(org)
    offer = _offer_for_basis(session, org, basis)
    if live_membership(session, org.id, user.id) is not None:
        raise DomainError("You are already a member of this organisation", field="organisation")
    now = now or utcnow()
    membership = Membership(
        organisation_id=org.id,
        user_id=user.id,
        basis=basis,
        basis_from=month_start(today_of(now)),
        status=MembershipStatus.ACTIVE.value,
        live=True,
        commitment_minutes=(offer.reciprocity_minutes or 0) if basis == Basis.RECIPROCITY else 0,
        joined_at=now,
    )
    if basis == Basis.FEE:
        if card is None and not _has_saved_card(session, user):
            raise DomainError("Enter your card details", field="card")
        plan_id, result = _subscribe(session, user, org, offer, card, gateway or get_gateway())
        session.add(membership)
        _record_subscription(session, membership, plan_id, offer.fee_pence or 0, result)
    else:
        session.add(membership)
    session.flush()  # the caller shows the new membership's id
    return membership


def _has_saved_card(session: Session, user: User) -> bool:
    # A Stripe customer exists only once a card was saved through payments.save_card here.
    from marketplace.payments.models import PaymentCustomer

    return (
        session.scalar(select(PaymentCustomer.id).where(PaymentCustomer.user_id == user.id))
        is not None
    )


def memberships_of(session: Session, user: User) -> list[Membership]:
    """Every membership this person has or had, newest first."""
    return list(
        session.scalars(
            select(Membership)
            .where(Membership.user_id == user.id)
            .order_by(Membership.joined_at.desc(), Membership.id.desc())
        )
    )


def _own(
    session: Session, user: User, membership: Membership, carer: User | None, what: str
) -> None:
    act_as(session, carer, user.id, f"{what} ({membership.organisation.name})")
    if membership.user_id != user.id:
        raise NotAllowed("This is not your membership")
    if not membership.is_live:
        raise DomainError("This membership has ended", field="membership")


def current_subscription(membership: Membership) -> MembershipSubscription | None:
    """The fee subscription still running for this membership, if any."""
    running = [s for s in membership.subscriptions if s.ended_at is None]
    return running[-1] if running else None


# --- switching, pausing, leaving ----------------------------------------------------------------


def switch_basis(
    session: Session,
    user: User,
    membership: Membership,
    new_basis: str,
    card: payments.CardDetails | None = None,
    acting_carer: User | None = None,
    gateway: PaymentGateway | None = None,
    now: datetime | None = None,
) -> Membership:
    """Switch basis from the first day of next month.

    Fee → reciprocity: the subscription is cancelled at the end of the period paid for now.
    Reciprocity → fee: the card is saved now; `apply_switches` starts the subscription when the
    month comes (Stripe bills from the day a subscription starts)."""
    _own(session, user, membership, acting_carer, "Switched membership basis")
    org = membership.organisation
    _offer_for_basis(session, org, new_basis)
    if membership.pending_basis is not None:
        raise DomainError(
            "You are already switching; you can switch again once that takes effect",
            field="basis",
        )
    if new_basis == membership.basis:
        raise DomainError("You are already a member on this basis", field="basis")
    if membership.status in (MembershipStatus.PAYMENT_DUE, MembershipStatus.LAPSED):
        raise DomainError("Please put your payment right before switching", field="basis")
    now = now or utcnow()
    gateway = gateway or get_gateway()
    if new_basis == Basis.RECIPROCITY:
        running = current_subscription(membership)
        if running is not None:
            gateway.cancel_subscription(running.stripe_subscription_id, at_period_end=True)
    else:
        if card is not None:
            try:
                payments.save_card(
                    session,
                    user,
                    card,
                    {META_ORGANISATION: str(org.id), META_USER: str(user.id)},
                    gateway,
                )
            except CardDeclined as error:
                raise DomainError(error.message, field="card") from error
        elif not _has_saved_card(session, user):
            raise DomainError("Enter your card details", field="card")
    membership.pending_basis = new_basis
    membership.pending_from = next_month(today_of(now))
    return membership


def apply_switches(
    session: Session,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
    after_each: Callable[[Session], None] | None = None,
) -> int:
    """Job: make switches whose month has come take effect; returns how many did. With
    `after_each`, it is called after each new Stripe subscription (the job commits there, so
    a later failure cannot orphan a subscription Stripe already holds).

    COMMITS after each new subscription, so a later failure in the same run cannot roll back
    our record of a subscription Stripe already holds (the member would be charged with no
    membership to show for it). A re-run asks Stripe with the same idempotency key.
    """
    now = now or utcnow()
    today = today_of(now)
    due = session.scalars(
        select(Membership).where(
            Membership.pending_from.is_not(None),
            Membership.pending_from <= today,
            Membership.status != MembershipStatus.ENDED.value,
        )
    ).all()
    applied = 0
    for membership in due:
        if membership.pending_from is None or membership.pending_basis is None:
            continue
        offer = offer_of(session, membership.organisation_id)
        if membership.pending_basis == Basis.FEE:
            if offer is None or offer.fee_pence is None:
                log.warning("membership %s: fee no longer offered; switch dropped", membership.id)
                membership.pending_basis = membership.pending_from = None
                continue
            try:
                plan_id, result = _subscribe(
                    session,
                    membership.user,
                    membership.organisation,
                    offer,
                    None,
                    gateway or get_gateway(),
                    f"membership:{membership.id}:switch:{membership.pending_from.isoformat()}",
                )
            except DomainError as error:
                log.warning("membership %s: switch to fee failed: %s", membership.id, error)
                membership.pending_basis = membership.pending_from = None
                continue
            _record_subscription(session, membership, plan_id, offer.fee_pence, result)
            membership.commitment_minutes = 0
        else:
            membership.commitment_minutes = (
                offer.reciprocity_minutes if offer and offer.reciprocity_minutes else 0
            )
        membership.basis = membership.pending_basis
        membership.basis_from = membership.pending_from
        membership.pending_basis = membership.pending_from = None
        membership.status = MembershipStatus.ACTIVE.value
        membership.payment_due_by = None
        applied += 1
        if membership.basis == Basis.FEE and after_each is not None:
            after_each(session)  # the job commits each new Stripe subscription at once
    return applied


def pause(
    session: Session,
    user: User,
    membership: Membership,
    until: date | None = None,
    acting_carer: User | None = None,
    now: datetime | None = None,
) -> MembershipPause:
    """Pause giving time back, from today, until `until` or until resumed. No reason is asked
    and no month touched by a pause counts against the member."""
    _own(session, user, membership, acting_carer, "Paused membership")
    today = today_of(now or utcnow())
    if membership.basis != Basis.RECIPROCITY:
        raise DomainError(
            "A fee membership cannot be paused; you can leave at the end of the month paid for",
            field="membership",
        )
    if membership.status != MembershipStatus.ACTIVE.value:
        raise DomainError("Only an active membership can be paused", field="membership")
    if until is not None and until < today:
        raise DomainError("The pause must end today or later", field="until")
    record = MembershipPause(membership=membership, starts_on=today, ends_on=until)
    session.add(record)
    membership.status = MembershipStatus.PAUSED.value
    return record


def resume(
    session: Session,
    user: User,
    membership: Membership,
    acting_carer: User | None = None,
    now: datetime | None = None,
) -> Membership:
    """End a pause today."""
    _own(session, user, membership, acting_carer, "Resumed membership")
    if membership.status != MembershipStatus.PAUSED.value:
        raise DomainError("This membership is not paused", field="membership")
    _end_pause(membership, today_of(now or utcnow()))
    return membership


def _end_pause(membership: Membership, today: date) -> None:
    for record in membership.pauses:
        if record.ends_on is None or record.ends_on >= today:
            record.ends_on = max(today, record.starts_on)
    membership.status = MembershipStatus.ACTIVE.value


def resume_finished_pauses(session: Session, now: datetime | None = None) -> int:
    """Job: members whose pause had an end date before today are active again."""
    today = today_of(now or utcnow())
    paused = session.scalars(
        select(Membership).where(Membership.status == MembershipStatus.PAUSED.value)
    ).all()
    resumed = 0
    for membership in paused:
        ends = [p.ends_on for p in membership.pauses]
        if ends and all(e is not None and e < today for e in ends):
            membership.status = MembershipStatus.ACTIVE.value
            resumed += 1
    return resumed


def leave(
    session: Session,
    user: User,
    membership: Membership,
    acting_carer: User | None = None,
    gateway: PaymentGateway | None = None,
    now: datetime | None = None,
) -> Membership:
    """Leave. Reciprocity: ended now. Fee: the subscription is cancelled at the end of the
    period paid for, and the membership ends when Stripe says it has (webhook)."""
    _own(session, user, membership, acting_carer, "Left membership")
    now = now or utcnow()
    running = current_subscription(membership)
    if running is not None:
        result = (gateway or get_gateway()).cancel_subscription(
            running.stripe_subscription_id, at_period_end=True
        )
        running.current_period_end = result.current_period_end or running.current_period_end
        membership.leaving = True
        membership.pending_basis = membership.pending_from = None
        if membership.status in (MembershipStatus.ACTIVE, MembershipStatus.PAUSED):
            return membership
    _end(membership, now)
    return membership


def _end(membership: Membership, when: datetime) -> None:
    membership.status = MembershipStatus.ENDED.value
    membership.live = None
    membership.ended_at = when
    membership.pending_basis = membership.pending_from = None
    for record in membership.pauses:
        if record.ends_on is None:
            record.ends_on = max(when.date(), record.starts_on)


# --- Stripe webhooks ----------------------------------------------------------------------------


def _object(event: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = (event.get("data") or {}).get("object") or {}
    return obj


def _invoice_subscription(invoice: dict[str, Any]) -> str | None:
    """The subscription an invoice is for: `subscription` (older API versions, localstripe) or
    `parent.subscription_details.subscription` (API 2025-03-31 and later)."""
    found = invoice.get("subscription")
    if isinstance(found, dict):
        found = found.get("id")
    if not found:
        details = (invoice.get("parent") or {}).get("subscription_details") or {}
        found = details.get("subscription")
    return str(found) if found else None


def _event_time(event: dict[str, Any]) -> datetime:
    created = event.get("created")
    return datetime.fromtimestamp(int(created), UTC) if created else utcnow()


def _fresh(
    session: Session, subscription_id: str | None, event: dict[str, Any]
) -> MembershipSubscription | None:
    """The subscription record if this event is ours and not older than the last one applied
    to it (Stripe does not promise order); it then becomes the last one applied."""
    if not subscription_id:
        return None
    record = session.scalars(
        select(MembershipSubscription)
        .where(MembershipSubscription.stripe_subscription_id == subscription_id)
        .with_for_update()
    ).one_or_none()
    if record is None:
        return None
    when = _event_time(event)
    if record.last_event_at is not None and when < as_utc(record.last_event_at):
        log.info("ignoring stale %s for %s", event.get("type"), subscription_id)
        return None
    record.last_event_at = when
    return record


def _on_invoice_paid(session: Session, event: dict[str, Any]) -> None:
    """A fee was paid: the membership is active again (payment_due / lapsed cleared)."""
    record = _fresh(session, _invoice_subscription(_object(event)), event)
    if record is None or record.ended_at is not None:
        return
    membership = record.membership
    if membership.status in (
        MembershipStatus.ACTIVE,
        MembershipStatus.PAYMENT_DUE,
        MembershipStatus.LAPSED,
    ):
        membership.status = MembershipStatus.ACTIVE.value
        membership.payment_due_by = None
        membership.reminder_sent_at = None


def _on_invoice_failed(session: Session, event: dict[str, Any]) -> None:
    """A fee payment failed: payment due, to be put right within 14 days."""
    record = _fresh(session, _invoice_subscription(_object(event)), event)
    if record is None or record.ended_at is not None:
        return
    membership = record.membership
    if membership.status == MembershipStatus.ACTIVE.value:
        membership.status = MembershipStatus.PAYMENT_DUE.value
        membership.payment_due_by = _event_time(event) + timedelta(days=PAYMENT_GRACE_DAYS)
        membership.reminder_sent_at = None


def _on_subscription_deleted(session: Session, event: dict[str, Any]) -> None:
    """The subscription ended at Stripe: the membership ends, unless it is switching (or has
    switched) to giving time back."""
    subscription = _object(event)
    record = _fresh(session, subscription.get("id"), event)
    if record is None or record.ended_at is not None:
        return
    when = _event_time(event)
    record.ended_at = when
    membership = record.membership
    if membership.status == MembershipStatus.ENDED.value:
        return
    if Basis.RECIPROCITY in (membership.basis, membership.pending_basis):
        return
    _end(membership, when)


def register_webhooks() -> None:
    """Keep fee memberships in line with Stripe's subscription events."""
    payments.register_handler("invoice.payment_succeeded", _on_invoice_paid)
    payments.register_handler("invoice.payment_failed", _on_invoice_failed)
    payments.register_handler("customer.subscription.deleted", _on_subscription_deleted)


# --- jobs ---------------------------------------------------------------------------------------


def lapse_overdue(session: Session, now: datetime | None = None) -> int:
    """Job: fee memberships whose payment has been due for 14 days lapse; returns how many.

    One UPDATE, so two workers running it at once cannot double-count."""
    now = now or utcnow()
    result = session.execute(
        update(Membership)
        .where(
            Membership.status == MembershipStatus.PAYMENT_DUE.value,
            Membership.payment_due_by <= now,
        )
        .values(status=MembershipStatus.LAPSED.value, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class ReminderReport:
    """How many payment reminders went, and how many could not be sent (tried again later)."""

    sent: int
    failed: int


def remind_payment_due(session: Session, now: datetime | None = None) -> ReminderReport:
    """Job: email each member whose payment is due, once. A mail server that is down never
    fails the job: the reminder is left unsent and tried on the next run.

    Each reminder is claimed with a conditional UPDATE right before it is sent, so a payment
    that arrived (or a reminder another run sent) since the list was read means no email."""
    now = now or utcnow()
    due = session.scalars(
        select(Membership).where(
            Membership.status == MembershipStatus.PAYMENT_DUE.value,
            Membership.reminder_sent_at.is_(None),
        )
    ).all()
    sent = failed = 0
    for membership in due:
        claimed = session.execute(
            update(Membership)
            .where(
                Membership.id == membership.id,
                Membership.status == MembershipStatus.PAYMENT_DUE.value,
                Membership.reminder_sent_at.is_(None),
            )
            .values(reminder_sent_at=now)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            continue  # paid, lapsed or reminded since the list was read: nothing to remind
        deadline = as_utc(membership.payment_due_by) if membership.payment_due_by else now
        if not send_now(
            session,
            membership.user.email,
            f"Your {membership.organisation.name} membership payment",
            f"Hello {membership.user.display_name},\n\n"
            f"Your last membership payment to {membership.organisation.name} did not go "
            f"through. Please update your card by {deadline:%d %B %Y} to keep your "
            "membership. If things are hard at the moment, you can switch to giving time "
            "back instead, or contact the organisation.\n",
            user_id=membership.user_id,
            kind=MONEY,  # money that is due: sent even during a break
            about=f"the payment reminder for membership {membership.id}",
        ):
            membership.reminder_sent_at = None  # tried again on the next run
            failed += 1
            continue
        sent += 1
    return ReminderReport(sent, failed)


@dataclass(frozen=True)
class JobReport:
    """What one run of the membership jobs did."""

    switched: int
    resumed: int
    lapsed: int
    reminders: ReminderReport


def run_jobs(
    session: Session,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
    after_each: Callable[[Session], None] | None = None,
) -> JobReport:
    """Every membership job, in order; safe to run again. The job passes `after_each` to
    commit as it goes (see apply_switches)."""
    now = now or utcnow()
    return JobReport(
        switched=apply_switches(session, now, gateway, after_each),
        resumed=resume_finished_pauses(session, now),
        lapsed=lapse_overdue(session, now),
        reminders=remind_payment_due(session, now),
    )
