"""Buddies' background jobs."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from marketplace.buddies import conversations, free_alerts

log = logging.getLogger(__name__)


def resume_due(session: Session, _payload: dict[str, Any]) -> None:
    """ "buddies.resume_due": resume pairings whose pause has run out."""
    count = conversations.resume_due(session)
    log.info("buddies.resume_due: resumed %s", count)


def tell_when_free(session: Session, _payload: dict[str, Any]) -> None:
    """ "buddies.tell_when_free": email, once, people waiting to hear of a buddy who fits."""
    count = free_alerts.tell_when_free(session)
    log.info("buddies.tell_when_free: told %s", count)
