"""Every email about budget buddies goes through here, so each one respects the person's choice.

A notice names its recipient by account (user id), never only by address: the email router
(marketplace.notifications.digest) then applies what they chose on "How we email you" (each
email as it happens, or one weekly email) and keeps everything but money while they are on a
break. That is what makes "Nothing is lost" true for buddy emails: a kept notice becomes a row
of their next digest, and its one-click links are renewed when the digest goes.

A notice never quotes a message, a reason or anything about health: emails are often read by
others in a household. It only says what happened and links to the page.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from flask import current_app, url_for
from sqlalchemy.orm import Session

from marketplace import outbox
from marketplace.auth.models import User
from marketplace.email import ACTION, GENERAL, send_email_or_log

__all__ = ["ACTION", "GENERAL", "Notice", "notice_to", "send"]


@dataclass(frozen=True)
class Notice:
    """An email to send after the commit, pointing at a buddies page."""

    to: str
    user_id: int
    name: str
    subject: str
    lead: str
    match_id: int | None = None  # the pairing page it points at; None: the buddies hub
    kind: str = GENERAL
    # A one-click link to add: (action, params, the sentence before it). Made after the commit,
    # with the email, so it never outlives a change that was rolled back.
    one_click: tuple[str, dict[str, Any], str] | None = None


def notice_to(
    user: User | None,
    subject: str,
    lead: str,
    match_id: int | None = None,
    kind: str = GENERAL,
    one_click: tuple[str, dict[str, Any], str] | None = None,
) -> Notice | None:
    """A notice for this person, unless their account is gone."""
    if user is None or user.erased_at is not None:
        return None
    return Notice(user.email, user.id, user.display_name, subject, lead, match_id, kind, one_click)


NOTICE = "buddy-notice"  # the outbox kind of every notice
# The outbox kind of a handover's email (buddies/handover.py notes it with the change).
HANDOVER = "handover"


def handover_noted(session: Session, match_id: int) -> bool:
    """Whether this transaction will send the seeker of this pairing a handover email, which
    then says all there is to say: no second email about the same change."""
    return any(n.match_id == match_id for n in outbox.waiting(session, HANDOVER))


def _external(endpoint: str, **values: Any) -> str:
    try:
        return url_for(endpoint, _external=True, **values)
    except RuntimeError:  # a job with no request: the configured address still makes a link
        with current_app.test_request_context():
            return url_for(endpoint, _external=True, **values)


def body_of(notice: Notice, one_click_link: str | None = None) -> str:
    """The email's text: the lead, any one-click link, a link to sign in, the privacy promise."""
    if notice.match_id is not None:
        link = _external("buddies.pairing", match_id=notice.match_id)
    else:
        link = _external("buddies.index")
    lead = notice.lead
    if notice.one_click is not None and one_click_link:
        lead += f"\n\n{notice.one_click[2]}\n\n{one_click_link}"
    return (
        f"Hello {notice.name},\n\n{lead}\n\n"
        f"Sign in and open:\n\n{link}\n\n"
        "We never put messages in emails, to keep them private.\n"
    )


_numbers = itertools.count()


def send(notice: Notice | None, *, session: Session | None = None) -> None:
    """Email a notice once `session`'s transaction commits (db.session by default), routed by
    the person's email choices (kept for their weekly email, or while they are on a break)."""
    if notice is None:
        return
    if session is None:
        from marketplace.extensions import db

        session = db.scoped()
    outbox.note(session, (NOTICE, next(_numbers)), lambda own: _send_now(own, notice), notice)


def _send_now(session: Session, notice: Notice) -> None:
    # Outbox work, after the change committed: the link row and then the email, both after
    # this work's own commit (the link first, so it works by the time the email arrives).
    from marketplace.notifications.links import email_link

    one_click = None
    if notice.one_click is not None:
        action, params, _ = notice.one_click
        one_click = email_link(notice.user_id, action, params, session=session)
    send_email_or_log(
        notice.to,
        notice.subject,
        body_of(notice, one_click),
        user_id=notice.user_id,
        kind=notice.kind,
        session=session,
        about=f"a budget buddy notice ({notice.subject})",
    )


def sent_in(session: Session) -> list[Notice]:
    """The buddy notices this transaction will send once it commits (for tests and callers)."""
    return list(outbox.waiting(session, NOTICE))


# --- the notices themselves: each service notes its notice with the change it makes ----------


def _name(user: User | None) -> str:
    return user.display_name if user is not None else "The other person"


def asked(session: Session, match: Any) -> None:
    """A seeker (or a matching round) asked this buddy: they can say yes by one click."""
    send(
        notice_to(
            session.get(User, match.buddy_user_id),
            "Someone would like you to be their budget buddy",
            "Someone who is waiting for a budget buddy has been suggested to you. "
            "You can see what they would like help with, and say yes or no.",
            match.id,
            ACTION,
            ("accept_buddy", {"match_id": match.id}, ACCEPT_SENTENCE),
        ),
        session=session,
    )


