"""What moderation knows about reviews, replies and enquiry messages: the queue kinds for
reviews and replies, and reviews and enquiry messages as things people can report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.engagement.models import EnquiryMessage, Review
from marketplace.engagement.services import (
    ITEM_REVIEW,
    ITEM_REVIEW_REPLY,
    _decide_reply,
    _decide_review,
    get_enquiry_for,
    moderation_subject,
)
from marketplace.errors import NotAllowed
from marketplace.moderation import limits
from marketplace.moderation import services as moderation
from marketplace.providers.services import listing_council_codes

ENQUIRY_MESSAGE = "enquiry_message"


def _set_hidden(_session: Session, review: Review, hidden_at: datetime | None) -> bool:
    if (review.hidden_at is None) == (hidden_at is None):
        return False
    review.hidden_at = hidden_at
    return True


def _review_visible(_session: Session, _user: User, review: Review) -> bool:
    return review.is_published and review.hidden_at is None


def _in_thread(session: Session, user: User, message: EnquiryMessage) -> bool:
    """The other people in the enquiry thread (not the message's author)."""
    try:
        get_enquiry_for(session, user, message.enquiry.id)
    except NotAllowed:
        return False
    return message.author_id != user.id


def _message_owners(_session: Session, message: EnquiryMessage) -> tuple[list[User], str]:
    return [message.author] if message.author else [], "a message you sent about a service"


def register() -> None:
    """Teach moderation about reviews and enquiry messages (idempotent: called from init_app)."""
    moderation.register_subject(
        ITEM_REVIEW,
        load=lambda session, review_id: session.get(Review, review_id),
        title=lambda _s, review: f"a review of {review.listing.name}",
        text=lambda _s, review: review.body,
        areas=lambda _s, review: listing_council_codes(review.listing),
        page=lambda _s, review: ("directory.service", {"listing_id": review.listing_id}),
        visible_to=_review_visible,
        set_hidden=_set_hidden,
        owners=lambda _s, review: ([review.author], f"your review of {review.listing.name}"),
        # The provider reviewed has an interest in the outcome.
        organisations=lambda _s, review: {review.listing.organisation_id},
        decide=_decide_review,
        label="Review",
        view=moderation_subject,
    )
    moderation.register_kind(
        ITEM_REVIEW_REPLY, "Reply to a review", _decide_reply, view=moderation_subject
    )
    # Not hideable: an enquiry is a private thread the provider can close.
    moderation.register_subject(
        ENQUIRY_MESSAGE,
        load=lambda session, message_id: session.get(EnquiryMessage, message_id),
        title=lambda _s, message: f"a message about {message.enquiry.listing.name}",
        text=lambda _s, message: message.body,
        areas=lambda _s, message: listing_council_codes(message.enquiry.listing),
        page=lambda _s, message: ("engagement.thread", {"enquiry_id": message.enquiry.id}),
        visible_to=_in_thread,
        owners=_message_owners,
        private=True,
        # One side of the thread is the provider's staff, acting as staff.
        organisations=lambda _s, message: {message.enquiry.listing.organisation_id},
    )
    limits.register_message_model("enquiry", EnquiryMessage, EnquiryMessage.author_id)
