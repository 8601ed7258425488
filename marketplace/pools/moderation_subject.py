"""What a moderator sees when deciding a proposed pool."""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace.moderation.models import ModerationItem
from marketplace.pools.models import Pool
from marketplace.pools.services import ITEM_POOL


def moderation_subject(session: Session, item: ModerationItem) -> dict[str, object]:
    """Template values for the moderation item page (empty for other kinds of item)."""
    if item.item_type == ITEM_POOL:
        return {"pool": session.get(Pool, item.item_id)}
    return {}
