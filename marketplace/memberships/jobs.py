"""Memberships' background jobs."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from marketplace import outbox
from marketplace.memberships import services

log = logging.getLogger(__name__)


def run_jobs(session: Session, _payload: dict[str, Any]) -> None:
    """ "memberships.run_jobs" (leased): basis switches, finished pauses, lapses and payment
    reminders. It commits after each new Stripe subscription; every step is safe to run
    again."""
    report = services.run_jobs(session, after_each=outbox.commit)
    log.info("memberships.run_jobs: %s", report)
