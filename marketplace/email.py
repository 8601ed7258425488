"""Sending email: over SMTP when MAIL_SERVER is set, otherwise written to the log.

With EMAIL_DELIVERY = "queue" an email is a job (kind "email.send") added to the current
database transaction instead: it is sent by `flask worker` only if that transaction commits, and
tried again if the mail server is away. The default, "direct", sends at once.

Many callers send after their commit. When db.session has no transaction open and nothing
waiting to be written, the job is committed at once on its own; but a caller that has read
from the database since its commit (opening a transaction) must commit again, or the email is
dropped with that transaction.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app


def send_email(to: str, subject: str, body: str) -> None:
    """Send a plain-text email (or, in queue mode, enqueue it on db.session)."""
    if current_app.config.get("EMAIL_DELIVERY", "direct") == "queue":
        from marketplace.extensions import db
        from marketplace.jobs.services import enqueue

        session = db.scoped()  # the Session itself: the proxy lacks in_transaction()
        # After the caller's commit (see above): nothing else can go with the email, so commit it.
        settled = not session.in_transaction() and not (
            session.new or session.dirty or session.deleted
        )
        enqueue(session, "email.send", {"to": to, "subject": subject, "body": body})
        if settled:
            session.commit()
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
