""" "Tell me when a buddy who fits becomes free", for someone with no suggestions.

The hourly job `buddies.tell_when_free` looks again for each person who asked, with the very
suggestions they would see on their page (so the matcher's hard constraints: council area,
language, a way and a time in common, blocks, gender wishes and free places). The first time
there is someone, it emails them once and stops; they can stop it themselves before then.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.buddies import rounds, services
from marketplace.buddies.models import BuddyRequest, RequestStatus
from marketplace.db import utcnow
from marketplace.email import send_email_or_log
from marketplace.errors import DomainError, NotAllowed

SUBJECT = "A budget buddy who fits you is free"


def is_waiting_to_be_told(request: BuddyRequest) -> bool:
    return request.tell_when_free_at is not None and request.told_free_at is None


def tell_me(
    session: Session, seeker: User, request: BuddyRequest, acting_carer: User | None = None
) -> BuddyRequest:
    """Ask to be emailed once when a buddy who fits becomes free."""
    if request.seeker_id != seeker.id:
        raise NotAllowed("This is not your request")
    services.act_as(session, acting_carer, seeker.id, "Asked to be told when a buddy is free")
    if request.status != RequestStatus.WAITING.value:
        raise DomainError("You are no longer waiting for a buddy")
    if rounds.suggestions_for(session, request):
        raise DomainError("There are buddies who fit you now: they are shown below")
    request.tell_when_free_at = utcnow()
    request.told_free_at = None
    return request


def stop(
    session: Session, seeker: User, request: BuddyRequest, acting_carer: User | None = None
) -> BuddyRequest:
    """No email after all."""
    if request.seeker_id != seeker.id:
        raise NotAllowed("This is not your request")
    services.act_as(session, acting_carer, seeker.id, "Stopped being told when a buddy is free")
    request.tell_when_free_at = None
    return request


def tell_when_free(session: Session, now: datetime | None = None) -> int:
    """Email, once each, the people who asked and now have a suggestion. Returns how many."""
    now = now or utcnow()
    waiting = session.scalars(
        select(BuddyRequest)
        .where(
            BuddyRequest.status == RequestStatus.WAITING.value,
            BuddyRequest.tell_when_free_at.is_not(None),
            BuddyRequest.told_free_at.is_(None),
        )
        .order_by(BuddyRequest.id)
    ).all()
    told = 0
    for request in waiting:
        if not rounds.suggestions_for(session, request):
            continue
        request.told_free_at = now
        _email(session, request)
        told += 1
    return told


def _link(request_id: int) -> str:
    """An absolute link when the app knows its address (SERVER_NAME or a request), else a path."""
    try:
        return url_for("buddies.request_page", request_id=request_id, _external=True)
    except RuntimeError:  # an hourly job with no SERVER_NAME: still tell them where to look
        with current_app.test_request_context():
            return url_for("buddies.request_page", request_id=request_id)


def _email(session: Session, request: BuddyRequest) -> None:
    seeker = request.seeker
    if seeker.erased_at is not None:
        return
    link = _link(request.id)
    body = (
        f"Hello {seeker.display_name},\n\n"
        "You asked us to tell you when a budget buddy who fits what you asked for becomes "
        "free. Someone is free now. We will not email you about this again.\n\n"
        f"Sign in to see who, and to ask them if you like:\n\n{link}\n"
    )
    send_email_or_log(
        seeker.email,
        SUBJECT,
        body,
        user_id=seeker.id,
        about="a buddy is free email",
        session=session,
    )
