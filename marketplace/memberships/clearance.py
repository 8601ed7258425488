"""Clearance, in one place: staff record that a member is cleared for a kind of task (e.g.
occasional PA work after a DBS check), with who and when. A kind in NEEDS_CLEARANCE can only be
offered, logged or confirmed as given by a member cleared for it here (and not revoked): the
rule is `require_cleared`, which every service that takes or counts such a task calls.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships.common import live_membership, require_staff
from marketplace.memberships.models import NEEDS_CLEARANCE, Basis, Clearance, GivingKind
from marketplace.organisations.models import Organisation

NOT_CLEARED = "The organisation needs to clear you for this kind of task first"


def needs_clearance(kind: str) -> bool:
    """Whether this kind of task may only be done by members staff have cleared."""
    return kind in NEEDS_CLEARANCE


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


def may_do(session: Session, org_id: int, user_id: int, kind: str) -> bool:
    """Whether this member may take on (and have time counted for) this kind of task here."""
    return not needs_clearance(kind) or is_cleared(session, org_id, user_id, kind)


def require_cleared(
    session: Session, org_id: int, user_id: int, kind: str, message: str = NOT_CLEARED
) -> None:
    """NotAllowed (field "kind") unless this member may do this kind of task here."""
    if not may_do(session, org_id, user_id, kind):
        raise NotAllowed(message, field="kind")


def cleared_people(session: Session, org_id: int, kind: str) -> set[int]:
    """The ids of the people cleared (not revoked) for this kind of task here."""
    return set(
        session.scalars(
            select(Clearance.user_id).where(
                Clearance.organisation_id == org_id,
                Clearance.kind == kind,
                Clearance.revoked_at.is_(None),
            )
        )
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


def clearances_of(session: Session, org_id: int, user_id: int) -> list[Clearance]:
    """This person's clearances (current and revoked) at this ULO."""
    return list(
        session.scalars(
            select(Clearance)
            .where(Clearance.organisation_id == org_id, Clearance.user_id == user_id)
            .order_by(Clearance.kind)
        )
    )
