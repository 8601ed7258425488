"""Moderation's periodic job: claims that lapse and urgent items that go to the admins."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from marketplace.moderation import services

log = logging.getLogger(__name__)


def watch(session: Session, _payload: dict[str, Any]) -> None:
    """ "moderation.watch": lapse old claims, then escalate urgent items nobody has taken."""
    lapsed, escalated = services.watch(session)
    log.info("moderation.watch: %s claim(s) lapsed, %s item(s) escalated", lapsed, escalated)
