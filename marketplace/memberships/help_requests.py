"""Help requests: anyone signed in asks a ULO for help; cleared reciprocity members offer to take
it; the requester accepts one offer; afterwards one step logs and confirms the hours.

Clearance: staff record that a member is cleared for a kind of task (e.g. occasional PA work after
a DBS check), with who and when. Kinds in NEEDS_CLEARANCE can only be offered by cleared members.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships import ledger
from marketplace.memberships.common import (
    act_as,
    live_membership,
    require_staff,
    require_ulo,
    today_of,
)
from marketplace.memberships.models import (
    MAX_PLACE,
    MAX_WHAT,
    NEEDS_CLEARANCE,
    Basis,
    Clearance,
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
    request.status = HelpRequestStatus.CANCELLED.value
    return request


# --- clearance ----------------------------------------------------------------------------------


def is_cleared(session: Session, org_id: int, user_id: int, kind: str) -> bool:
    """True if staff cleared this person for this kind of task here (and did not revoke it)."""
    return (
        session.scalar(
            select(Clearance.id).where(
                Clearance.organisation_id == org_id,
                Clearance.user_id == user_id,
                Clearance.kind == kind,
                Clearance.revoked_at.is_(None),
            )
        )
        is not None
    )


def set_clearance(
    session: Session,
    staff: User,
    org: Organisation,
    member: User,
    kind: str,
    cleared: bool = True,
    now: datetime | None = None,
) -> Clearance:
    """Staff clear a reciprocity member for a kind of task, or revoke it (who and when kept)."""
    require_staff(session, staff, org)
    if kind not in {k.value for k in GivingKind}:
        raise DomainError("Choose a kind of task", field="kind")
    membership = live_membership(session, org.id, member.id)
    if membership is None or Basis.RECIPROCITY not in (membership.basis, membership.pending_basis):
        raise DomainError("Only members giving time back can be cleared", field="member")
    now = now or utcnow()
    record = session.scalar(
        select(Clearance).where(
            Clearance.organisation_id == org.id,
            Clearance.user_id == member.id,
            Clearance.kind == kind,
        )
    )
    if record is None:
        if not cleared:
            raise DomainError("This member is not cleared for that", field="kind")
        record = Clearance(organisation_id=org.id, user_id=member.id, kind=kind)
        session.add(record)
    if cleared:
        record.cleared_by_id, record.cleared_at = staff.id, now
        record.revoked_by_id = record.revoked_at = None
    else:
        record.revoked_by_id, record.revoked_at = staff.id, now
    # Clearance lets a member into people's homes and lives: who granted it is kept for good.
    audit.record(
        session,
        staff.id,
        "clearance.granted" if cleared else "clearance.revoked",
        "user",
        member.id,
        f"{kind} for organisation {org.id}",
    )
    return record


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
    if request.kind in NEEDS_CLEARANCE and not is_cleared(
        session, request.organisation_id, user.id, request.kind
    ):
        raise NotAllowed(
            "The organisation needs to clear you for this kind of task first", field="kind"
        )
    existing = session.scalar(
        select(HelpOffer).where(
            HelpOffer.help_request_id == request.id, HelpOffer.user_id == user.id
        )
    )
    if existing is not None and existing.status == OfferStatus.OFFERED.value:
        raise DomainError("You have already offered to help with this", field="request")
    if existing is not None:
        existing.status = OfferStatus.OFFERED.value
        return existing
    offer = HelpOffer(help_request=request, user_id=user.id, status=OfferStatus.OFFERED.value)
    session.add(offer)
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
    for other in request.offers:
        if other.status == OfferStatus.OFFERED.value:
            other.status = OfferStatus.DECLINED.value
    offer.status = OfferStatus.ACCEPTED.value
    request.status = HelpRequestStatus.ACCEPTED.value
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
    offer = accepted_offer(request)
    if offer is None or offer.user_id is None:
        raise DomainError("The person who offered is no longer here", field="offer")
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


def clearances_of(session: Session, org_id: int, user_id: int) -> list[Clearance]:
    """This person's clearances (current and revoked) at this ULO."""
    return list(
        session.scalars(
            select(Clearance)
            .where(Clearance.organisation_id == org_id, Clearance.user_id == user_id)
            .order_by(Clearance.kind)
        )
    )
