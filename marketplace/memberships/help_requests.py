"""Help requests: anyone signed in asks a ULO for help; the members who can take it are emailed
and offer; the requester (emailed on each offer) accepts one, and the helper is emailed; the two
then arrange it in a private thread (help_threads.py); afterwards the helper logs the hours and
the requester confirms them, or the requester logs and confirms them in one step. Cancelling
emails everyone who offered (help_notices.py has every email).

Clearance (clearance.py) is checked when a member offers, and again when the hours are
confirmed: a clearance revoked in between means the time cannot be counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships import clearance, help_notices, ledger
from marketplace.memberships.common import act_as, live_membership, require_ulo, today_of
from marketplace.memberships.models import (
    MAX_PLACE,
    MAX_WHAT,
    Basis,
    GivingKind,
    HelpOffer,
    HelpRequest,
    HelpRequestStatus,
    LogStatus,
    MembershipStatus,
    OfferStatus,
    TimeLog,
)
from marketplace.memberships.reciprocity import TimeGiven, check_time
from marketplace.organisations.models import Organisation

MAX_DAYS_AHEAD = 366


@dataclass(frozen=True)
class HelpRequestData:
    """A request for help, parsed from the form."""

    what: str
    needed_on: date
    kind: str
    place: str | None = None


def post_request(
    session: Session,
    user: User,
    org: Organisation,
    data: HelpRequestData,
    acting_carer: User | None = None,
    now: datetime | None = None,
) -> HelpRequest:
    """Anyone signed in (member or not) asks this ULO for help."""
    act_as(session, acting_carer, user.id, f"Asked {org.name} for help")
    require_ulo(org)
    today = today_of(now or utcnow())
    what = (data.what or "").strip()
    if not what:
        raise DomainError("Say what you need help with", field="what")
    if len(what) > MAX_WHAT:
        raise DomainError(f"Keep this to {MAX_WHAT:,} characters or fewer", field="what")
    if data.needed_on < today:
        raise DomainError("The date cannot be in the past", field="needed_on")
    if (data.needed_on - today).days > MAX_DAYS_AHEAD:
        raise DomainError("The date must be within the next year", field="needed_on")
    if data.kind not in {k.value for k in GivingKind}:
        raise DomainError("Choose what kind of help you need", field="kind")
    place = (data.place or "").strip() or None
    if place is not None and len(place) > MAX_PLACE:
        raise DomainError(f"Keep the place to {MAX_PLACE} characters or fewer", field="place")
    request = HelpRequest(
        organisation_id=org.id,
        requester_id=user.id,
        what=what,
        needed_on=data.needed_on,
        kind=data.kind,
        place=place,
        status=HelpRequestStatus.OPEN.value,
    )
    session.add(request)
    session.flush()  # the caller links to it
    help_notices.request_posted(session, request)
    return request


def open_requests(session: Session, org: Organisation) -> list[HelpRequest]:
    """The ULO's open help requests, soonest first (what members browsing may see)."""
    return list(
        session.scalars(
            select(HelpRequest)
            .where(
                HelpRequest.organisation_id == org.id,
                HelpRequest.status == HelpRequestStatus.OPEN.value,
            )
            .order_by(HelpRequest.needed_on, HelpRequest.id)
        )
    )


def cancel_request(session: Session, user: User, request: HelpRequest) -> HelpRequest:
    """The requester withdraws a request that has not been done."""
    if request.requester_id != user.id:
        raise NotAllowed("Only the person who asked can cancel this request")
    if request.status not in (HelpRequestStatus.OPEN, HelpRequestStatus.ACCEPTED):
        raise DomainError("This request can no longer be cancelled", field="request")
    told = [o for o in request.offers if o.status in (OfferStatus.OFFERED, OfferStatus.ACCEPTED)]
    request.status = HelpRequestStatus.CANCELLED.value
    help_notices.request_cancelled(session, request, told)
    return request


# --- offers -------------------------------------------------------------------------------------


def offer_help(
    session: Session, user: User, request: HelpRequest, acting_carer: User | None = None
) -> HelpOffer:
    """A reciprocity member of the request's ULO offers to take it (cleared, where needed)."""
    act_as(session, acting_carer, user.id, "Offered to help")
    if request.status != HelpRequestStatus.OPEN.value:
        raise DomainError("This request is no longer open", field="request")
    if request.requester_id == user.id:
        raise DomainError("You cannot take your own request", field="request")
    membership = live_membership(session, request.organisation_id, user.id)
    if (
        membership is None
        or membership.basis != Basis.RECIPROCITY
        or membership.status != MembershipStatus.ACTIVE.value
    ):
        raise NotAllowed(
            "Only active members giving time back to this organisation can offer",
            field="organisation",
        )
    clearance.require_cleared(session, request.organisation_id, user.id, request.kind)
    existing = session.scalar(
        select(HelpOffer).where(
            HelpOffer.help_request_id == request.id, HelpOffer.user_id == user.id
        )
    )
    if existing is not None and existing.status == OfferStatus.OFFERED.value:
        raise DomainError("You have already offered to help with this", field="request")
    if existing is not None:
        existing.status = OfferStatus.OFFERED.value
        offer = existing
    else:
        offer = HelpOffer(help_request=request, user_id=user.id, status=OfferStatus.OFFERED.value)
        session.add(offer)
    help_notices.offer_made(session, request, user)
    return offer