ACCEPT_SENTENCE = "To say yes now with one click (no need to sign in):"
PAUSE_SENTENCE = "If you need a rest, pause it with one click:"


def accepted(session: Session, match: Any) -> None:
    """The buddy said yes (on the site or by an emailed link): the seeker is told, with a
    one-click pause for later."""
    buddy = session.get(User, match.buddy_user_id)
    send(
        notice_to(
            session.get(User, match.seeker_id),
            "You have a budget buddy",
            f"{_name(buddy)} has said yes to being your budget buddy. "
            "You can now send each other messages.",
            match.id,
            one_click=("pause_buddy", {"match_id": match.id}, PAUSE_SENTENCE),
        ),
        session=session,
    )


def paused(session: Session, match: Any, by: User, lead: str | None = None) -> None:
    """One person paused the pairing: the other is told, kindly and without a reason.
    `lead` replaces the usual words (a break says only its neutral message)."""
    until = match.paused_until
    if lead is None:
        lead = (
            f"{by.display_name} has paused your budget buddy pairing for a while. Nobody has "
            "to give a reason, and the pairing is kept as it is. Either of you can pick it up "
            "again when you are ready."
        )
        if until is not None:
            lead += f" It picks up again by itself on {until:%d %B %Y}."
    send(
        notice_to(
            session.get(User, match.other_id(by.id)),
            "Your budget buddy pairing is paused",
            lead,
            match.id,
        ),
        session=session,
    )


ENDED_SUBJECT = "Your budget buddy pairing has ended"
WITHDRAWN_SUBJECT = "A budget buddy suggestion has been withdrawn"


def ended(session: Session, match: Any, by: User, was_proposed: bool) -> None:
    """One person ended the pairing (or a suggestion not yet answered): the other is told,
    kindly. Never why: the private reason is for the local user-led organisation only."""
    other = session.get(User, match.other_id(by.id))
    if was_proposed and by.id == match.buddy_user_id:
        declined(session, match)
        return
    if was_proposed:
        subject = WITHDRAWN_SUBJECT
        lead = (
            "The person who asked you to be their budget buddy no longer needs an answer. "
            "Thank you for being willing to help. You do not need to do anything."
        )
    elif other is not None and other.id == match.buddy_user_id:
        subject = ENDED_SUBJECT
        lead = (
            f"{by.display_name} has ended your budget buddy pairing. Thank you for the time "
            "you gave. People end pairings for all sorts of reasons, and nobody has to give "
            "one. The place you gave them is free again for someone new."
        )
    else:
        subject = ENDED_SUBJECT
        lead = (
            f"Your budget buddy pairing with {by.display_name} has come to an end. Thank you "
            "for the time you spent together. If you would like another buddy, you can ask "
            "again at any time."
        )
    send(notice_to(other, subject, lead, match.id), session=session)


def declined(session: Session, match: Any) -> None:
    """The buddy said no to a suggestion: the seeker is told, as the request page promised."""
    buddy = session.get(User, match.buddy_user_id)
    send(
        notice_to(
            session.get(User, match.seeker_id),
            "An answer about your budget buddy",
            f"{_name(buddy)} cannot be your budget buddy this time. People say no for all "
            "sorts of reasons, such as time. You keep your place in the queue from when you "
            "first asked.",
            match.id,
        ),
        session=session,
    )


def offer_confirmed(session: Session, profile: Any) -> None:
    """The buddy's offer is confirmed: from now on they may be suggested to people."""
    send(
        notice_to(
            session.get(User, profile.user_id),
            "You are now a confirmed budget buddy",
            "Thank you for offering to be a budget buddy. Your offer is confirmed, so we may "
            "now suggest you to people who are waiting. We will let you know each time, and "
            "you can say yes or no. You can pause or change your offer at any time.",
        ),
        session=session,
    )


def offer_waiting_for_admins(session: Session, item: Any, admins: list[User]) -> None:
    """An offer to be a buddy arrived in an area no user-led organisation covers yet: only an
    admin can confirm it, so every admin is told (nothing about the person in the email)."""
    from marketplace.moderation.services import item_link

    link = item_link(item)
    for admin in admins:
        send_email_or_log(
            admin.email,
            "An offer to be a budget buddy is waiting for an admin",
            f"Hello {admin.display_name},\n\n"
            "Someone has offered to be a budget buddy in an area that no user-led "
            "organisation on the site covers yet, so only an admin can check and confirm "
            f"it.\n\nSign in to see it:\n{link}\n",
            user_id=admin.id,
            kind=ACTION,
            session=session,
            about="a buddy offer waiting for an admin",
        )
