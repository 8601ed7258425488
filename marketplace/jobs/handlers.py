"""Pool charging's job (the other packages register theirs from their own init_app)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from marketplace.jobs.registry import handler

log = logging.getLogger(__name__)


@handler("pools.charge_due", commits=True)
def charge_due(session: Session, _payload: dict[str, Any]) -> None:
    """Lapse, fund and charge pools. It commits each claim before money moves, so it runs
    leased, not in the worker's transaction; charges carry our own idempotency keys."""
    from marketplace.pools import funding

    report = funding.charge_due(session)
    log.info("pools.charge_due: %s", report)