def withdraw_offer(session: Session, user: User, offer: HelpOffer) -> HelpOffer:
    """The member withdraws an offer not yet accepted."""
    if offer.user_id != user.id:
        raise NotAllowed("This is not your offer")
    if offer.status != OfferStatus.OFFERED.value:
        raise DomainError("This offer can no longer be withdrawn", field="offer")
    offer.status = OfferStatus.WITHDRAWN.value
    return offer


def accept_offer(
    session: Session, user: User, offer: HelpOffer, acting_carer: User | None = None
) -> HelpRequest:
    """The requester accepts one offer; the others are declined."""
    act_as(session, acting_carer, user.id, "Accepted an offer of help")
    request = offer.help_request
    if request.requester_id != user.id:
        raise NotAllowed("Only the person who asked can accept an offer")
    if request.status != HelpRequestStatus.OPEN.value:
        raise DomainError("This request is no longer open", field="request")
    if offer.status != OfferStatus.OFFERED.value:
        raise DomainError("This offer is no longer available", field="offer")
    declined = [o for o in request.offers if o.status == OfferStatus.OFFERED and o is not offer]
    for other in declined:
        other.status = OfferStatus.DECLINED.value
    offer.status = OfferStatus.ACCEPTED.value
    request.status = HelpRequestStatus.ACCEPTED.value
    help_notices.offer_accepted(session, offer, declined)
    return request


def accepted_offer(request: HelpRequest) -> HelpOffer | None:
    """The offer the requester accepted, if any."""
    return next((o for o in request.offers if o.status == OfferStatus.ACCEPTED.value), None)


def complete(
    session: Session,
    user: User,
    request: HelpRequest,
    minutes: int,
    given_on: date,
    acting_carer: User | None = None,
    now: datetime | None = None,
) -> TimeLog:
    """Afterwards, the requester says how long it took: one step logs the helper's time and
    confirms it (posted to the ledger); the request is done."""
    act_as(session, acting_carer, user.id, "Confirmed the help given")
    if request.requester_id != user.id:
        raise NotAllowed("Only the person who asked can confirm the help given")
    if request.status != HelpRequestStatus.ACCEPTED.value:
        raise DomainError("Accept an offer of help first", field="request")
    if request.time_log_id is not None:
        raise DomainError(
            "The person helping has logged the time: confirm it or turn it down",
            field="request",
        )
    offer = accepted_offer(request)
    if offer is None or offer.user_id is None:
        raise DomainError("The person who offered is no longer here", field="offer")
    clearance.require_cleared(
        session,
        request.organisation_id,
        offer.user_id,
        request.kind,
        "The person helping is not cleared for this kind of task, so these hours cannot be "
        "counted. Please contact the organisation",
    )
    now = now or utcnow()
    check_time(TimeGiven(request.kind, given_on, minutes, user.id), offer.user_id, today_of(now))
    membership = live_membership(session, request.organisation_id, offer.user_id)
    entry = TimeLog(
        organisation_id=request.organisation_id,
        membership_id=membership.id if membership is not None else None,
        giver_id=offer.user_id,
        recipient_id=user.id,
        for_ulo=False,
        kind=request.kind,
        given_on=given_on,
        minutes=minutes,
        description=request.what[:MAX_WHAT],
        status=LogStatus.CONFIRMED.value,
        decided_by_id=user.id,
        confirmed_at=now,
    )
    session.add(entry)
    session.flush()  # the ledger entries need its id
    ledger.post(session, entry)
    request.status = HelpRequestStatus.DONE.value
    request.time_log_id = entry.id
    return entry


# --- read-only helpers for the pages ------------------------------------------------------------


def requests_of(session: Session, user: User) -> list[HelpRequest]:
    """Help requests this person asked, newest first."""
    return list(
        session.scalars(
            select(HelpRequest)
            .where(HelpRequest.requester_id == user.id)
            .order_by(HelpRequest.created_at.desc(), HelpRequest.id.desc())
        )
    )
