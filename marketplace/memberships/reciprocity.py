"""Giving time back: logging hours, confirming or rejecting them, standing per month, forgiving
a shortfall.

Time is in integer minutes. A log counts once confirmed by the person helped (or, for time given
to the ULO itself, or by anyone's choice, by the ULO's staff); confirming posts it to the
double-entry time ledger (ledger.py). Confirming is a conditional UPDATE (... WHERE status =
'logged'), so two people confirming the same log at once post it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships import ledger
from marketplace.memberships.common import (
    act_as,
    first_open_month,
    live_membership,
    month_end,
    month_start,
    offer_of,
    require_staff,
    today_of,
)
from marketplace.memberships.models import (
    MAX_ENTRY_MINUTES,
    Basis,
    ForgivenMonth,
    GivingKind,
    LogStatus,
    Membership,
    MembershipPause,
    MembershipStatus,
    Standing,
    TimeLog,
)
from marketplace.organisations import services as organisations
from marketplace.organisations.models import Organisation

MAX_DESCRIPTION = 2000


@dataclass(frozen=True)
class TimeGiven:
    """Time a member says they gave, parsed from the form. recipient_id None: the ULO itself."""

    kind: str
    given_on: date
    minutes: int
    recipient_id: int | None = None
    description: str = ""


def check_time(data: TimeGiven, giver_id: int, today: date) -> None:
    """The rules every log of time given obeys; DomainError naming the field otherwise."""
    if not isinstance(data.minutes, int) or data.minutes <= 0:
        raise DomainError("Enter how long you gave, more than 0 minutes", field="minutes")
    if data.minutes > MAX_ENTRY_MINUTES:
        raise DomainError("One entry can be at most 24 hours; log each day", field="minutes")
    if data.given_on > today:
        raise DomainError("The date cannot be in the future", field="given_on")
    if data.given_on < first_open_month(today):
        raise DomainError(
            "That month is closed: you can log time for this month and last month",
            field="given_on",
        )
    if data.kind not in {k.value for k in GivingKind}:
        raise DomainError("Choose what kind of help you gave", field="kind")
    if data.recipient_id == giver_id:
        raise DomainError("Choose the person you helped, not yourself", field="recipient")
    if len(data.description) > MAX_DESCRIPTION:
        raise DomainError(
            f"The description must be {MAX_DESCRIPTION:,} characters or fewer",
            field="description",
        )


def log_time(
    session: Session,
    user: User,
    org: Organisation,
    data: TimeGiven,
    acting_carer: User | None = None,
    now: datetime | None = None,
) -> TimeLog:
    """A reciprocity member of THIS ULO logs time they gave; it waits for confirmation."""
    act_as(session, acting_carer, user.id, f"Logged time given to {org.name}")
    today = today_of(now or utcnow())
    membership = live_membership(session, org.id, user.id)
    if membership is None:
        raise NotAllowed(
            "Only members of this organisation can log time here", field="organisation"
        )
    if membership.basis != Basis.RECIPROCITY and membership.pending_basis != Basis.RECIPROCITY:
        raise DomainError("Your membership is by fee, not by giving time", field="organisation")
    check_time(data, user.id, today)
    offer = offer_of(session, org.id)
    if offer is not None and offer.kinds and data.kind not in offer.kinds:
        raise DomainError("This organisation does not accept that kind of help", field="kind")
    if data.recipient_id is not None and session.get(User, data.recipient_id) is None:
        raise DomainError("Choose the person you helped", field="recipient")
    entry = TimeLog(
        organisation_id=org.id,
        membership_id=membership.id,
        giver_id=user.id,
        recipient_id=data.recipient_id,
        for_ulo=data.recipient_id is None,
        kind=data.kind,
        given_on=data.given_on,
        minutes=data.minutes,
        description=data.description.strip(),
        status=LogStatus.LOGGED.value,
    )
    session.add(entry)
    session.flush()  # the caller shows it, and confirmation needs its id
    return entry


def _may_decide(session: Session, user: User, entry: TimeLog, org: Organisation) -> bool:
    """The giver never decides; the person helped or the ULO's staff do. True if it is
    staff deciding (with their powers, so audited), False for the person helped."""
    if entry.giver_id == user.id:
        raise DomainError("You cannot confirm your own hours", field="log")
    if entry.recipient_id == user.id and entry.recipient_id is not None:
        return False
    if organisations.is_staff(session, user, org):
        return True
    raise NotAllowed("Only the person helped or the organisation's staff can confirm this")


def _audit_staff_decision(session: Session, staff: User, entry: TimeLog, action: str) -> None:
    audit.record(
        session,
        staff.id,
        action,
        "time_log",
        entry.id,
        f"{entry.minutes} minutes for organisation {entry.organisation_id}",
    )


def confirm(session: Session, user: User, entry: TimeLog, now: datetime | None = None) -> TimeLog:
    """The person helped (or ULO staff) confirms the time; it is posted to the ledger once."""
    by_staff = _may_decide(session, user, entry, entry.organisation)
    now = now or utcnow()
    changed = session.execute(
        update(TimeLog)
        .where(TimeLog.id == entry.id, TimeLog.status == LogStatus.LOGGED.value)
        .values(status=LogStatus.CONFIRMED.value, decided_by_id=user.id, confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(entry)
    if not getattr(changed, "rowcount", 0):
        raise DomainError("These hours have already been decided", field="log")
    ledger.post(session, entry)
    if by_staff:
        _audit_staff_decision(session, user, entry, "hours.confirmed")
    return entry


def reject(session: Session, user: User, entry: TimeLog, now: datetime | None = None) -> TimeLog:
    """The person helped (or ULO staff) says the time was not given; it never counts."""
    by_staff = _may_decide(session, user, entry, entry.organisation)
    changed = session.execute(
        update(TimeLog)
        .where(TimeLog.id == entry.id, TimeLog.status == LogStatus.LOGGED.value)
        .values(status=LogStatus.REJECTED.value, decided_by_id=user.id, rejected_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(entry)
    if not getattr(changed, "rowcount", 0):
        raise DomainError("These hours have already been decided", field="log")
    if by_staff:
        _audit_staff_decision(session, user, entry, "hours.rejected")
    return entry


def waiting_for(session: Session, user: User) -> list[TimeLog]:
    """Time others logged as given to this person, waiting for them to confirm."""
    return list(
        session.scalars(
            select(TimeLog)
            .where(TimeLog.recipient_id == user.id, TimeLog.status == LogStatus.LOGGED.value)
            .order_by(TimeLog.given_on, TimeLog.id)
        )
    )


def logs_of(session: Session, membership: Membership) -> list[TimeLog]:
    """A membership's time logs, newest first."""
    return list(
        session.scalars(
            select(TimeLog)
            .where(TimeLog.membership_id == membership.id)
            .order_by(TimeLog.given_on.desc(), TimeLog.id.desc())
        )
    )


