"""What an emailed link can do for memberships: confirm hours given. It calls the service as
the person the link was made for, so its own permission checks apply as on the site."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.errors import DomainError
from marketplace.memberships import reciprocity
from marketplace.memberships.charts import hours_text
from marketplace.memberships.models import LogStatus, TimeLog
from marketplace.notifications.links import Action, int_param, register
from marketplace.web.template_globals import format_date


def _time_log(session: Session, params: dict[str, Any]) -> TimeLog:
    entry = session.get(TimeLog, int_param(params, "log_id"))
    if entry is None:
        raise DomainError("These hours are no longer on the site")
    if entry.status != LogStatus.LOGGED.value:
        raise DomainError("These hours have already been confirmed or turned down")
    return entry


def _describe_hours(session: Session, _user: User, params: dict[str, Any]) -> str:
    entry = _time_log(session, params)
    giver = entry.giver.display_name if entry.giver else "A former member"
    to = "the organisation" if entry.for_ulo else "you"
    return (
        f"Confirm that {giver} gave {hours_text(entry.minutes)} to {to} on "
        f"{format_date(entry.given_on)} ({entry.organisation.name}). The hours then count "
        "towards their membership."
    )


def _confirm_hours(session: Session, user: User, params: dict[str, Any]) -> str:
    entry = _time_log(session, params)
    reciprocity.confirm(session, user, entry)
    return f"Thank you. The {hours_text(entry.minutes)} are confirmed."


def register_actions() -> None:
    """Make these actions available to one-click links."""
    register(Action("confirm_hours", "Confirm these hours", _describe_hours, _confirm_hours))
