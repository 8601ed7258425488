"""Memberships' background jobs."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from marketplace.memberships import billing
from marketplace.payments.gateway import get_gateway

log = logging.getLogger(__name__)


def run_jobs(session: Session, _payload: dict[str, Any]) -> None:
    """ "memberships.run_jobs" (leased): basis switches, finished pauses, lapses and payment
    reminders, each committed as it goes (billing.run_jobs); every step is safe to run again."""
    report = billing.run_jobs(session)
    log.info("memberships.run_jobs: %s", report)


STOP_SUBSCRIPTION = "memberships.stop_subscription"


def stop_subscription(session: Session, payload: dict[str, Any]) -> None:
    """ "memberships.stop_subscription" (leased, so no transaction is open while Stripe
    answers): end a subscription at Stripe now, e.g. for a person whose data was erased.
    Stripe being down fails the job, which is tried again with backoff."""
    subscription_id = str(payload["subscription"])
    result = get_gateway().cancel_subscription(subscription_id, at_period_end=False)
    log.info("memberships.stop_subscription: %s is %s", subscription_id, result.status)
