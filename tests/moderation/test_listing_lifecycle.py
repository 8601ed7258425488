"""Listing lifecycle and the moderation queue, without HTTP."""

from __future__ import annotations

from dataclasses import replace

import pytest

from marketplace.audit import entries_for
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, QueueState
from marketplace.providers import services
from marketplace.providers.models import ListingStatus
from marketplace.providers.services import PriceOption
from tests.factories import CouncilFactory, UserFactory
from tests.listing_helpers import listing_data, provider_with_staff, ulo_moderator


def published_listing(db_session, org, staff, council, moderator):
    """A listing taken through draft, submission and approval."""
    listing = services.create_listing(db_session, staff, org, listing_data(db_session, council))
    item = services.submit_listing(db_session, staff, listing)
    moderation.decide(db_session, moderator, item, Decision.APPROVE, "")
    return listing


@pytest.fixture
def setup(db_session):
    org, staff, council = provider_with_staff()
    moderator = ulo_moderator(council)
    db_session.commit()
    return org, staff, council, moderator


def test_draft_submit_publish(db_session, setup):
    org, staff, council, moderator = setup
    listing = services.create_listing(db_session, staff, org, listing_data(db_session, council))
    assert listing.status == ListingStatus.DRAFT.value
    assert listing.min_price_pence == 500
    item = services.submit_listing(db_session, staff, listing)
    assert listing.status == ListingStatus.SUBMITTED.value
    assert moderation.queue_for(db_session, moderator) == [item]
    moderation.decide(db_session, moderator, item, Decision.APPROVE, "")
    assert listing.status == ListingStatus.PUBLISHED.value
    assert item.state == QueueState.DECIDED.value
    actions = [e.action for e in entries_for(db_session, "listing", listing.id)]
    assert actions == ["moderation.submitted", "moderation.approve"]


def test_rejection_needs_a_reason_that_the_provider_sees(db_session, setup):
    org, staff, council, moderator = setup
    listing = services.create_listing(db_session, staff, org, listing_data(db_session, council))
    item = services.submit_listing(db_session, staff, listing)
    with pytest.raises(DomainError) as error:
        moderation.decide(db_session, moderator, item, Decision.REJECT, "  ")
    assert error.value.field == "reason"
    moderation.decide(db_session, moderator, item, Decision.REJECT, "Add your prices")
    assert listing.status == ListingStatus.REJECTED.value
    assert listing.rejection_reason == "Add your prices"
    with pytest.raises(DomainError):
        moderation.decide(db_session, moderator, item, Decision.APPROVE, "")
    # Fixing and resubmitting goes back into the queue.
    services.update_listing(
        db_session, staff, listing, listing_data(db_session, council, summary="Now with prices")
    )
    assert listing.status == ListingStatus.DRAFT.value
    services.submit_listing(db_session, staff, listing)
    assert listing.status == ListingStatus.SUBMITTED.value


def test_edit_of_published_listing_keeps_old_version_live(db_session, setup):
    org, staff, council, moderator = setup
    listing = published_listing(db_session, org, staff, council, moderator)
    services.update_listing(
        db_session, staff, listing, listing_data(db_session, council, name="New name")
    )
    assert listing.name == "Peer support group"
    assert listing.status == ListingStatus.PUBLISHED.value
    item = services.submit_listing(db_session, staff, listing)
    assert item.item_type == services.ITEM_LISTING_EDIT
    moderation.decide(db_session, moderator, item, Decision.APPROVE, "")
    assert listing.name == "New name"
    assert listing.pending_changes is None


def test_rejected_edit_leaves_live_version_and_reason(db_session, setup):
    org, staff, council, moderator = setup
    listing = published_listing(db_session, org, staff, council, moderator)
    services.update_listing(
        db_session, staff, listing, listing_data(db_session, council, name="Shouty NAME!!!")
    )
    item = services.submit_listing(db_session, staff, listing)
    moderation.decide(db_session, moderator, item, Decision.REJECT, "Please use a plain name")
    assert listing.name == "Peer support group"
    assert listing.rejection_reason == "Please use a plain name"
    services.discard_changes(db_session, staff, listing)
    assert listing.pending_changes is None


