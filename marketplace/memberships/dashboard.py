"""The ULO's view of its members, as plain data (the pages draw it): members by basis and
standing, hours given and fee income per month, confirmations waiting, open help requests, and a
CSV export. Every function checks that the caller is approved staff of THIS ULO (NotAllowed
otherwise), so staff see only their own ULO's members.

Fee income comes from the payments ledger: `subscription_payment` entries whose reference is
"subscription:<id>" for one of this ULO's membership subscriptions.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.db import as_utc, utcnow
from marketplace.memberships.common import month_start, previous_month, require_staff, today_of
from marketplace.memberships.models import (
    HelpRequest,
    HelpRequestStatus,
    LogStatus,
    Membership,
    MembershipStatus,
    MembershipSubscription,
    TimeLog,
)
from marketplace.memberships.reciprocity import standing
from marketplace.organisations.models import Organisation
from marketplace.payments.models import LedgerEntry, LedgerKind


@dataclass(frozen=True)
class MemberRow:
    """One member as staff see them, for one month."""

    membership_id: int
    user_id: int
    display_name: str
    basis: str
    status: str
    standing: str
    confirmed_minutes: int
    commitment_minutes: int
    pending_basis: str | None
    joined_on: date


def _months(today: date, count: int) -> list[date]:
    months = [month_start(today)]
    while len(months) < count:
        months.append(previous_month(months[-1]))
    return list(reversed(months))


def members(
    session: Session,
    staff: User,
    org: Organisation,
    month: date | None = None,
    include_ended: bool = False,
) -> list[MemberRow]:
    """This ULO's members with their standing for `month` (default: this month)."""
    require_staff(session, staff, org)
    month = month_start(month or today_of(utcnow()))
    query = select(Membership).where(Membership.organisation_id == org.id)
    if not include_ended:
        query = query.where(Membership.status != MembershipStatus.ENDED.value)
    rows = []
    for m in session.scalars(query.order_by(Membership.joined_at, Membership.id)):
        found = standing(session, m, month)
        rows.append(
            MemberRow(
                membership_id=m.id,
                user_id=m.user_id,
                display_name=m.user.display_name,
                basis=m.basis,
                status=m.status,
                standing=found.standing.value,
                confirmed_minutes=found.confirmed_minutes,
                commitment_minutes=found.commitment_minutes,  # owed this month (pro rata)
                pending_basis=m.pending_basis,
                joined_on=as_utc(m.joined_at).date(),
            )
        )
    return rows


def members_by_basis_and_standing(
    session: Session, staff: User, org: Organisation, month: date | None = None
) -> dict[str, dict[str, int]]:
    """Counts of live members: {basis: {standing (reciprocity) or status (fee): count}}."""
    counts: dict[str, Counter[str]] = {}
    for row in members(session, staff, org, month):
        key = row.standing if row.basis == "reciprocity" else row.status
        counts.setdefault(row.basis, Counter())[key] += 1
    return {basis: dict(c) for basis, c in sorted(counts.items())}


def hours_given_per_month(
    session: Session, staff: User, org: Organisation, months: int = 12, today: date | None = None
) -> list[tuple[date, int]]:
    """Confirmed minutes given to this ULO's community, month by month (oldest first)."""
    require_staff(session, staff, org)
    span = _months(today or today_of(utcnow()), months)
    totals = dict.fromkeys(span, 0)
    rows = session.execute(
        select(TimeLog.given_on, TimeLog.minutes).where(
            TimeLog.organisation_id == org.id,
            TimeLog.status == LogStatus.CONFIRMED.value,
            TimeLog.given_on >= span[0],
        )
    )
    for given_on, minutes in rows:
        key = month_start(given_on)
        if key in totals:
            totals[key] += minutes
    return list(totals.items())


def fee_income_per_month(
    session: Session, staff: User, org: Organisation, months: int = 12, today: date | None = None
) -> list[tuple[date, int]]:
    """Membership fees received (pence), month by month (oldest first)."""
    require_staff(session, staff, org)
    span = _months(today or today_of(utcnow()), months)
    totals = dict.fromkeys(span, 0)
    reference = literal("subscription:") + MembershipSubscription.stripe_subscription_id
    rows = session.execute(
        select(LedgerEntry.created_at, LedgerEntry.amount_pence)
        .join(MembershipSubscription, LedgerEntry.reference == reference)
        .join(Membership, Membership.id == MembershipSubscription.membership_id)
        .where(
            Membership.organisation_id == org.id,
            LedgerEntry.kind == LedgerKind.SUBSCRIPTION_PAYMENT.value,
        )
    )
    for created_at, amount in rows:
        key = month_start(as_utc(created_at).date())
        if key in totals:
            totals[key] += amount
    return list(totals.items())


def confirmations_waiting(session: Session, staff: User, org: Organisation) -> list[TimeLog]:
    """Time logged here and not yet confirmed or rejected, oldest first."""
    require_staff(session, staff, org)
    return list(
        session.scalars(
            select(TimeLog)
            .where(TimeLog.organisation_id == org.id, TimeLog.status == LogStatus.LOGGED.value)
            .order_by(TimeLog.given_on, TimeLog.id)
        )
    )


def open_help_requests(session: Session, staff: User, org: Organisation) -> list[HelpRequest]:
    """Help requests to this ULO that are open or accepted but not yet done."""
    require_staff(session, staff, org)
    return list(
        session.scalars(
            select(HelpRequest)
            .where(
                HelpRequest.organisation_id == org.id,
                HelpRequest.status.in_(
                    [HelpRequestStatus.OPEN.value, HelpRequestStatus.ACCEPTED.value]
                ),
            )
            .order_by(HelpRequest.needed_on, HelpRequest.id)
        )
    )


CSV_COLUMNS = (
    "membership_id",
    "name",
    "basis",
    "status",
    "standing",
    "hours_confirmed",
    "hours_committed",
    "switching_to",
    "joined_on",
)


def _hours(minutes: int) -> str:
    """Minutes as hours for a spreadsheet, exactly (no floats): 90 -> "1:30"."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def _cell(value: str) -> str:
    """Stop a spreadsheet treating a name as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def members_csv(session: Session, staff: User, org: Organisation, month: date | None = None) -> str:
    """This ULO's members and their standing for the month, as CSV text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in members(session, staff, org, month):
        writer.writerow(
            [
                row.membership_id,
                _cell(row.display_name),
                row.basis,
                row.status,
                row.standing,
                _hours(row.confirmed_minutes),
                _hours(row.commitment_minutes),
                row.pending_basis or "",
                row.joined_on.isoformat(),
            ]
        )
    return out.getvalue()
