"""The one-click action notifications owns: fewer emails. Features register their own
(marketplace/<feature>/link_actions.py) from their init_app; none of them moves money."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.errors import DomainError
from marketplace.notifications import preferences
from marketplace.notifications.links import Action, register
from marketplace.notifications.models import Frequency


def _describe_fewer(session: Session, user: User, _params: dict[str, Any]) -> str:
    if preferences.frequency_of(session, user.id) is Frequency.WEEKLY_DIGEST:
        raise DomainError("You already get one email a week")
    return (
        "Get one email a week with everything in it, instead of separate emails. Emails "
        "about money that is due still come at once."
    )


def _fewer(session: Session, user: User, _params: dict[str, Any]) -> str:
    preferences.fewer_emails(session, user)
    return "Done. From now on you get one email a week. You can change this when signed in."


def register_actions() -> None:
    """Make this action available to one-click links."""
    register(Action("fewer_emails", "Get fewer emails", _describe_fewer, _fewer))
