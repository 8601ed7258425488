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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import as_utc, utcnow
from marketplace.email import MONEY, send_email
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
from marketplace.payments import events
from marketplace.payments import services as payments
from marketplace.payments.gateway import (
    CardDeclined,
    PaymentError,
    PaymentGateway,
    SubscriptionResult,
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


def plan_needed(
    session: Session, staff: User, org: Organisation, data: OfferData
) -> tuple[str, int] | None:
    """Check staff may set this offer (reads only); the Stripe Plan (name, pence) to make first
    when the fee is new or changed, else None (billing.set_offer makes it before writing)."""
    require_ulo(org)
    require_staff(session, staff, org)
    _check_offer(data)
    offer = offer_of(session, org.id)
    if data.fee_pence is not None and (
        offer is None or data.fee_pence != offer.fee_pence or offer.stripe_plan_id is None
    ):
        return f"{org.name} membership", data.fee_pence
    return None


def set_offer(
    session: Session,
    staff: User,
    org: Organisation,
    data: OfferData,
    *,
    plan_id: str | None = None,
) -> MembershipOffer:
    """Staff set their ULO's offer (writes only). A new or changed fee comes with the new Stripe
    Plan already made (`plan_id`), which new subscriptions use; existing members keep the plan
    they joined on."""
    needed = plan_needed(session, staff, org, data)
    if needed is not None and plan_id is None:
        raise DomainError("A new fee needs its Stripe plan first", field="fee_pence")
    offer = offer_of(session, org.id)
    if offer is None:
        offer = MembershipOffer(organisation_id=org.id)
        session.add(offer)
    if needed is not None:
        offer.stripe_plan_id = plan_id
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


@dataclass(frozen=True)
class FeeTerms:
    """What starting a fee subscription needs, read before the transaction ends (so the Stripe
    step reads nothing from the database: see memberships/billing.py)."""

    organisation_id: int
    user_id: int
    plan_id: str
    fee_pence: int

    @property
    def metadata(self) -> dict[str, str]:
        return {META_ORGANISATION: str(self.organisation_id), META_USER: str(self.user_id)}


@dataclass(frozen=True)
class FeeStart:
    """A subscription Stripe has started (its first month paid), not yet recorded here."""

    terms: FeeTerms
    subscription: SubscriptionResult


def _terms(org: Organisation, user: User, offer: MembershipOffer) -> FeeTerms:
    if offer.stripe_plan_id is None:  # cannot happen: the fee_has_plan constraint
        raise DomainError("This organisation does not offer a fee membership", field="basis")
    return FeeTerms(org.id, user.id, offer.stripe_plan_id, offer.fee_pence or 0)


def fee_terms(
    session: Session, user: User, org: Organisation, card_given: bool, acting_carer: User | None
) -> FeeTerms:
    """Check that this person may join this ULO by fee now (reads only; nothing is written).
    `join` checks again when it writes, as someone may have joined since."""
    if acting_carer is not None:
        carers.authorise(session, acting_carer, user.id, CarerScope.MEMBERSHIPS)
    require_ulo(org)
    offer = _offer_for_basis(session, org, Basis.FEE.value)
    if live_membership(session, org.id, user.id) is not None:
        raise DomainError("You are already a member of this organisation", field="organisation")
    if not card_given and not _has_saved_card(session, user):
        raise DomainError("Enter your card details", field="card")
    return _terms(org, user, offer)


def start_fee(
    customer_id: str,
    terms: FeeTerms,
    card: payments.CardDetails | None,
    gateway: PaymentGateway,
    idempotency_key: str | None = None,
) -> FeeStart:
    """Save the card (if given) and start the subscription: Stripe calls only, no database, so
    call it with no transaction open. Raises DomainError(field="card") when the card or the
    first payment fails; a subscription whose first payment failed is not kept at Stripe."""
    try:
        if card is not None:
            payments.save_card_to_customer(customer_id, card, terms.metadata, gateway)
        result = gateway.create_subscription(
            customer_id,
            terms.plan_id,
            terms.metadata,
            idempotency_key
            or f"membership:{terms.organisation_id}:{terms.user_id}:{uuid.uuid4().hex}",
        )
    except (CardDeclined, PaymentError) as error:
        raise DomainError(error.message, field="card") from error
    if result.status not in ACTIVE_AT_STRIPE:
        # The first payment did not go through (Stripe: "incomplete"): do not keep it.
        gateway.cancel_subscription(result.id, at_period_end=False)
        raise DomainError(
            "Your card was declined. Please try a different card or contact your bank.",
            field="card",
        )
    return FeeStart(terms, result)


def subscription_recorded(session: Session, subscription_id: str) -> bool:
    """Whether a membership holds this Stripe subscription already."""
    return (
        session.scalar(
            select(MembershipSubscription.id).where(
                MembershipSubscription.stripe_subscription_id == subscription_id
            )
        )
        is not None
    )


def _record_subscription(
    session: Session, membership: Membership, fee: FeeStart
) -> MembershipSubscription:
    record = MembershipSubscription(
        membership=membership,
        stripe_subscription_id=fee.subscription.id,
        stripe_plan_id=fee.terms.plan_id,
        fee_pence=fee.terms.fee_pence,
        current_period_end=fee.subscription.current_period_end,
    )
    session.add(record)
    return record


def join(
    session: Session,
    user: User,
    org: Organisation,
    basis: str,
    fee: FeeStart | None = None,
    acting_carer: User | None = None,
    now: datetime | None = None,
) -> Membership:
    """Join a ULO on a basis. Fee: `fee` is the subscription Stripe has already started (the
    first month paid; see billing.join_paying), recorded here; reciprocity: commit the offer's
    hours. Writes only: no Stripe call."""
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
    session.add(membership)
    if basis == Basis.FEE:
        if fee is None:
            raise DomainError("Enter your card details", field="card")
        _record_subscription(session, membership, fee)
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
    _check_own(user, membership)


def _check_own(user: User, membership: Membership) -> None:
    if membership.user_id != user.id:
        raise NotAllowed("This is not your membership")
    if not membership.is_live:
        raise DomainError("This membership has ended", field="membership")


def current_subscription(membership: Membership) -> MembershipSubscription | None:
    """The fee subscription still running for this membership, if any."""
    running = [s for s in membership.subscriptions if s.ended_at is None]
    return running[-1] if running else None


# --- switching, pausing, leaving ----------------------------------------------------------------


@dataclass(frozen=True)
class SwitchPlan:
    """What Stripe must be told before a switch is written (read first: see billing.switch)."""

    user_id: int
    organisation_id: int
    stop_subscription_id: str | None  # fee -> reciprocity: cancel at the end of the paid period

    @property
    def metadata(self) -> dict[str, str]:
        return {META_ORGANISATION: str(self.organisation_id), META_USER: str(self.user_id)}


def _check_switch(session: Session, membership: Membership, new_basis: str) -> None:
    _offer_for_basis(session, membership.organisation, new_basis)
    if membership.pending_basis is not None:
        raise DomainError(
            "You are already switching; you can switch again once that takes effect",
            field="basis",
        )
    if new_basis == membership.basis:
        raise DomainError("You are already a member on this basis", field="basis")
    if membership.status in (MembershipStatus.PAYMENT_DUE, MembershipStatus.LAPSED):
        raise DomainError("Please put your payment right before switching", field="basis")


def switch_plan(
    session: Session,
    user: User,
    membership: Membership,
    new_basis: str,
    card_given: bool,
    acting_carer: User | None = None,
) -> SwitchPlan:
    """Check a switch may be made (reads only) and say what Stripe must be told first."""
    if acting_carer is not None:
        carers.authorise(session, acting_carer, user.id, CarerScope.MEMBERSHIPS)
    _check_own(user, membership)
    _check_switch(session, membership, new_basis)
    stop = None
    if new_basis == Basis.RECIPROCITY:
        running = current_subscription(membership)
        stop = running.stripe_subscription_id if running is not None else None
    elif not card_given and not _has_saved_card(session, user):
        raise DomainError("Enter your card details", field="card")
    return SwitchPlan(user.id, membership.organisation_id, stop)


def switch_basis(
    session: Session,
    user: User,
    membership: Membership,
    new_basis: str,
    acting_carer: User | None = None,
    now: datetime | None = None,
) -> Membership:
    """Switch basis from the first day of next month (writes only; billing.switch tells Stripe
    first). Fee -> reciprocity: the subscription was set to end with the period paid for now.
    Reciprocity -> fee: the card was saved; `apply_switches` starts the subscription when the
    month comes (Stripe bills from the day a subscription starts)."""
    _own(session, user, membership, acting_carer, "Switched membership basis")
    _check_switch(session, membership, new_basis)
    now = now or utcnow()
    membership.pending_basis = new_basis
    membership.pending_from = next_month(today_of(now))
    return membership


def other_basis(membership: Membership) -> str:
    """The basis a switch would move this membership to."""
    return Basis.RECIPROCITY.value if membership.basis == Basis.FEE else Basis.FEE.value


def may_offer_switch(session: Session, membership: Membership) -> bool:
    """Whether the ULO offers the other basis at all, so a switch is worth offering (a ULO
    with no fee must not be asked for a card it would then refuse)."""
    try:
        _offer_for_basis(session, membership.organisation, other_basis(membership))
    except DomainError:
        return False
    return True


def switches_due(session: Session, now: datetime) -> list[int]:
    """The memberships whose switch of basis takes effect by `now`, by id."""
    return list(
        session.scalars(
            select(Membership.id)
            .where(
                Membership.pending_from.is_not(None),
                Membership.pending_from <= today_of(now),
                Membership.status != MembershipStatus.ENDED.value,
            )
            .order_by(Membership.id)
        )
    )


def switch_key(membership: Membership) -> str:
    """Stripe's idempotency key for the subscription a switch to fee starts: a re-run of the
    job after a crash gets the same subscription back, never a second one."""
    when = membership.pending_from.isoformat() if membership.pending_from else "none"
    return f"membership:{membership.id}:switch:{when}"


def switch_fee_terms(session: Session, membership: Membership) -> FeeTerms | None:
    """What the subscription of a switch to fee needs; None when it cannot start (the fee is no
    longer offered, or no card was saved), and the switch is then dropped (`drop_switch`)."""
    offer = offer_of(session, membership.organisation_id)
    if offer is None or offer.fee_pence is None or not _has_saved_card(session, membership.user):
        return None
    return _terms(membership.organisation, membership.user, offer)


def drop_switch(membership: Membership, why: str) -> None:
    log.warning("membership %s: switch to fee dropped: %s", membership.id, why)
    membership.pending_basis = membership.pending_from = None


def apply_switch(
    session: Session, membership: Membership, fee: FeeStart | None, now: datetime
) -> bool:
    """Make one due switch take effect (writes only): to fee with the subscription Stripe has
    started (`fee`), to reciprocity with the offer's hours. False if it was no longer due."""
    if (
        membership.pending_from is None
        or membership.pending_basis is None
        or membership.pending_from > today_of(now)
        or membership.status == MembershipStatus.ENDED.value
    ):
        return False
    if membership.pending_basis == Basis.FEE:
        if fee is None:
            raise DomainError("A switch to fee needs its subscription")
        _record_subscription(session, membership, fee)
        membership.commitment_minutes = 0
    else:
        offer = offer_of(session, membership.organisation_id)
        membership.commitment_minutes = (
            offer.reciprocity_minutes if offer and offer.reciprocity_minutes else 0
        )
    membership.basis = membership.pending_basis
    membership.basis_from = membership.pending_from
    membership.pending_basis = membership.pending_from = None
    membership.status = MembershipStatus.ACTIVE.value
    membership.payment_due_by = None
    return True


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


def subscription_to_stop(
    session: Session, user: User, membership: Membership, acting_carer: User | None = None
) -> str | None:
    """Check this person may leave (reads only); the Stripe subscription to end with the period
    already paid for, if there is one (billing.leave tells Stripe before `leave` writes)."""
    if acting_carer is not None:
        carers.authorise(session, acting_carer, user.id, CarerScope.MEMBERSHIPS)
    _check_own(user, membership)
    running = current_subscription(membership)
    return running.stripe_subscription_id if running is not None else None


def leave(
    session: Session,
    user: User,
    membership: Membership,
    acting_carer: User | None = None,
    stopped: SubscriptionResult | None = None,
    now: datetime | None = None,
) -> Membership:
    """Leave (writes only). Reciprocity: ended now. Fee: Stripe has been told to end the
    subscription with the period paid for (`stopped`), and the membership ends when Stripe says
    it has (webhook)."""
    _own(session, user, membership, acting_carer, "Left membership")
    now = now or utcnow()
    running = current_subscription(membership)
    if running is not None:
        if stopped is None or stopped.id != running.stripe_subscription_id:
            raise DomainError("The fee must be stopped at Stripe first", field="membership")
        running.current_period_end = stopped.current_period_end or running.current_period_end
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


def _event_time(event: dict[str, Any]) -> datetime:
    return events.created_at(event) or utcnow()


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
        log.info("ignoring stale %s for %s", events.event_type(event), subscription_id)
        return None
    record.last_event_at = when
    return record


def _on_invoice_paid(session: Session, event: dict[str, Any]) -> None:
    """A fee was paid: the membership is active again (payment_due / lapsed cleared)."""
    record = _fresh(session, events.invoice_subscription(events.data_object(event)), event)
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
    record = _fresh(session, events.invoice_subscription(events.data_object(event)), event)
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
    subscription = events.data_object(event)
    record = _fresh(session, events.required_id(subscription), event)
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
    """How many payment reminders this run sent (each goes once its claim is committed)."""

    sent: int


def remind_payment_due(session: Session, now: datetime | None = None) -> ReminderReport:
    """Job: email each member whose payment is due, once.

    Each reminder is claimed with a conditional UPDATE, so a payment that arrived (or a
    reminder another run sent) since the list was read means no email. The email goes with the
    claim's commit (the outbox); a mail server that is down makes it a retried job, so a claimed
    reminder is never lost and never sent twice by two runs."""
    now = now or utcnow()
    due = session.scalars(
        select(Membership).where(
            Membership.status == MembershipStatus.PAYMENT_DUE.value,
            Membership.reminder_sent_at.is_(None),
        )
    ).all()
    sent = 0
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
        send_email(
            membership.user.email,
            "Your membership payment",  # no organisation: its name can say what it is for
            f"Hello {membership.user.display_name},\n\n"
            f"Your last membership payment to {membership.organisation.name} did not go "
            f"through. Please update your card by {deadline:%d %B %Y} to keep your "
            "membership. If things are hard at the moment, you can switch to giving time "
            "back instead, or contact the organisation.\n",
            user_id=membership.user_id,
            kind=MONEY,  # money that is due: sent even during a break
            session=session,
            about=f"the payment reminder for membership {membership.id}",
        )
        sent += 1
    return ReminderReport(sent)
