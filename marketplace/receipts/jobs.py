"""The receipts job: issue a receipt for every successful payment that has none yet.

Registered with commits=True (in `marketplace.receipts.init_app`): each receipt is committed
with its email on its own, so one that cannot be issued never holds back the rest. It runs
under a lease, at least once, and is safe to run again or on two workers: a payment's receipt
is guarded by a UNIQUE constraint, so it is issued (and emailed) once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from marketplace import outbox
from marketplace.receipts import services

log = logging.getLogger(__name__)


def issue_due(session: Session, now: datetime | None = None) -> list[str]:
    """Issue every receipt that is due, committing after each; returns their numbers."""
    numbers = []
    for receipt in services.issue_due_steps(session, now):
        numbers.append(receipt.number)
        outbox.commit(session)
    outbox.commit(session)
    return numbers


def issue(session: Session, _payload: dict[str, Any]) -> None:
    """The periodic `receipts.issue` job."""
    numbers = issue_due(session)
    log.info("receipts.issue: issued %s", len(numbers))
