"""Emails about the account itself: the way back in, and notices of every change that could
mean someone else has it. Each names what changed and when, never anything private, and goes
at once (ACCOUNT: never held for a digest or a break)."""

from __future__ import annotations

from flask import render_template, url_for

from marketplace.auth.models import User
from marketplace.auth.services import SIGN_IN_LINK_TTL_SECONDS
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


def send_registration_link(email: str, display_name: str, token: str) -> None:
    """The link that opens a new account (registering answers "check your email" either way)."""
    link = url_for("auth.confirm_registration", token=token, _external=True)
    send_email(
        email,
        "Confirm your email address to create your account",
        render_template("auth/email_registration_link.txt", display_name=display_name, link=link),
        kind=ACCOUNT,
        about="a registration link",
    )


def send_already_registered(user: User) -> None:
    """Someone tried to register with an address that has an account: the account is not
    touched, and its owner hears of it with the ways back in."""
    send_email(
        user.email,
        "Someone tried to create an account with your email address",
        render_template(
            "auth/email_already_registered.txt",
            user=user,
            sign_in_link=url_for("auth.sign_in", _external=True),
            reset_link=url_for("auth.forgotten_password", _external=True),
        ),
        user_id=user.id,
        kind=ACCOUNT,
        about="an already-registered notice",
    )


def send_sign_in_link(user: User, token: str) -> None:
    """A one-time sign-in link, for when the account's sign-in limit holds."""
    link = url_for("auth.use_sign_in_link", token=token, _external=True)
    send_email(
        user.email,
        "Your sign-in link",
        render_template(
            "auth/email_sign_in_link.txt",
            user=user,
            link=link,
            link_minutes=SIGN_IN_LINK_TTL_SECONDS // 60,
        ),
        user_id=user.id,
        kind=ACCOUNT,
        about="a sign-in link",
    )
