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
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships import break_pauses, clearance, ledger
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
    HelpOffer,
    HelpRequest,
    HelpRequestStatus,
    LogStatus,
    Membership,
    MembershipPause,
    MembershipStatus,
    OfferStatus,
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
    # The help request through which the giver was matched with the person helped.
    help_request_id: int | None = None


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
    # Time only counts for a task the member may do: PA work needs the ULO's clearance.
    clearance.require_cleared(session, org.id, user.id, data.kind)
    request = None
    if data.recipient_id is not None or data.help_request_id is not None:
        request = _matched_request(session, org, user, data)
    entry = TimeLog(
        organisation_id=org.id,
        membership_id=membership.id,
        giver_id=user.id,
        recipient_id=request.requester_id if request is not None else None,
        for_ulo=request is None,
        kind=data.kind,
        given_on=data.given_on,
        minutes=data.minutes,
        description=data.description.strip(),
        status=LogStatus.LOGGED.value,
    )
    session.add(entry)
    session.flush()  # the caller shows it, and confirmation needs its id
    if (
        request is not None
        and request.status == HelpRequestStatus.ACCEPTED.value
        and request.time_log_id is None
    ):
        request.time_log_id = entry.id  # confirming these hours completes the request
    return entry


def matches_of(session: Session, org_id: int, user_id: int) -> list[HelpRequest]:
    """The help requests at this ULO where this member's offer was accepted, newest first: the
    people they were matched with, the only people they can log time for (so nobody needs
    anyone's email address, and nothing says whether an address belongs to a member)."""
    return list(
        session.scalars(
            select(HelpRequest)
            .join(HelpOffer, HelpOffer.help_request_id == HelpRequest.id)
            .where(
                HelpRequest.organisation_id == org_id,
                HelpRequest.requester_id.is_not(None),
                HelpRequest.status.in_(
                    [HelpRequestStatus.ACCEPTED.value, HelpRequestStatus.DONE.value]
                ),
                HelpOffer.user_id == user_id,
                HelpOffer.status == OfferStatus.ACCEPTED.value,
            )
            .order_by(HelpRequest.needed_on.desc(), HelpRequest.id.desc())
        )
    )


def _matched_request(
    session: Session, org: Organisation, user: User, data: TimeGiven
) -> HelpRequest:
    for request in matches_of(session, org.id, user.id):
        if data.help_request_id in (None, request.id) and data.recipient_id in (
            None,
            request.requester_id,
        ):
            return request
    # The same words whoever was named: nothing here tells anyone who is a member.
    raise DomainError("Choose the person you helped from the list", field="recipient")


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
    request = _request_of(session, entry)
    if request is not None and request.status == HelpRequestStatus.ACCEPTED.value:
        request.status = HelpRequestStatus.DONE.value  # the helper's hours are confirmed
    if by_staff:
        _audit_staff_decision(session, user, entry, "hours.confirmed")
    return entry


def _request_of(session: Session, entry: TimeLog) -> HelpRequest | None:
    """The help request these hours were logged for, if any."""
    return session.scalar(select(HelpRequest).where(HelpRequest.time_log_id == entry.id))


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
    request = _request_of(session, entry)
    if request is not None and request.status == HelpRequestStatus.ACCEPTED.value:
        request.time_log_id = None  # not given: the request waits for the right hours
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
    """A member's standing for one month: the minutes confirmed, the minutes owed (the
    commitment pro rata: `owed`) and, while the month is still going, the days left."""

    month: date
    standing: Standing
    confirmed_minutes: int
    commitment_minutes: int
    forgiven_by_id: int | None = None
    forgiven_at: datetime | None = None
    days_left: int = 0


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


def _days(first: date, last: date) -> set[int]:
    return set(range(first.toordinal(), last.toordinal() + 1))


def _paused_days(session: Session, membership_id: int, first: date, last: date) -> set[int]:
    """The days from `first` to `last` on which the membership was paused (a pause with no end
    runs to `last`; a pause and resume on the same day pauses that one day)."""
    pauses = session.scalars(
        select(MembershipPause).where(
            MembershipPause.membership_id == membership_id,
            MembershipPause.starts_on <= last,
            (MembershipPause.ends_on.is_(None)) | (MembershipPause.ends_on >= first),
        )
    )
    days: set[int] = set()
    for pause in pauses:
        days |= _days(max(pause.starts_on, first), min(pause.ends_on or last, last))
    return days


@dataclass(frozen=True)
class Owed:
    """What a month asks of a member: minutes owed, and whether a pause touched it."""

    minutes: int
    paused: bool


def owed(session: Session, membership: Membership, month: date) -> Owed:
    """THE rule for the hours a month asks: the commitment pro rata by the days of the month
    the member was a member on this basis and not paused (rounded down, in the member's
    favour). Joining on the 20th asks for the days from the 20th; pausing for a day asks for
    every other day, so pausing and resuming cannot wipe a month. A month touched by a
    wellbeing break that paused the membership asks nothing (the break promises "no month
    counts as short": break_pauses.py reads its dates)."""
    first, last = month_start(month), month_end(month)
    start = max(first, membership.basis_from, as_utc(membership.joined_at).date())
    if membership.basis != Basis.RECIPROCITY or start > last:
        return Owed(0, False)
    paused = _paused_days(session, membership.id, start, last)
    if break_pauses.touches(session, membership.id, first, last):
        return Owed(0, True)
    member_days = len(_days(start, last) - paused)
    month_days = last.day
    return Owed(membership.commitment_minutes * member_days // month_days, bool(paused))


def standing(
    session: Session, membership: Membership, month: date, today: date | None = None
) -> MonthStanding:
    """good (confirmed ≥ owed), paused (paused all the month, or a break: nothing owed),
    forgiven (staff forgave a shortfall), so_far (the month is still going: there is time
    left), short (the month is over and fell short); not_applicable for fee months and
    months before joining."""
    month = month_start(month)
    today = today or today_of(utcnow())
    minutes = confirmed_minutes(session, membership.id, month)
    asked = owed(session, membership, month)

    def result(
        value: Standing, forgiven: ForgivenMonth | None = None, days_left: int = 0
    ) -> MonthStanding:
        return MonthStanding(
            month,
            value,
            minutes,
            asked.minutes,
            forgiven.forgiven_by_id if forgiven else None,
            forgiven.forgiven_at if forgiven else None,
            days_left,
        )

    if membership.basis != Basis.RECIPROCITY or month < membership.basis_from:
        return result(Standing.NOT_APPLICABLE)
    if month_start(as_utc(membership.joined_at).date()) > month:
        return result(Standing.NOT_APPLICABLE)
    if asked.minutes == 0:
        return result(Standing.PAUSED if asked.paused else Standing.GOOD)
    if minutes >= asked.minutes:
        return result(Standing.GOOD)
    forgiven = session.scalar(
        select(ForgivenMonth).where(
            ForgivenMonth.membership_id == membership.id, ForgivenMonth.month == month
        )
    )
    if forgiven is not None:
        return result(Standing.FORGIVEN, forgiven)
    if today <= month_end(month):
        # Never "short" while the hours can still be given this month.
        return result(Standing.SO_FAR, days_left=(month_end(month) - today).days + 1)
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
    current = standing(session, membership, month, today_of(now))
    # A month still going can be forgiven ahead (staff know it will not be met); a month
    # that is paused, good or not applicable has nothing to forgive.
    if current.standing not in (Standing.SHORT, Standing.SO_FAR):
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
