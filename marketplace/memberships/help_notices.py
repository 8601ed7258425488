"""The emails that arrange a help request in the site: to the members who can take it when it
is posted, to the requester on each offer, to each helper when an offer is accepted (or another
one was), when the request is cancelled, and when a new message waits in the thread.

Each is noted on the caller's session and goes once it commits (marketplace/email.py), through
the recipient's own choices (a weekly digest, quiet during a break: the notifications router).
No email carries what the request says or any message: requests can hold health details and
emails are often read by others in a household. Subjects name no organisation or task.
"""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.email import GENERAL, send_email
from marketplace.memberships import clearance
from marketplace.memberships.forms import KIND_LABELS
from marketplace.memberships.models import (
    Basis,
    HelpOffer,
    HelpRequest,
    Membership,
    MembershipStatus,
)
from marketplace.web.template_globals import format_date

NEW_REQUEST = "A new request for help you could take on"
NEW_OFFER = "Someone has offered to help you"
ACCEPTED = "Your offer of help was accepted"
NOT_NEEDED = "Thank you for offering to help"
CANCELLED = "A request for help was cancelled"
NEW_MESSAGE = "You have a new message about a request for help"
PRIVATE = "We never put the request or any messages in emails, to keep them private."


def _page(request: HelpRequest) -> str:
    return url_for("memberships.help_request", request_id=request.id, _external=True)


def _send(
    session: Session, person: User | None, subject: str, lead: str, request: HelpRequest
) -> bool:
    if person is None or person.erased_at is not None:
        return False
    body = (
        f"Hello {person.display_name},\n\n{lead}\n\n"
        f"Sign in and open:\n\n{_page(request)}\n\n{PRIVATE}\n"
    )
    send_email(
        person.email,
        subject,
        body,
        user_id=person.id,
        kind=GENERAL,
        session=session,
        about=f"a help request notice for request {request.id}",
    )
    return True


def who_can_take(session: Session, request: HelpRequest) -> list[User]:
    """The members who could offer to take this request: active members of its ULO giving
    time back, cleared for its kind where it needs clearance, other than the person asking."""
    members = session.scalars(
        select(Membership)
        .where(
            Membership.organisation_id == request.organisation_id,
            Membership.basis == Basis.RECIPROCITY.value,
            Membership.status == MembershipStatus.ACTIVE.value,
        )
        .order_by(Membership.id)
    ).all()
    cleared = (
        clearance.cleared_people(session, request.organisation_id, request.kind)
        if clearance.needs_clearance(request.kind)
        else None
    )
    return [
        m.user
        for m in members
        if m.user_id != request.requester_id
        and m.user.erased_at is None
        and (cleared is None or m.user_id in cleared)
    ]


def request_posted(session: Session, request: HelpRequest) -> int:
    """Email each member who could take a new request; returns how many were emailed."""
    org = request.organisation.name
    lead = (
        f"Someone has asked {org} for help on {format_date(request.needed_on)}. The kind of "
        f"help: {KIND_LABELS[request.kind]}. You are getting this because you give time back "
        f"to {org} and can take on this kind of task. If you can help, offer on the request's "
        "page. If not, there is nothing you need to do."
    )
    return sum(
        _send(session, person, NEW_REQUEST, lead, request)
        for person in who_can_take(session, request)
    )


def offer_made(session: Session, request: HelpRequest, helper_user: User) -> None:
    """Tell the requester someone offered."""
    helper = helper_user.display_name
    lead = (
        f"{helper} has offered to help with your request to {request.organisation.name} for "
        f"{format_date(request.needed_on)}. If you would like their help, accept their offer "
        "on the request's page. You can then send each other messages there."
    )
    _send(session, request.requester, NEW_OFFER, lead, request)


def offer_accepted(session: Session, offer: HelpOffer, declined: list[HelpOffer]) -> None:
    """Tell the helper their offer was accepted, and the others that it is no longer needed."""
    request = offer.help_request
    asker = request.requester.display_name if request.requester else "The person who asked"
    _send(
        session,
        offer.user,
        ACCEPTED,
        f"{asker} has accepted your offer to help on {format_date(request.needed_on)}. You "
        "can now send each other messages on the request's page, to arrange the details.",
        request,
    )
    for other in declined:
        _send(
            session,
            other.user,
            NOT_NEEDED,
            f"Another member is helping with the request for {format_date(request.needed_on)} "
            "that you offered to take on, so your help is not needed this time. There is "
            "nothing you need to do.",
            request,
        )


def request_cancelled(session: Session, request: HelpRequest, offers: list[HelpOffer]) -> None:
    """Tell everyone with a live offer (or the accepted one) that the request is cancelled."""
    for offer in offers:
        _send(
            session,
            offer.user,
            CANCELLED,
            f"The request for help on {format_date(request.needed_on)} that you offered to "
            "help with has been cancelled. There is nothing you need to do.",
            request,
        )


def message_waiting(session: Session, request: HelpRequest, to: User | None) -> None:
    """Tell the other person a message waits for them (once per batch of unread messages)."""
    _send(
        session,
        to,
        NEW_MESSAGE,
        f"There is a new message for you about the request for help on "
        f"{format_date(request.needed_on)}.",
        request,
    )
