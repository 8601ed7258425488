"""The rules every private conversation on the site keeps (budget buddies, help requests):
a message is stripped, not empty and at most MAX_MESSAGE characters; at most
MESSAGES_PER_HOUR from one person in an hour (on top of the new-account limit in limits.py);
shown escaped (limits.message_text); reportable; and its writer is signposted to urgent help
when it suggests crisis (crisis.py). One place, so a conversation cannot drift from the others.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.errors import DomainError
from marketplace.moderation import limits

MAX_MESSAGE = 5000
# Enough for a real conversation; stops a flood (or a script) filling someone's inbox.
MESSAGES_PER_HOUR = 30


def check_message(body: str | None) -> str:
    """The message to save (stripped); DomainError on the "body" field if it cannot be sent."""
    body = (body or "").strip()
    if not body:
        raise DomainError("Enter your message", field="body")
    if len(body) > MAX_MESSAGE:
        raise DomainError(f"Your message must be {MAX_MESSAGE:,} characters or fewer", field="body")
    return body


def check_sender(session: Session, sender: User, model: Any, author: Any, now: datetime) -> None:
    """Refuse a silenced account, a new account over its limit, and anyone who has sent
    MESSAGES_PER_HOUR messages of this kind (`model`, written by `author`) in the last hour."""
    limits.check_new_account_limit(session, sender, now)
    sent_lately = (
        session.scalar(
            select(func.count(model.id)).where(
                author == sender.id, model.created_at > now - timedelta(hours=1)
            )
        )
        or 0
    )
    if sent_lately >= MESSAGES_PER_HOUR:
        raise DomainError(
            f"You have sent {MESSAGES_PER_HOUR} messages in the last hour. "
            "Please wait a little before sending more",
            field="body",
        )
