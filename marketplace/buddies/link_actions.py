"""What an emailed link can do for buddies: say yes to a suggestion, pause a pairing. Each
calls the buddies service as the person the link was made for."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.buddies import services as buddies
from marketplace.buddies.models import BuddyMatch, MatchStatus
from marketplace.errors import DomainError
from marketplace.notifications.links import Action, int_param, register


def _match(session: Session, params: dict[str, Any], status: MatchStatus, gone: str) -> BuddyMatch:
    match = session.get(BuddyMatch, int_param(params, "match_id"))
    if match is None or match.status != status.value:
        raise DomainError(gone)
    return match


def _describe_accept(session: Session, _user: User, params: dict[str, Any]) -> str:
    _match(session, params, MatchStatus.PROPOSED, "This suggestion has already been answered")
    return (
        "Say yes to being a budget buddy for the person suggested to you. You can then send "
        "each other messages. You can pause or end it at any time."
    )


def _accept(session: Session, user: User, params: dict[str, Any]) -> str:
    match = _match(
        session, params, MatchStatus.PROPOSED, "This suggestion has already been answered"
    )
    # The service tells the seeker, as saying yes on the site does (after the commit).
    buddies.accept(session, user, match)
    return "Thank you. You are now buddies. Sign in to say hello when you are ready."


def _describe_pause(session: Session, _user: User, params: dict[str, Any]) -> str:
    _match(session, params, MatchStatus.ACTIVE, "This pairing is not active now")
    return (
        "Pause your budget buddy pairing. No reason is needed, and either of you can pick "
        "it up again at any time."
    )


def _pause(session: Session, user: User, params: dict[str, Any]) -> str:
    match = _match(session, params, MatchStatus.ACTIVE, "This pairing is not active now")
    buddies.pause(session, user, match)
    return "The pairing is paused. Sign in to resume it whenever you like."


def register_actions() -> None:
    """Make these actions available to one-click links."""
    register(Action("accept_buddy", "Say yes", _describe_accept, _accept))
    register(Action("pause_buddy", "Pause the pairing", _describe_pause, _pause))
