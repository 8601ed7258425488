"""Small helpers the membership modules share: months, authorisation, carers acting for holders."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships.models import Membership, MembershipOffer, MembershipStatus
from marketplace.organisations import services as organisations
from marketplace.organisations.models import Organisation, OrganisationKind


def month_start(day: date) -> date:
    """The first day of the month `day` is in."""
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after the one `day` is in."""
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def previous_month(day: date) -> date:
    """The first day of the month before the one `day` is in."""
    return date(day.year - 1, 12, 1) if day.month == 1 else date(day.year, day.month - 1, 1)


def month_end(day: date) -> date:
    """The last day of the month `day` is in."""
    return date.fromordinal(next_month(day).toordinal() - 1)


def first_open_month(today: date) -> date:
    """Months before the previous calendar month are closed: nothing more is logged in them."""
    return previous_month(today)


def today_of(now: datetime) -> date:
    """The UTC date of a timezone-aware moment."""
    return now.date()


def act_as(session: Session, carer: User | None, holder_id: int, description: str) -> None:
    """When a carer acts for the holder, check their "memberships" grant and record it first."""
    if carer is not None:
        carers.act_for(session, carer, holder_id, CarerScope.MEMBERSHIPS, description)


def require_ulo(org: Organisation) -> None:
    """Only approved ULOs have memberships."""
    if org.kind != OrganisationKind.ULO.value or not org.is_approved:
        raise DomainError("This is not an approved user-led organisation", field="organisation")


def require_staff(session: Session, staff: User, org: Organisation) -> None:
    """NotAllowed unless this person is approved staff of this (approved) ULO."""
    if not organisations.is_staff(session, staff, org):
        raise NotAllowed("Only this organisation's staff can do this")


def offer_of(session: Session, org_id: int) -> MembershipOffer | None:
    """The ULO's membership offer, if it has set one."""
    return session.scalar(select(MembershipOffer).where(MembershipOffer.organisation_id == org_id))


def live_membership(session: Session, org_id: int, user_id: int) -> Membership | None:
    """This person's live (not ended) membership of this ULO, if any."""
    return session.scalar(
        select(Membership).where(
            Membership.organisation_id == org_id,
            Membership.user_id == user_id,
            Membership.status != MembershipStatus.ENDED.value,
        )
    )
