"""Rules for organisations: creating, approving, and who works for which."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import Role, User
from marketplace.auth.services import grant_role
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, ModerationItem, QueueState
from marketplace.organisations.models import (
    ApprovalStatus,
    Organisation,
    OrganisationKind,
    OrganisationStaff,
    StaffRole,
)
from marketplace.places.models import Council

ITEM_ORGANISATION = "organisation"
STAFF_ROLE_FOR_KIND = {
    OrganisationKind.PROVIDER.value: Role.PROVIDER_STAFF,
    OrganisationKind.ULO.value: Role.ULO_STAFF,
}


@dataclass(frozen=True)
class OrganisationDetails:
    """What someone tells us about their organisation."""

    name: str
    kind: OrganisationKind
    description: str
    website: str | None
    public_email: str | None
    public_phone: str | None
    council_ids: tuple[int, ...]
    postal_address: str | None = None


def _councils(session: Session, ids: tuple[int, ...]) -> list[Council]:
    councils = list(session.scalars(select(Council).where(Council.id.in_(ids))))
    if len(councils) != len(set(ids)):
        raise DomainError("Choose council areas from the list", field="council_ids")
    return councils


def create_organisation(
    session: Session, owner: User, details: OrganisationDetails
) -> Organisation:
    """Ask for a new organisation; it waits for an admin, and its creator is its owner."""
    name = details.name.strip()
    exists = session.scalars(
        select(Organisation).where(Organisation.name == name, Organisation.kind == details.kind)
    ).first()
    if exists is not None:
        raise DomainError(
            "An organisation with this name is already registered. Ask to join it instead",
            field="name",
        )
    org = Organisation(
        name=name,
        kind=details.kind.value,
        description=details.description.strip(),
        website=details.website or None,
        public_email=details.public_email or None,
        public_phone=details.public_phone or None,
        postal_address=(details.postal_address or "").strip() or None,
        councils=_councils(session, details.council_ids),
    )
    org.staff.append(
        OrganisationStaff(
            user=owner, role=StaffRole.OWNER.value, status=ApprovalStatus.APPROVED.value
        )
    )
    session.add(org)
    session.flush()  # the audit entry and the redirect need the id
    audit.record(session, owner.id, "organisation.requested", "organisation", org.id, name)
    # In the one queue with no council areas, so only admins see it: a user-led organisation
    # must not decide whether a rival (or a provider it competes with) may join.
    moderation.submit(
        session, ITEM_ORGANISATION, org.id, f"Organisation asking to join: {name}", owner, ()
    )
    return org


def pending_organisations(session: Session) -> list[Organisation]:
    """Organisations waiting for an admin, oldest first."""
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.status == ApprovalStatus.PENDING.value)
            .order_by(Organisation.created_at, Organisation.id)
        )
    )


def approved_organisations(
    session: Session, kind: OrganisationKind | None = None
) -> list[Organisation]:
    """Approved organisations, by name, optionally of one kind."""
    query = select(Organisation).where(Organisation.status == ApprovalStatus.APPROVED.value)
    if kind is not None:
        query = query.where(Organisation.kind == kind.value)
    return list(session.scalars(query.order_by(Organisation.name)))


def decide_organisation(
    session: Session, admin: User, org: Organisation, approve: bool, reason: str = ""
) -> None:
    """An admin approves or rejects a new organisation (from the admin page); approval makes
    its owners staff. Its queue entry is closed with the same decision."""
    if not admin.has_role(Role.ADMIN):
        raise NotAllowed("Only an admin can approve organisations")
    _apply(session, org, approve, reason, admin.id)
    decision = Decision.APPROVE if approve else Decision.REJECT
    for entry in moderation.open_entries_for(session, ITEM_ORGANISATION, org.id):
        entry.state = QueueState.DECIDED.value
        entry.decision = decision.value
        entry.reason = reason.strip() or None
        entry.decided_by_id = admin.id
        entry.decided_at = org.decided_at


def _apply(
    session: Session, org: Organisation, approve: bool, reason: str, actor_id: int | None
) -> None:
    if org.status != ApprovalStatus.PENDING.value:
        raise DomainError("This organisation has already been decided")
    if not approve and not reason.strip():
        raise DomainError("Say why the organisation is not approved", field="reason")
    org.status = (ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED).value
    org.rejection_reason = None if approve else reason.strip()
    org.decided_at = utcnow()
    if approve:
        for member in org.staff:
            if member.is_approved:
                grant_role(session, member.user, STAFF_ROLE_FOR_KIND[org.kind])
    action = "organisation.approved" if approve else "organisation.rejected"
    audit.record(session, actor_id, action, "organisation", org.id, reason.strip())


def _decide_from_queue(
    session: Session, item: ModerationItem, decision: Decision, reason: str
) -> None:
    org = session.get(Organisation, item.item_id)
    if org is None:
        raise DomainError("This organisation no longer exists")
    # The queue checked that the moderator may handle it (admins only: it has no areas).
    _apply(session, org, decision is Decision.APPROVE, reason, item.claimed_by_id)


def membership(session: Session, user: User, org: Organisation) -> OrganisationStaff | None:
    """This person's staff record at this organisation, if any."""
    return session.scalars(
        select(OrganisationStaff).where(
            OrganisationStaff.organisation_id == org.id, OrganisationStaff.user_id == user.id
        )
    ).first()


