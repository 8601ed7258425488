"""Rights requests and complaints: open one, list the open ones by deadline, answer one.

UK GDPR Article 12(3) gives one month to answer a rights request, counted from the day it
arrives to the same date next month (or that month's last day, if it is shorter: the ICO's
rule). We hold complaints to the same month so nobody waits longer to be heard.
"""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import User
from marketplace.casework.models import Case
from marketplace.db import as_utc, utcnow
from marketplace.email import send_email, send_email_or_log
from marketplace.errors import DomainError, NotAllowed
from marketplace.privacy import services as privacy

MAX_DETAILS = 5000
MAX_RESPONSE = 5000


class Kind(enum.StrEnum):
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    COMPLAINT_REPORT = "complaint_report"
    COMPLAINT_DECISION = "complaint_decision"
    COMPLAINT_SERVICE = "complaint_service"
    COMPLAINT_OTHER = "complaint_other"


RIGHTS_LABELS = {
    Kind.ACCESS.value: "Tell me what you hold about me and how you use it",
    Kind.RECTIFICATION.value: "Correct something you hold about me",
    Kind.ERASURE.value: "Delete something you hold about me",
    Kind.RESTRICTION.value: "Stop using some of my information for now",
    Kind.OBJECTION.value: "Object to how you use my information",
}
COMPLAINT_LABELS = {
    Kind.COMPLAINT_REPORT.value: "How a report I made was handled",
    Kind.COMPLAINT_DECISION.value: "A moderator's decision about me or something I wrote",
    Kind.COMPLAINT_SERVICE.value: "This website, or an organisation on it",
    Kind.COMPLAINT_OTHER.value: "Something else",
}
LABELS = {**RIGHTS_LABELS, **COMPLAINT_LABELS}


def is_complaint(kind: str) -> bool:
    return kind in COMPLAINT_LABELS


def due_date(received: date) -> date:
    """One calendar month on: the same date next month, or its last day if that is shorter."""
    year, month = (
        (received.year + 1, 1) if received.month == 12 else (received.year, received.month + 1)
    )
    return date(year, month, min(received.day, calendar.monthrange(year, month)[1]))


def open_case(
    session: Session,
    user: User | None,
    kind: str,
    details: str,
    contact_email: str = "",
    now: datetime | None = None,
) -> Case:
    """Log a request or complaint. Someone not signed in may complain, giving an email address
    for the answer; rights requests need an account, so we know whose data it is."""
    now = now or utcnow()
    if kind not in LABELS:
        raise DomainError("Choose what this is about", field="kind")
    if user is None and not is_complaint(kind):
        raise NotAllowed("Sign in to make a data-protection request")
    details = (details or "").strip()
    if len(details) > MAX_DETAILS:
        raise DomainError(f"Tell us in {MAX_DETAILS:,} characters or fewer", field="details")
    if not details and kind != Kind.ACCESS.value:
        raise DomainError("Tell us what you would like us to do", field="details")
    email = None
    if user is None:
        try:
            email = validate_email(
                (contact_email or "").strip(), check_deliverability=False
            ).normalized
        except EmailNotValidError:
            raise DomainError(
                "Enter an email address we can reply to, like name@example.com",
                field="contact_email",
            ) from None
    case = Case(
        kind=kind,
        user_id=user.id if user else None,
        contact_email=email,
        details=details,
        received_at=now,
        due_on=due_date(as_utc(now).date()),
    )
    session.add(case)
    session.flush()  # the acknowledgement names the reference
    audit.record(session, user.id if user else None, "case.opened", "case", case.id, kind)
    _acknowledge(session, user, case)
    return case


def _acknowledge(session: Session, user: User | None, case: Case) -> None:
    """Tell the person, once the case is saved, that we have it: its reference and deadline.
    Never what they wrote (it may be about their health or another person)."""
    to = user.email if user is not None else case.contact_email
    if not to:
        return
    what = "complaint" if is_complaint(case.kind) else "request"
    send_email(
        to,
        f"We have your {what} (reference {case.id})",
        f"Hello {user.display_name if user else 'there'},\n\n"
        f"We received your {what} on {as_utc(case.received_at):%d %B %Y}. "
        f"Your reference is {case.id}.\n\n"
        f"We will answer by {case.due_on:%d %B %Y}. Quote the reference if you contact us "
        "about it.\n",
        user_id=user.id if user else None,
        session=session,
        about=f"a {what} acknowledgement",
    )


