"""Which emails go now and which wait: weekly digests, and quiet while someone is on a break.

Money that is due is always emailed at once. Anything else for someone on a break is kept, not
dropped, and sent in one email when they come back; for someone who chose a weekly digest it is
kept for the weekly job. Account emails (a password reset) are never held: they are the way in.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app, url_for
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.db import as_utc, utcnow
from marketplace.email import MONEY, SAFEGUARDING, Email, send_routed
from marketplace.notifications import links, preferences
from marketplace.notifications.models import DigestItem, Frequency, HeldReason

log = logging.getLogger(__name__)

# Long enough to still work when someone reads an old email; it only ever means fewer emails.
FEWER_EMAILS_TTL = timedelta(days=30)
MAX_SUBJECT = 300


HoldCheck = Callable[[Session, int, datetime | None], bool]
_hold_checks: list[HoldCheck] = []


def set_break_check(check: HoldCheck) -> None:
    """Install the rule for whether someone's break keeps their emails back (wellbeing owns
    it: a crisis plan may ask for emails to keep coming)."""
    _hold_checks[:] = [check]


def on_break(session: Session, user_id: int, now: datetime | None = None) -> bool:
    """Whether the person is on a break that keeps emails back."""
    return any(check(session, user_id, now) for check in _hold_checks)


def recipient(session: Session, to: str, user_id: int | None) -> User | None:
    """The account an email goes to: by id when known, else by address; never an erased one."""
    if user_id is not None:
        user = session.get(User, user_id)
    else:
        user = session.scalars(
            select(User).where(User.email == to.strip().lower(), User.erased_at.is_(None))
        ).first()
    return user if user is not None and user.erased_at is None else None


def _settings_url() -> str:
    try:
        return url_for("notifications.emails", _external=True)
    except RuntimeError:
        with current_app.test_request_context():
            return url_for("notifications.emails")


def footer(session: Session, user: User, frequency: Frequency) -> str:
    """Every email ends with a way to get fewer: one click to a weekly digest."""
    lines = ["", "", "--"]
    if frequency is Frequency.EACH:
        link = links.make_link(session, user, "fewer_emails", {}, FEWER_EMAILS_TTL)
        lines += ["Fewer emails: get one email a week with everything in it instead:", link]
    lines += ["Choose how we email you (sign in):", _settings_url()]
    return "\n".join(lines) + "\n"


def hold(session: Session, user: User, subject: str, body: str, kind: str, reason: str) -> None:
    """Keep an email for the person's next digest."""
    session.add(
        DigestItem(
            user_id=user.id, subject=subject[:MAX_SUBJECT], body=body, kind=kind, reason=reason
        )
    )


def route(session: Session, email: Email) -> str | None:
    """The body to send now (with its footer), or None when the email was kept for later.
    (Account emails never get here: marketplace.email sends them as they are.)"""
    user = recipient(session, email.to, email.user_id)
    if user is None:  # someone without an account (an invitation): nothing to choose
        return email.body
    if email.kind != MONEY and on_break(session, user.id):
        hold(session, user, email.subject, email.body, email.kind, HeldReason.BREAK.value)
        return None
    frequency = preferences.frequency_of(session, user.id)
    if email.kind not in (MONEY, SAFEGUARDING) and frequency is Frequency.WEEKLY_DIGEST:
        hold(session, user, email.subject, email.body, email.kind, HeldReason.DIGEST.value)
        return None
    return email.body + footer(session, user, frequency)


# --- sending the digests ------------------------------------------------------------------------


def _compose(user: User, items: list[DigestItem], after_break: bool) -> tuple[str, str]:
    first = min(as_utc(item.created_at) for item in items)
    if after_break:
        subject = "Welcome back: what we kept for you while you were away"
        lead = "Welcome back. While you were away we kept these emails rather than send them."
    else:
        subject = "Your weekly email from Budget Marketplace"
        lead = f"Here is everything from the last week (since {first:%d %B}), in one email."
    parts = [f"Hello {user.display_name},", "", lead, ""]
    for number, item in enumerate(items, 1):
        parts += [
            f"{number}. {item.subject} ({as_utc(item.created_at):%d %B})",
            "",
            item.body.strip(),
            "",
        ]
    parts += [
        f"Each link in this email works once, for {links.DEFAULT_TTL.days} days from today. "
        "After that, sign in and do it there.",
        "",
        "--",
        "Choose how we email you (sign in):",
        _settings_url(),
    ]
    return subject, "\n".join(parts) + "\n"


_LINK = re.compile(r"/do/([A-Za-z0-9_\-]+)")
_DONE = frozenset({links.State.USED, links.State.GONE})


def still_needed(session: Session, item: DigestItem) -> bool:
    """False when every one-click link in a kept email is used or has nothing left to do (the
    hours were confirmed, the vote closed): no reminder for something already done."""
    tokens = _LINK.findall(item.body)
    return not tokens or any(links.find(session, raw).state not in _DONE for raw in tokens)


def send_digest(session: Session, user_id: int, after_break: bool = False) -> bool:
    """Send everything kept for this person in one email (after the caller's commit) and clear
    it. Whether one was sent."""
    items = list(
        session.scalars(
            select(DigestItem)
            .where(DigestItem.user_id == user_id)
            .order_by(DigestItem.created_at, DigestItem.id)
            .with_for_update()  # a weekly run and a return from a break never both send it
        )
    )
    if not items:
        return False
    session.execute(delete(DigestItem).where(DigestItem.id.in_([i.id for i in items])))
    # Anything kept because of a break makes this the welcome back, whichever job sends it: a
    # timed break can end before its own job runs, and the weekly run may get there first.
    after_break = after_break or any(i.reason == HeldReason.BREAK.value for i in items)
    user = session.get(User, user_id)
    # Their days start now: a link kept through a long break still works when it arrives.
    links.renew(session, [raw for item in items for raw in _LINK.findall(item.body)])
    items = [item for item in items if still_needed(session, item)]
    if user is None or user.erased_at is not None or not items:
        return False
    subject, body = _compose(user, items, after_break)
    send_routed(session, user.email, subject, body)
    return True


def waiting_for_digest(session: Session, now: datetime | None = None) -> list[int]:
    """Everyone with emails kept for the weekly digest, except those still on a break (theirs
    waits for their return)."""
    now = now or utcnow()
    user_ids = list(session.scalars(select(DigestItem.user_id).distinct()))
    return [user_id for user_id in user_ids if not on_break(session, user_id, now)]


def send_digests(
    session: Session,
    now: datetime | None = None,
    after_each: Callable[[Session], None] | None = None,
) -> int:
    """The weekly job: one email per person with anything kept, and long-expired links
    cleared; returns how many emails go (each after the caller's commit). The job passes
    `after_each` to commit after every person, so one failure never holds back the rest."""
    now = now or utcnow()
    sent = 0
    for user_id in waiting_for_digest(session, now):
        sent += send_digest(session, user_id)
        if after_each is not None:
            after_each(session)
    links.purge(session, now)
    return sent
