"""Periodic work for accounts."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from marketplace.auth import services

log = logging.getLogger(__name__)


def purge_expired_links(session: Session, _payload: dict[str, Any]) -> None:
    """ "auth.purge_expired_links": delete pending registrations and sign-in links whose time
    is up."""
    count = services.purge_expired_links(session)
    log.info("auth.purge_expired_links: deleted %s", count)
