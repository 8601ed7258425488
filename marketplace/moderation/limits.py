"""Messaging limits for new accounts: few messages an hour, and links shown as plain text.

A new account (younger than a week) may send at most five messages an hour, across buddy
conversations, pool discussions and enquiries together; older accounts keep each feature's
own limit. Links in a new account's messages are never turned into links.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError

NEW_ACCOUNT_AGE = timedelta(days=7)
NEW_ACCOUNT_MESSAGES_PER_HOUR = 5

_LINK = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}"


def is_new_account(user: User | None, now: datetime | None = None) -> bool:
    """Younger than a week (an unknown or erased author counts as new: no links)."""
    if user is None or user.erased_at is not None:
        return True
    return as_utc(now or utcnow()) - as_utc(user.created_at) < NEW_ACCOUNT_AGE


# Each feature with messages registers its model (with id and created_at columns) and the
# column naming the author, so that moderation counts them without importing the feature.
_message_models: dict[str, tuple[Any, Any]] = {}


def register_message_model(name: str, model: Any, author: Any) -> None:
    """Count this kind of message towards a new account's hourly limit (idempotent)."""
    _message_models[name] = (model, author)


def messages_sent_since(session: Session, user: User, since: datetime) -> int:
    """Messages this person has written anywhere on the site since a moment."""
    total = 0
    for model, author in _message_models.values():
        total += (
            session.scalar(
                select(func.count(model.id)).where(author == user.id, model.created_at > since)
            )
            or 0
        )
    return total


def check_new_account_limit(session: Session, user: User, now: datetime | None = None) -> None:
    """Refuse any message from a silenced account, and a sixth message within an hour from an
    account younger than a week. Every feature with messages calls this before posting."""
    now = now or utcnow()
    if user.silenced_until is not None and as_utc(user.silenced_until) > as_utc(now):
        raise DomainError(
            f"A moderator has made your account read-only until "
            f"{as_utc(user.silenced_until):%d %B %Y at %H:%M} UTC. You can read and leave "
            "conversations, but not post",
            field="body",
        )
    if not is_new_account(user, now):
        return
    if messages_sent_since(session, user, now - timedelta(hours=1)) >= (
        NEW_ACCOUNT_MESSAGES_PER_HOUR
    ):
        raise DomainError(
            f"New accounts can send {NEW_ACCOUNT_MESSAGES_PER_HOUR} messages an hour. "
            "Please wait a little before sending more",
            field="body",
        )


def message_text(body: str | None, author: User | None, now: datetime | None = None) -> Markup:
    """A message as safe HTML: always escaped; links only from accounts over a week old."""
    body = body or ""
    if is_new_account(author, now):
        return escape(body)
    parts: list[str] = []
    last = 0
    for match in _LINK.finditer(body):
        url = match.group(0).rstrip(_TRAILING)
        end = match.start() + len(url)
        href = url if url.lower().startswith("http") else f"https://{url}"
        parts.append(escape(body[last : match.start()]))
        parts.append(
            Markup('<a class="govuk-link" rel="nofollow ugc noopener" href="{}">{}</a>').format(
                href, url
            )
        )
        last = end
    parts.append(escape(body[last:]))
    return Markup("").join(parts)