OFCOM = (
    "Ofcom regulates online safety. It does not settle individual complaints, but you can tell "
    "it about a website that is not keeping people safe, through the complaints page on "
    "ofcom.org.uk."
)
ICO = (
    "If you are unhappy with how we handle your personal data, you can complain to the "
    "Information Commissioner's Office (ico.org.uk, 0303 123 1113)."
)
# The right next step after our answer, by what the case is about.
NEXT_STEPS = {
    Kind.COMPLAINT_DECISION.value: (
        "If this is about a moderator's decision and you have not appealed it yet, you can ask "
        "a different moderator to look at it again, once: use the appeal link in the email "
        "that told you about the decision. " + OFCOM
    ),
    Kind.COMPLAINT_REPORT.value: (
        "Reports are looked at by moderators from the local user-led organisation (ULO) or by "
        "our own staff. If it is about how the ULO handled it, you can also complain to the "
        "ULO directly. " + OFCOM
    ),
    Kind.COMPLAINT_SERVICE.value: (
        "If this is about an organisation on this website, you can also complain to that "
        "organisation directly, using its own complaints process. " + OFCOM
    ),
    Kind.COMPLAINT_OTHER.value: OFCOM + " " + ICO,
}


def next_steps(kind: str) -> str:
    """What the person can do if they are not happy with our answer."""
    return NEXT_STEPS.get(kind, ICO)


def open_cases(session: Session) -> list[Case]:
    """Every open request and complaint, the nearest deadline first."""
    return list(
        session.scalars(select(Case).where(Case.closed_at.is_(None)).order_by(Case.due_on, Case.id))
    )


def days_left(case: Case, today: date | None = None) -> int:
    """Days until the deadline (negative once it has passed)."""
    return (case.due_on - (today or utcnow().date())).days


def cases_of(session: Session, user: User) -> list[Case]:
    return list(
        session.scalars(
            select(Case).where(Case.user_id == user.id).order_by(Case.received_at.desc())
        )
    )


@dataclass(frozen=True)
class Answer:
    """The email with our answer, to send after the commit."""

    to: str
    subject: str
    body: str


def close_case(session: Session, admin: User, case: Case, response: str) -> Answer | None:
    """Record the answer and close the case; returns the email to send after the commit."""
    if not admin.has_role("admin"):
        raise NotAllowed("Only an administrator can answer this")
    if case.closed_at is not None:
        raise DomainError("This has already been answered", field="response")
    response = (response or "").strip()
    if not response:
        raise DomainError("Write the answer to send", field="response")
    if len(response) > MAX_RESPONSE:
        raise DomainError(f"Keep the answer to {MAX_RESPONSE:,} characters", field="response")
    case.response = response
    case.closed_at = utcnow()
    case.closed_by_id = admin.id
    audit.record(session, admin.id, "case.closed", "case", case.id, case.kind)
    person = session.get(User, case.user_id) if case.user_id else None
    to = person.email if person and person.erased_at is None else case.contact_email
    if not to:
        return None
    name = person.display_name if person else "there"
    return Answer(
        to,
        f"Our answer to your {'complaint' if is_complaint(case.kind) else 'request'} "
        f"(reference {case.id})",
        f"Hello {name},\n\nYou asked us: {LABELS[case.kind]}.\n\n{response}\n\n"
        f"If you are not happy with this answer: {next_steps(case.kind)}\n",
    )


def send_answer(answer: Answer | None) -> None:
    if answer is None:
        return
    send_email_or_log(answer.to, answer.subject, answer.body, about="the answer to a case")


# --- the person's own rights over these records ------------------------------------------------


def _export(session: Session, user: User) -> list[dict[str, Any]]:
    return [
        {
            "reference": case.id,
            "about": LABELS.get(case.kind, case.kind),
            "details": case.details,
            "received_at": case.received_at.isoformat(),
            "answer_due": case.due_on.isoformat(),
            "answered_at": case.closed_at.isoformat() if case.closed_at else None,
            "answer": case.response,
        }
        for case in cases_of(session, user)
    ]


def _erase(session: Session, user: User) -> None:
    """Keep that a request was made and answered (we must show we met the deadline), but not
    the person or their words."""
    for case in cases_of(session, user):
        case.user_id = None
        case.details = "(erased)"


def your_data_section(session: Session, user: User) -> dict[str, Any]:
    """The person's requests and complaints, for the "Your data" page."""
    return {"cases": cases_of(session, user), "case_labels": LABELS}


def register_privacy() -> None:
    """Add this package's part of "Your data": what it exports and what erasure removes."""
    privacy.register_exporter("requests_and_complaints", _export)
    privacy.register_eraser(_erase)