def test_staff_of_another_provider_cannot_touch_the_listing(db_session, setup):
    org, staff, council, _ = setup
    listing = services.create_listing(db_session, staff, org, listing_data(db_session, council))
    other_org, other_staff, _ = provider_with_staff(council)
    with pytest.raises(NotAllowed):
        services.update_listing(db_session, other_staff, listing, listing_data(db_session, council))
    with pytest.raises(NotAllowed):
        services.submit_listing(db_session, other_staff, listing)
    with pytest.raises(NotAllowed):
        services.create_listing(db_session, UserFactory(), org, listing_data(db_session, council))
    assert not services.can_manage(db_session, other_staff, listing)


def test_moderators_only_see_their_own_areas(db_session, setup):
    org, staff, council, moderator = setup
    elsewhere = CouncilFactory()
    far_moderator = ulo_moderator(elsewhere)
    admin = UserFactory(roles=["admin"])
    listing = services.create_listing(db_session, staff, org, listing_data(db_session, council))
    item = services.submit_listing(db_session, staff, listing)
    assert moderation.queue_for(db_session, far_moderator) == []
    assert moderation.queue_for(db_session, admin) == [item]
    with pytest.raises(NotAllowed):
        moderation.decide(db_session, far_moderator, item, Decision.APPROVE, "")
    with pytest.raises(NotAllowed):
        moderation.get_for_moderator(db_session, far_moderator, item.id)


def test_an_item_claimed_by_one_moderator_cannot_be_decided_by_another(db_session, setup):
    org, staff, council, moderator = setup
    colleague = ulo_moderator(council)
    listing = services.create_listing(db_session, staff, org, listing_data(db_session, council))
    item = services.submit_listing(db_session, staff, listing)
    moderation.claim(db_session, moderator, item)
    with pytest.raises(DomainError):
        moderation.claim(db_session, colleague, item)
    with pytest.raises(DomainError):
        moderation.decide(db_session, colleague, item, Decision.APPROVE, "")
    moderation.decide(db_session, moderator, item, Decision.APPROVE, "")


def test_hide_and_show_a_published_listing(db_session, setup):
    org, staff, council, moderator = setup
    listing = published_listing(db_session, org, staff, council, moderator)
    with pytest.raises(DomainError):
        services.set_hidden(db_session, moderator, listing, True, "")
    services.set_hidden(db_session, moderator, listing, True, "Reported as closed")
    assert listing.status == ListingStatus.HIDDEN.value
    services.set_hidden(db_session, moderator, listing, False, "")
    assert listing.is_published
    with pytest.raises(NotAllowed):
        services.set_hidden(db_session, ulo_moderator(CouncilFactory()), listing, True, "x")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"summary": "x" * 161}, "summary"),
        ({"category_ids": ()}, "category_ids"),
        ({"delivery_modes": ("teleport",)}, "delivery_modes"),
        ({"prices": ()}, "prices"),
        ({"prices": (PriceOption(-1, "hour"),)}, "prices"),
        ({"prices": (PriceOption(100, "fortnight"),)}, "prices"),
        ({"prices": (PriceOption(100, "free"),)}, "prices"),
        ({"radius_miles": -3}, "radius_miles"),
        ({"council_ids": ()}, "council_ids"),
        ({"council_ids": (999999,)}, "council_ids"),
        ({"languages": ("Klingon",)}, "languages"),
        ({"communities": ("everyone",)}, "communities"),
    ],
)
def test_bad_listing_data_is_refused_with_the_field(db_session, setup, overrides, field):
    org, staff, council, _ = setup
    with pytest.raises(DomainError) as error:
        services.create_listing(
            db_session, staff, org, replace(listing_data(db_session, council), **overrides)
        )
    assert error.value.field == field


def test_unknown_postcode_is_refused(db_session, setup):
    org, staff, council, _ = setup
    with pytest.raises(DomainError) as error:
        services.create_listing(
            db_session, staff, org, listing_data(db_session, council, postcode="ZZ99 9ZZ")
        )
    assert error.value.field == "postcode"
