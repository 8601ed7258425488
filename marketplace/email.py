"""Email: noted with the change that causes it, sent after the commit, never lost to a mail outage.

`send_email` only notes the email on the caller's session (marketplace/outbox.py): it goes
once that transaction commits, and never if it rolls back. With EMAIL_DELIVERY = "queue" the
runner then makes it a job (kind "email.send"), sent by `flask worker`.

When it goes, the recipient's choices apply first (the router that marketplace.notifications
registers: kept for a weekly digest or until a break ends, with a "fewer emails" footer). Then
`deliver` sends it over SMTP (MAIL_SERVER) or, with no mail server, writes it to the log. If the
mail server fails, the email becomes an "email.send" job and is tried again with backoff, so
nothing is lost.
"""

from __future__ import annotations

import itertools
import logging
import smtplib
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from email.message import EmailMessage
from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session

from marketplace import outbox

log = logging.getLogger(__name__)

MONEY = "money"  # money that is due: sent even during a break or in digest mode
ACTION = "action"  # asks the person to do something
GENERAL = "general"
ACCOUNT = "account"  # signing in or resetting a password: always sent at once
# Someone may be at risk and a moderator is needed: never kept for a weekly digest (kept
# during the moderator's own break, which is why unanswered urgent items go to admins).
SAFEGUARDING = "safeguarding"
KINDS = frozenset({MONEY, ACTION, GENERAL, ACCOUNT, SAFEGUARDING})

JOB_KIND = "email.send"


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str
    user_id: int | None = None
    kind: str = GENERAL
    routed: bool = False  # the recipient's choices are applied (and the footer added)
    about: str = "an email"  # for the log, never the body


# The recipient's choices: the body to send now (footer added), or None when the email was kept.
Router = Callable[[Session, Email], str | None]
_router: list[Router] = []
_numbers = itertools.count()


def set_router(router: Router) -> None:
    """Install the function that applies people's email choices (marketplace.notifications)."""
    _router[:] = [router]


def send_email(
    to: str,
    subject: str,
    body: str,
    *,
    user_id: int | None = None,
    kind: str = GENERAL,
    session: Session | None = None,
    about: str = "an email",
) -> bool:
    """Send a plain-text email once `session`'s transaction commits (db.session by default;
    at once when no transaction is open). `user_id` names the recipient when known;
    otherwise the address is looked up. False only when it was tried at once and the mail
    server failed (it is then retried as a job)."""
    if kind not in KINDS:
        raise ValueError(f"unknown email kind {kind!r}")
    email = Email(to, subject, body, user_id, kind, about=about)
    return _send(session if session is not None else _db_session(), email)


def _send(session: Session, email: Email) -> bool:
    # Queue mode too goes through the outbox: a view that emails after its own commit (and
    # then only reads) must not leave a job row behind in a transaction nobody commits.
    failed: list[bool] = []
    outbox.note(
        session, ("email", next(_numbers)), lambda own: failed.append(not _go(own, email)), email
    )
    return not any(failed)


# The name callers use where the saved work must stand whatever the mail server does: a failure
# is logged (naming `about`, the subject and the user id, never the body) and retried as a job.
send_email_or_log = send_email


def send_routed(session: Session, to: str, subject: str, body: str) -> None:
    """Send an email whose recipient's choices are already applied (the digest itself), after
    `session`'s transaction commits."""
    email = Email(to, subject, body, kind=ACCOUNT, routed=True, about="a digest")
    if _queued() and session.in_transaction():
        _enqueue(session, email)  # the digest job's own transaction: the job goes with it
        return
    _send(session, email)


def _db_session() -> Session:
    from marketplace.extensions import db

    return db.scoped()  # the Session itself: the proxy lacks in_transaction()


def _queued() -> bool:
    return current_app.config.get("EMAIL_DELIVERY", "direct") == "queue"


def _enqueue(session: Session, email: Email) -> None:
    from marketplace.jobs.services import enqueue

    enqueue(session, JOB_KIND, asdict(email))


def _route(session: Session, email: Email) -> Email | None:
    if email.routed or email.kind == ACCOUNT or not _router:
        return replace(email, routed=True)  # account emails are the way in: never held
    body = _router[0](session, email)
    return None if body is None else replace(email, body=body, routed=True)


def _go(session: Session, email: Email) -> bool:
    """Outbox work: apply the recipient's choices (rows on our own session, committed before
    anything leaves), then send; a mail failure becomes a retried job (and False)."""
    routed = _route(session, email)
    if routed is None:
        return True  # kept for their digest
    if _queued():
        _enqueue(session, routed)
        return True
    session.commit()
    if _delivered(routed, "; it will be tried again as a job"):
        return True
    _enqueue(session, routed)
    return False


def _delivered(email: Email, then: str) -> bool:
    """Deliver; a mail server failure is logged (what it was, the subject and the user id,
    never the body, and `then`: what happens next) and gives False."""
    try:
        deliver(email.to, email.subject, email.body)
    except (OSError, smtplib.SMTPException):
        log.exception(
            "Could not send %s (subject %r, user %s)%s",
            email.about,
            email.subject,
            "unknown" if email.user_id is None else email.user_id,
            then,
        )
        return False
    return True


def send_job(session: Session, payload: dict[str, Any]) -> None:
    """The "email.send" job: {to, subject, body[, user_id, kind, routed]}. SMTP is not
    transactional: if the commit after a successful send fails, it is sent again on the retry
    (at least once)."""
    fields = {k: payload[k] for k in ("to", "subject", "body") if k in payload}
    email = Email(
        str(fields["to"]),
        str(fields["subject"]),
        str(fields["body"]),
        user_id=payload.get("user_id"),
        kind=str(payload.get("kind", GENERAL)),
        # Jobs queued before routing existed carry a finished body.
        routed=bool(payload.get("routed", "kind" not in payload)),
    )
    routed = _route(session, email)
    if routed is not None:
        deliver(routed.to, routed.subject, routed.body)


def deliver(to: str, subject: str, body: str) -> None:
    """Send a plain-text email now: over SMTP, or to the log when MAIL_SERVER is unset."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    server = current_app.config.get("MAIL_SERVER")
    if not server:
        # Readable: the decoded text, links whole (as_string() would be quoted-printable).
        current_app.logger.info(
            "Email not sent (no MAIL_SERVER)\nTo: %s\nSubject: %s\n\n%s", to, subject, body
        )
        return
    with smtplib.SMTP(server, current_app.config["MAIL_PORT"], timeout=10) as smtp:
        smtp.send_message(message)


def init_app(app: Flask) -> None:
    """Register the "email.send" job."""
    from marketplace.jobs.registry import handler

    handler(JOB_KIND)(send_job)