# --- standing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthStanding:
    """A member's standing for one month, with the minutes confirmed and committed."""

    month: date
    standing: Standing
    confirmed_minutes: int
    commitment_minutes: int
    forgiven_by_id: int | None = None
    forgiven_at: datetime | None = None


def confirmed_minutes(session: Session, membership_id: int, month: date) -> int:
    """Confirmed minutes given by this membership in the month."""
    total = session.scalar(
        select(func.coalesce(func.sum(TimeLog.minutes), 0)).where(
            TimeLog.membership_id == membership_id,
            TimeLog.status == LogStatus.CONFIRMED.value,
            TimeLog.given_on >= month_start(month),
            TimeLog.given_on <= month_end(month),
        )
    )
    return int(total or 0)


def _paused_in(session: Session, membership_id: int, month: date) -> bool:
    first, last = month_start(month), month_end(month)
    found = session.scalar(
        select(MembershipPause.id).where(
            MembershipPause.membership_id == membership_id,
            MembershipPause.starts_on <= last,
            (MembershipPause.ends_on.is_(None)) | (MembershipPause.ends_on >= first),
        )
    )
    return found is not None


def standing(session: Session, membership: Membership, month: date) -> MonthStanding:
    """good (confirmed ≥ commitment), paused (paused any part of the month: no penalty),
    forgiven (staff forgave a shortfall), short; not_applicable for fee months."""
    month = month_start(month)
    minutes = confirmed_minutes(session, membership.id, month)
    commitment = membership.commitment_minutes

    def result(value: Standing, forgiven: ForgivenMonth | None = None) -> MonthStanding:
        return MonthStanding(
            month,
            value,
            minutes,
            commitment,
            forgiven.forgiven_by_id if forgiven else None,
            forgiven.forgiven_at if forgiven else None,
        )

    if membership.basis != Basis.RECIPROCITY or month < membership.basis_from:
        return result(Standing.NOT_APPLICABLE)
    if month_start(membership.joined_at.date()) > month:
        return result(Standing.NOT_APPLICABLE)
    if _paused_in(session, membership.id, month):
        return result(Standing.PAUSED)
    if minutes >= commitment:
        return result(Standing.GOOD)
    forgiven = session.scalar(
        select(ForgivenMonth).where(
            ForgivenMonth.membership_id == membership.id, ForgivenMonth.month == month
        )
    )
    if forgiven is not None:
        return result(Standing.FORGIVEN, forgiven)
    return result(Standing.SHORT)


def forgive(
    session: Session,
    staff: User,
    membership: Membership,
    month: date,
    now: datetime | None = None,
) -> ForgivenMonth:
    """ULO staff forgive a member's shortfall for a month (recorded with who and when)."""
    require_staff(session, staff, membership.organisation)
    now = now or utcnow()
    month = month_start(month)
    if month > month_start(today_of(now)):
        raise DomainError("You cannot forgive a month that has not started", field="month")
    current = standing(session, membership, month)
    if current.standing != Standing.SHORT:
        raise DomainError(
            f"There is no shortfall to forgive (standing: {current.standing.value})",
            field="month",
        )
    record = ForgivenMonth(
        membership_id=membership.id, month=month, forgiven_by_id=staff.id, forgiven_at=now
    )
    session.add(record)
    return record


def is_paused_now(membership: Membership) -> bool:
    """True when the membership is paused."""
    return membership.status == MembershipStatus.PAUSED.value
