"""What moderation knows about help requests: a thing the ULO's members and staff can
report (not hideable: the ULO already sees it and can cancel it), and the messages of a help
request's private thread, which the other person can report and moderators can hide."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.memberships import help_threads
from marketplace.memberships.common import live_membership
from marketplace.memberships.models import HelpMessage, HelpRequest
from marketplace.moderation import limits
from marketplace.moderation import services as moderation
from marketplace.organisations import services as organisations
from marketplace.organisations.models import Organisation

HELP_REQUEST = "help_request"
HELP_MESSAGE = "help_message"


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


def _message_visible(session: Session, user: User, message: HelpMessage) -> bool:
    """The other person in the thread, while the message is not hidden."""
    request = message.help_request
    return (
        help_threads.role_in(request, user) is not None
        and message.sender_id != user.id
        and message.hidden_at is None
    )


def _set_hidden(_session: Session, message: HelpMessage, hidden_at: datetime | None) -> bool:
    if (message.hidden_at is None) == (hidden_at is None):
        return False
    message.hidden_at = hidden_at
    return True


def _message_owners(_session: Session, message: HelpMessage) -> tuple[list[User], str]:
    return (
        [message.sender] if message.sender else [],
        "a message you sent about a request for help",
    )


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
    moderation.register_subject(
        HELP_MESSAGE,
        load=lambda session, message_id: session.get(HelpMessage, message_id),
        title=lambda _s, _message: "a message about a request for help",
        text=lambda _s, message: message.body,
        areas=lambda s, message: {c.code for c in _organisation(s, message.help_request).councils},
        page=lambda _s, message: (
            "memberships.help_request",
            {"request_id": message.help_request_id},
        ),
        visible_to=_message_visible,
        set_hidden=_set_hidden,
        owners=_message_owners,
        private=True,
    )
    limits.register_message_model("help_request", HelpMessage, HelpMessage.sender_id)
