"""The directory's background jobs: search index updates (SEARCH_INDEX_DELIVERY = "queue") and
the yearly reminders to check listings."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from marketplace.providers import checks
from marketplace.providers.indexing import EXTENSION_KEY, sync_listings


def index_listings(session: Session, payload: dict[str, Any]) -> None:
    """ "search.index_listings": bring these listings' search documents in line with the
    database: {ids: [...]}. Indexing is idempotent, so a retried run does no harm. The index is
    this worker's SEARCH_INDEX_DIR: queue index updates only where workers share the index the
    web servers read."""
    index = current_app.extensions[EXTENSION_KEY]
    sync_listings(index, session.connection(), [int(i) for i in payload.get("ids", [])])


def check_reminders(session: Session, _payload: dict[str, Any]) -> None:
    """ "providers.check_reminders" (daily): remind provider staff, once, to check each listing
    11 months after it was last checked."""
    checks.send_check_reminders(session)
