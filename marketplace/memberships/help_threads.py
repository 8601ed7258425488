"""The private thread of an accepted help request: the person who asked and the member helping
write to each other to arrange it, from the moment the offer is accepted. The same rules as
every conversation (moderation/conversation_rules.py): stripped, not empty, limited in length
and in number an hour, shown escaped, reportable to moderation; the view signposts the writer to
urgent help when a message suggests crisis. Nobody else reads it unless a message is reported.

Contact details are shared only by choice: each of the two may show the other their email
address (and stop again); nothing else about them is shown.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships import help_notices
from marketplace.memberships.models import (
    HelpMessage,
    HelpRequest,
    HelpRequestStatus,
    OfferStatus,
)
from marketplace.moderation import conversation_rules

REQUESTER = "requester"
HELPER = "helper"
OPEN = (HelpRequestStatus.ACCEPTED.value, HelpRequestStatus.DONE.value)


def helper_id(request: HelpRequest) -> int | None:
    """The member whose offer was accepted, if any."""
    accepted = next((o for o in request.offers if o.status == OfferStatus.ACCEPTED.value), None)
    return accepted.user_id if accepted is not None else None


def role_in(request: HelpRequest, user: User) -> str | None:
    """REQUESTER or HELPER for the two people in the thread (from the moment an offer is
    accepted; after a cancellation they can still read it), None for anyone else."""
    helper = helper_id(request)
    if helper is None:  # still open, or cancelled before anyone was accepted: no thread
        return None
    if user.id == request.requester_id:
        return REQUESTER
    if user.id == helper:
        return HELPER
    return None


def other_of(session: Session, request: HelpRequest, user: User) -> User | None:
    """The other person in the thread."""
    role = role_in(request, user)
    if role is None:
        raise NotAllowed("This conversation is between the person who asked and their helper")
    other = request.requester_id if role == HELPER else helper_id(request)
    return session.get(User, other) if other is not None else None


def may_write(request: HelpRequest) -> bool:
    """Messages can be sent once an offer is accepted, and after the help (to say thanks)."""
    return request.status in OPEN


def messages(request: HelpRequest) -> list[HelpMessage]:
    """The thread, oldest first, without messages moderators hid."""
    return [m for m in request.messages if m.hidden_at is None]


def _read_at(request: HelpRequest, role: str) -> datetime | None:
    return request.requester_read_at if role == REQUESTER else request.helper_read_at


def mark_read(request: HelpRequest, user: User, now: datetime | None = None) -> None:
    """This person opened the thread (so a new message emails them again)."""
    role = role_in(request, user)
    if role == REQUESTER:
        request.requester_read_at = now or utcnow()
    elif role == HELPER:
        request.helper_read_at = now or utcnow()


def unread_count(session: Session, request: HelpRequest, user: User) -> int:
    """Messages from the other person this one has not opened yet."""
    role = role_in(request, user)
    if role is None:
        return 0
    query = select(func.count(HelpMessage.id)).where(
        HelpMessage.help_request_id == request.id,
        HelpMessage.sender_id != user.id,
        HelpMessage.hidden_at.is_(None),
    )
    read_at = _read_at(request, role)
    if read_at is not None:
        query = query.where(HelpMessage.created_at > read_at)
    return int(session.scalar(query) or 0)


def send_message(
    session: Session, sender: User, request: HelpRequest, body: str, now: datetime | None = None
) -> HelpMessage:
    """Write to the other person; they get one email per batch of unread messages."""
    other = other_of(session, request, sender)
    if not may_write(request):
        raise DomainError(
            "This request was cancelled, so no more messages can be sent", field="body"
        )
    now = now or utcnow()
    body = conversation_rules.check_message(body)
    conversation_rules.check_sender(session, sender, HelpMessage, HelpMessage.sender_id, now)
    already_waiting = other is not None and unread_count(session, request, other) > 0
    message = HelpMessage(help_request=request, sender_id=sender.id, body=body, created_at=now)
    session.add(message)
    mark_read(request, sender, now)
    if not already_waiting:
        help_notices.message_waiting(session, request, other)
    return message


def share_email(session: Session, user: User, request: HelpRequest, share: bool) -> None:
    """Show the other person my email address (or stop showing it)."""
    role = role_in(request, user)
    if role is None:
        raise NotAllowed("This conversation is between the person who asked and their helper")
    if share and not may_write(request):
        raise DomainError("This request was cancelled", field="request")
    if role == REQUESTER:
        request.requester_shares_email = share
    else:
        request.helper_shares_email = share


def shares_email(request: HelpRequest, user: User) -> bool:
    """Whether this person shows the other their email address."""
    role = role_in(request, user)
    return bool(
        request.requester_shares_email if role == REQUESTER else request.helper_shares_email
    )


def email_from_other(session: Session, request: HelpRequest, viewer: User) -> str | None:
    """The other person's email address, only if they chose to share it (and can be reached)."""
    if not may_write(request):
        return None
    role = role_in(request, viewer)
    if role is None:
        return None
    shared = request.helper_shares_email if role == REQUESTER else request.requester_shares_email
    other = other_of(session, request, viewer)
    if not shared or other is None or other.erased_at is not None:
        return None
    return other.email
