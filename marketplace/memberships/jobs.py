"""Memberships' background jobs."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from marketplace.memberships import billing

log = logging.getLogger(__name__)


def run_jobs(session: Session, _payload: dict[str, Any]) -> None:
    """ "memberships.run_jobs" (leased): basis switches, finished pauses, lapses and payment
    reminders, each committed as it goes (billing.run_jobs); every step is safe to run again."""
    report = billing.run_jobs(session)
    log.info("memberships.run_jobs: %s", report)