def is_owner(session: Session, user: User, org: Organisation) -> bool:
    """True if this person is an approved owner of the organisation."""
    record = membership(session, user, org)
    return record is not None and record.is_approved and record.role == StaffRole.OWNER.value


def is_staff(session: Session, user: User, org: Organisation) -> bool:
    """True if this person is approved staff (or owner) of an approved organisation."""
    record = membership(session, user, org)
    return org.is_approved and record is not None and record.is_approved


def staff_of(session: Session, org: Organisation) -> list[User]:
    """Approved staff of an approved organisation who still have an account."""
    if not org.is_approved:
        return []
    return list(
        session.scalars(
            select(User)
            .join(OrganisationStaff, OrganisationStaff.user_id == User.id)
            .where(
                OrganisationStaff.organisation_id == org.id,
                OrganisationStaff.status == ApprovalStatus.APPROVED.value,
                User.erased_at.is_(None),
            )
            .order_by(User.id)
        )
    )


def request_to_join(session: Session, user: User, org: Organisation) -> OrganisationStaff:
    """Ask to work for an approved organisation; an owner decides."""
    if not org.is_approved:
        raise DomainError("You can only join an organisation once it has been approved")
    if membership(session, user, org) is not None:
        raise DomainError("You have already asked to join this organisation")
    record = OrganisationStaff(organisation=org, user=user)
    session.add(record)
    return record


def decide_staff_request(
    session: Session, owner: User, record: OrganisationStaff, approve: bool
) -> None:
    """An owner approves or turns down someone who asked to join their organisation."""
    org = record.organisation
    if not is_owner(session, owner, org):
        raise NotAllowed("Only the organisation's owners can approve staff")
    if record.status != ApprovalStatus.PENDING.value:
        raise DomainError("This request has already been decided")
    record.status = (ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED).value
    record.decided_at = utcnow()
    if approve and org.is_approved:
        grant_role(session, record.user, STAFF_ROLE_FOR_KIND[org.kind])
    action = "staff.approved" if approve else "staff.rejected"
    audit.record(session, owner.id, action, "organisation", org.id, f"user {record.user_id}")


def organisations_of(session: Session, user: User) -> list[OrganisationStaff]:
    """Every organisation this person works for or asked to join."""
    return list(
        session.scalars(
            select(OrganisationStaff)
            .where(OrganisationStaff.user_id == user.id)
            .order_by(OrganisationStaff.requested_at)
        )
    )


def pending_staff(session: Session, org: Organisation) -> list[OrganisationStaff]:
    """People waiting for an owner's decision."""
    return [s for s in org.staff if s.status == ApprovalStatus.PENDING.value]


def all_organisation_names(session: Session) -> list[str]:
    """Every organisation's name: no one may take one as a display name."""
    return list(session.scalars(select(Organisation.name)))
