"""What moderation knows about listings: the queue kinds (new listing, changes to one) and
a listing as a thing people can report, hide and have restored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, ModerationItem
from marketplace.organisations.services import staff_of
from marketplace.providers.models import Listing, ListingStatus
from marketplace.providers.services import (
    ITEM_LISTING,
    ITEM_LISTING_EDIT,
    ListingData,
    _decide_edit,
    _decide_listing,
    listing_council_codes,
)


def _view(session: Session, item: ModerationItem) -> dict[str, object]:
    """The listing, and for an edit the changes proposed, for the moderator's page."""
    listing = session.get(Listing, item.item_id)
    proposed = (
        ListingData.from_json(listing.pending_changes)
        if listing is not None and listing.pending_changes
        else None
    )
    return {"listing": listing, "proposed": proposed}


def _set_hidden(_session: Session, listing: Listing, hidden_at: datetime | None) -> bool:
    # A listing has no hidden_at: hiding is a status, and only a published one is hidden.
    if hidden_at is not None and listing.status == ListingStatus.PUBLISHED.value:
        listing.status = ListingStatus.HIDDEN.value
        return True
    if hidden_at is None and listing.status == ListingStatus.HIDDEN.value:
        listing.status = ListingStatus.PUBLISHED.value
        return True
    return False


def _apply_sanction(
    _session: Session, listing: Listing, action: Decision, reason: str, restore: bool
) -> None:
    """Asking for an edit sends the listing back to its provider with the reason."""
    if restore:
        listing.status = ListingStatus.PUBLISHED.value
        listing.rejection_reason = None
    elif action is Decision.ASK_EDIT:
        listing.status = ListingStatus.REJECTED.value
        listing.rejection_reason = reason
    else:
        listing.status = ListingStatus.HIDDEN.value


def _owners(session: Session, listing: Listing) -> tuple[list[User], str]:
    return staff_of(session, listing.organisation), f"your listing {listing.name}"


def register() -> None:
    """Teach moderation about listings (idempotent: called from init_app)."""
    moderation.register_subject(
        ITEM_LISTING,
        load=lambda session, listing_id: session.get(Listing, listing_id),
        title=lambda _s, listing: f"the service {listing.name}",
        text=lambda _s, listing: listing.summary,
        areas=lambda _s, listing: listing_council_codes(listing),
        page=lambda _s, listing: ("directory.service", {"listing_id": listing.id}),
        visible_to=lambda _s, _user, listing: listing.is_published,
        set_hidden=_set_hidden,
        owners=_owners,
        # Its provider's staff are told, but a listing is not one person's words.
        warn_writer=False,
        apply_sanction=_apply_sanction,
        organisations=lambda _s, listing: {listing.organisation_id},
        decide=_decide_listing,
        label="New listing",
        view=_view,
    )
    moderation.register_kind(ITEM_LISTING_EDIT, "Changes to a listing", _decide_edit, view=_view)
