"""Emails about the account itself: the way back in, and notices of every change that could
mean someone else has it. Each names what changed and when, never anything private, and goes
at once (ACCOUNT: never held for a digest or a break)."""

from __future__ import annotations

from flask import render_template, url_for

from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.email import ACCOUNT, send_email


def send_reset_link(user: User, token: str) -> None:
    """The password-reset email, with its single-use link."""
    link = url_for("auth.reset_password", token=token, _external=True)
    send_email(
        user.email,
        "Reset your password",
        render_template("emails/reset_password.txt", user=user, link=link),
        user_id=user.id,
        kind=ACCOUNT,
    )


def send_account_notice(user: User, subject: str, what: str, *, more: str | None = None) -> None:
    """Tell the person that `what` happened to their account ("Your password was changed"),
    with the way to take it back if it was not them."""
    send_email(
        user.email,
        subject,
        render_template(
            "emails/account_notice.txt",
            user=user,
            what=what,
            more=more,
            when=utcnow(),
            reset_link=url_for("auth.forgotten_password", _external=True),
        ),
        user_id=user.id,
        kind=ACCOUNT,
    )
