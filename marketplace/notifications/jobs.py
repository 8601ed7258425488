"""Notifications' background jobs: the weekly digest, and one person's kept emails."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from marketplace import outbox
from marketplace.notifications import digest

log = logging.getLogger(__name__)


def send_digests(session: Session, _payload: dict[str, Any]) -> None:
    """ "notifications.send_digests" (leased): one email per person with emails kept for them,
    committed and sent person by person, so a person is sent their digest at least once."""
    sent = digest.send_digests(session, after_each=outbox.commit)
    outbox.commit(session)
    log.info("notifications.send_digests: sent %s", sent)


def send_digest(session: Session, payload: dict[str, Any]) -> None:
    """ "notifications.send_digest": one person's kept emails, now: {user_id, after_break}
    (enqueued when a break ends)."""
    digest.send_digest(session, int(payload["user_id"]), bool(payload.get("after_break")))
