"""What moderation knows about organisations: the queue kind (an organisation asking to
join), an organisation as a thing people can report, and which council areas a ULO's
staff moderate (moderation asks; it must not import organisations)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.moderation import services as moderation
from marketplace.moderation.models import ModerationItem
from marketplace.organisations.models import (
    ApprovalStatus,
    Organisation,
    OrganisationKind,
    OrganisationStaff,
)
from marketplace.organisations.services import ITEM_ORGANISATION, _decide_from_queue
from marketplace.places.models import Council


def moderated_areas(session: Session, user: User) -> set[str]:
    """Council codes of the approved ULOs where this person is approved staff."""
    orgs = session.scalars(
        select(Organisation)
        .join(OrganisationStaff, OrganisationStaff.organisation_id == Organisation.id)
        .where(
            OrganisationStaff.user_id == user.id,
            OrganisationStaff.status == ApprovalStatus.APPROVED.value,
            Organisation.kind == OrganisationKind.ULO.value,
            Organisation.status == ApprovalStatus.APPROVED.value,
        )
    )
    return {council.code for org in orgs for council in org.councils}


def staff_of(session: Session, user: User) -> set[int]:
    """Organisations where this person is staff (approved or not): a conflict of interest."""
    return set(
        session.scalars(
            select(OrganisationStaff.organisation_id).where(OrganisationStaff.user_id == user.id)
        )
    )


def area_moderators(session: Session, codes: set[str]) -> list[User]:
    """Approved staff of approved ULOs that cover any of these council areas."""
    if not codes:
        return []
    return list(
        session.scalars(
            select(User)
            .join(OrganisationStaff, OrganisationStaff.user_id == User.id)
            .join(Organisation, Organisation.id == OrganisationStaff.organisation_id)
            .where(
                OrganisationStaff.status == ApprovalStatus.APPROVED.value,
                Organisation.kind == OrganisationKind.ULO.value,
                Organisation.status == ApprovalStatus.APPROVED.value,
                Organisation.councils.any(Council.code.in_(sorted(codes))),
            )
            .distinct()
        )
    )


def _view(session: Session, item: ModerationItem) -> dict[str, object]:
    return {"organisation": session.get(Organisation, item.item_id)}


def register() -> None:
    """Teach moderation about organisations (idempotent: called from init_app)."""
    moderation.register_moderator_areas(moderated_areas, staff_of, area_moderators)
    moderation.register_subject(
        ITEM_ORGANISATION,
        load=lambda session, org_id: session.get(Organisation, org_id),
        title=lambda _s, org: f"the organisation {org.name}",
        text=lambda _s, org: org.name,
        areas=lambda _s, org: {council.code for council in org.councils},
        page=lambda _s, org: ("organisations.show", {"org_id": org.id}),
        visible_to=lambda _s, _user, org: org.is_approved,
        organisations=lambda _s, org: {org.id},
        decide=_decide_from_queue,
        label="Organisation asking to join",
        approve_label="Approve: it can list services (a provider) or moderate its areas (a ULO)",
        reject_label="Turn it down, with a reason for the person who asked",
        view=_view,
    )
