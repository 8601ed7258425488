"""Wellbeing's background jobs."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from marketplace.wellbeing import breaks

log = logging.getLogger(__name__)


def end_due_breaks(session: Session, _payload: dict[str, Any]) -> None:
    """ "wellbeing.end_due_breaks": end timed breaks whose end has come, resuming what each
    paused."""
    count = breaks.end_due_breaks(session)
    log.info("wellbeing.end_due_breaks: ended %s", count)
