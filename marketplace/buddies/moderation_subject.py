"""What a moderator sees when deciding a buddy offer or handling a concern about a pairing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace.buddies.conversations import ITEM_BUDDY_CONCERN, concern_for_item
from marketplace.buddies.models import BuddyProfile
from marketplace.buddies.services import ITEM_BUDDY_OFFER
from marketplace.moderation.models import ModerationItem


def moderation_subject(session: Session, item: ModerationItem) -> dict[str, object]:
    """Template values for the moderation item page (empty for other kinds of item).

    The offer is shown without its private lived-experience notes: confirming a buddy is
    about their induction, not their health.
    """
    if item.item_type == ITEM_BUDDY_OFFER:
        return {"buddy_profile": session.get(BuddyProfile, item.item_id)}
    if item.item_type == ITEM_BUDDY_CONCERN:
        return {"buddy_concern": concern_for_item(session, item)}
    return {}
