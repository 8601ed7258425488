"""What moderation knows about budget buddies: the queue kinds (an offer to be a buddy, a
concern about a pairing) and buddy messages as things people can report and hide."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.buddies.conversations import (
    ITEM_BUDDY_CONCERN,
    _decide_concern,
    areas_of,
    concern_for_item,
    get_match_for,
)
from marketplace.buddies.models import BuddyMessage, BuddyProfile
from marketplace.buddies.services import ITEM_BUDDY_OFFER, _decide_offer
from marketplace.errors import NotAllowed
from marketplace.moderation import limits
from marketplace.moderation import services as moderation
from marketplace.moderation.models import ModerationItem

BUDDY_MESSAGE = "buddy_message"


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


def _visible(session: Session, user: User, message: BuddyMessage) -> bool:
    """The other person in the pairing, while the message is not hidden (and is a message)."""
    try:
        get_match_for(session, user, message.match.id)
    except NotAllowed:
        return False
    # A site notice (a break's neutral message) is not anyone's words: nothing to report.
    return message.sender_id != user.id and message.hidden_at is None and not message.is_notice


def _set_hidden(_session: Session, message: BuddyMessage, hidden_at: datetime | None) -> bool:
    if (message.hidden_at is None) == (hidden_at is None):
        return False
    message.hidden_at = hidden_at
    return True


def _owners(_session: Session, message: BuddyMessage) -> tuple[list[User], str]:
    return (
        [message.sender] if message.sender else [],
        "a message you sent to your budget buddy",
    )


def register() -> None:
    """Teach moderation about buddies (idempotent: called from init_app)."""
    moderation.register_kind(
        ITEM_BUDDY_OFFER,
        "Offer to be a budget buddy",
        _decide_offer,
        approve_label="Confirm: they have done our buddy induction",
        reject_label="Do not confirm, with a reason they will see",
        view=moderation_subject,
    )
    moderation.register_kind(
        ITEM_BUDDY_CONCERN,
        "Concern about a budget buddy pairing",
        _decide_concern,
        approve_label="Dealt with: close the concern",
        reject_label="No action needed: close with a reason",
        view=moderation_subject,
        private=True,
        urgent=True,
    )
    moderation.register_subject(
        BUDDY_MESSAGE,
        load=lambda session, message_id: session.get(BuddyMessage, message_id),
        title=lambda _s, _message: "a message in your budget buddy conversation",
        text=lambda _s, message: message.body,
        areas=lambda _s, message: areas_of(message.match),
        page=lambda _s, message: ("buddies.pairing", {"match_id": message.match.id}),
        visible_to=_visible,
        set_hidden=_set_hidden,
        owners=_owners,
        private=True,
    )
    limits.register_message_model("buddy", BuddyMessage, BuddyMessage.sender_id)
