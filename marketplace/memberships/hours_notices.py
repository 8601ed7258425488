"""The email asking someone to confirm hours a member logged: the person helped, or, for time
given to the ULO itself, its staff. It carries a one-click link that confirms without signing
in (confirming moves no money). Sent after the commit; a mail failure loses nothing saved."""

from __future__ import annotations

from flask import url_for
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.email import ACTION, send_email_or_log
from marketplace.engagement.services import staff_of
from marketplace.memberships.charts import hours_text
from marketplace.memberships.models import LogStatus, TimeLog
from marketplace.notifications.links import email_link
from marketplace.web.template_globals import format_date


def _who_confirms(session: Session, entry: TimeLog) -> list[User]:
    if entry.recipient_id is not None:
        person = session.get(User, entry.recipient_id)
        return [person] if person is not None and person.erased_at is None else []
    return staff_of(session, entry.organisation)


def ask_to_confirm(session: Session, log_id: int) -> int:
    """Email each person who may confirm this log (still waiting); returns how many."""
    entry = session.get(TimeLog, log_id)
    if entry is None or entry.status != LogStatus.LOGGED.value:
        return 0
    giver = entry.giver.display_name if entry.giver else "A member"
    to = "the organisation" if entry.for_ulo else "you"
    what = f"{giver} says they gave {hours_text(entry.minutes)} to {to} on " + format_date(
        entry.given_on
    )
    people = _who_confirms(session, entry)
    page = url_for("memberships.confirmations", _external=True)
    sent = 0
    for person in people:
        link = email_link(person.id, "confirm_hours", {"log_id": entry.id})
        body = (
            f"Hello {person.display_name},\n\n{what} ({entry.organisation.name}).\n\n"
            f"If that is right, confirm it with one click (no need to sign in):\n\n{link}\n\n"
            f"If it is not right, sign in to turn it down:\n\n{page}\n"
        )
        if send_email_or_log(
            person.email,
            "Please confirm hours given",
            body,
            user_id=person.id,
            kind=ACTION,
            about=f"the request to confirm hours log {entry.id}",
        ):
            sent += 1
    return sent
