"""What moderation knows about help requests: a thing the ULO's members and staff can
report. Not hideable: the ULO already sees it and can cancel it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.memberships.common import live_membership
from marketplace.memberships.models import HelpRequest
from marketplace.moderation import services as moderation
from marketplace.organisations import services as organisations
from marketplace.organisations.models import Organisation

HELP_REQUEST = "help_request"


def _organisation(session: Session, request: HelpRequest) -> Organisation:
    org = session.get(Organisation, request.organisation_id)
    assert org is not None  # noqa: S101 - _load checked it
    return org


def _load(session: Session, request_id: int) -> HelpRequest | None:
    found = session.get(HelpRequest, request_id)
    if found is None or session.get(Organisation, found.organisation_id) is None:
        return None
    return found


def _visible(session: Session, user: User, request: HelpRequest) -> bool:
    """The ULO's staff and members, except the person who asked."""
    org = _organisation(session, request)
    sees = organisations.is_staff(session, user, org) or (
        live_membership(session, org.id, user.id) is not None
    )
    return sees and request.requester_id != user.id


def _owners(_session: Session, request: HelpRequest) -> tuple[list[User], str]:
    return [request.requester] if request.requester else [], "a request for help you posted"


def register() -> None:
    """Teach moderation about help requests (idempotent: called from init_app)."""
    moderation.register_subject(
        HELP_REQUEST,
        load=_load,
        title=lambda s, request: f"a request for help to {_organisation(s, request).name}",
        text=lambda _s, request: request.what,
        areas=lambda s, request: {c.code for c in _organisation(s, request).councils},
        page=lambda _s, request: ("memberships.help_request", {"request_id": request.id}),
        visible_to=_visible,
        owners=_owners,
    )
