"""Sending email: over SMTP when MAIL_SERVER is set, otherwise written to the log.

With EMAIL_DELIVERY = "queue" an email is a job (kind "email.send") added to the current
database transaction instead: it is sent by `flask worker` only if that transaction commits, and
tried again if the mail server is away. The default, "direct", sends at once.

Before either, the person's choices apply (marketplace/notifications/digest.py): while they are
on a break only money that is due is sent, and in weekly-digest mode everything else waits for
the weekly email; what is not sent is kept, never dropped. Every email to an account ends with a
one-click "fewer emails" link. Both write rows on db.session.

Many callers send after their commit. When db.session has no transaction open and nothing
waiting to be written, those rows (and a queued email) are committed at once on their own; but a
caller that has read from the database since its commit (opening a transaction) must commit
again, or they are dropped with that transaction.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app
from sqlalchemy.orm import Session

MONEY = "money"  # money that is due: sent even during a break or in digest mode
ACTION = "action"  # asks the person to do something
GENERAL = "general"
ACCOUNT = "account"  # signing in or resetting a password: always sent at once


def _settled(session: Session) -> bool:
    # After the caller's commit (see above): nothing else can go with our rows, so commit them.
    return not session.in_transaction() and not (session.new or session.dirty or session.deleted)


def send_email(
    to: str, subject: str, body: str, *, user_id: int | None = None, kind: str = GENERAL
) -> None:
    """Send a plain-text email (or, in queue mode, enqueue it on db.session), unless the
    recipient's choices say to keep it for later. `user_id` names the recipient when known;
    otherwise the address is looked up."""
    from marketplace.extensions import db
    from marketplace.notifications import digest

    session = db.scoped()  # the Session itself: the proxy lacks in_transaction()
    settled = _settled(session)
    routed = digest.route(session, to, subject, body, user_id, kind)
    if routed is not None:
        _dispatch(session, to, subject, routed)
    if settled and session.in_transaction():
        session.commit()


def send_email_or_log(
    to: str,
    subject: str,
    body: str,
    *,
    user_id: int | None = None,
    kind: str = GENERAL,
    about: str = "an email",
) -> bool:
    """`send_email`, but a mail failure (OSError, SMTPException) is logged, not raised: for
    emails sent after the caller's commit, where the saved work must stand and the rest go on.

    `about` says what the email was, for the log ("the answer to case 12"); the log names the
    subject and the user id, never the body. Returns False if the mail server failed, else True
    (also when the recipient's choices kept the email for later: it is not lost)."""
    try:
        send_email(to, subject, body, user_id=user_id, kind=kind)
    except (OSError, smtplib.SMTPException):
        current_app.logger.exception(
            "Could not send %s (subject %r, user %s)",
            about,
            subject,
            "unknown" if user_id is None else user_id,
        )
        return False
    return True


def dispatch(to: str, subject: str, body: str) -> None:
    """Send now (or enqueue, in queue mode) whatever the recipient's choices: for the digest
    itself. In queue mode the job goes with the caller's transaction."""
    from marketplace.extensions import db

    _dispatch(db.scoped(), to, subject, body)


def _dispatch(session: Session, to: str, subject: str, body: str) -> None:
    if current_app.config.get("EMAIL_DELIVERY", "direct") == "queue":
        from marketplace.jobs.services import enqueue

        enqueue(session, "email.send", {"to": to, "subject": subject, "body": body})
        return
    deliver(to, subject, body)


def deliver(to: str, subject: str, body: str) -> None:
    """Send a plain-text email now."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    server = current_app.config.get("MAIL_SERVER")
    if not server:
        current_app.logger.info("Email not sent (no MAIL_SERVER):\n%s", message.as_string())
        return
    with smtplib.SMTP(server, current_app.config["MAIL_PORT"], timeout=10) as smtp:
        smtp.send_message(message)
