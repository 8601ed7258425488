"""Things to report, for the moderation tests."""

from __future__ import annotations

from marketplace.buddies import conversations
from marketplace.buddies import services as buddies
from marketplace.db import utcnow
from marketplace.engagement.models import Review, ReviewStatus
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.pools.models import PoolMessage
from marketplace.providers import services as providers
from tests.buddies.builders import confirmed_buddy, seeker_request
from tests.factories import UserFactory
from tests.listing_helpers import listing_data, provider_with_staff
from tests.pools.builders import approved_pool


def published_listing(db_session, council, moderator):
    """(listing, provider staff)."""
    org, staff, _ = provider_with_staff(council)
    listing = providers.create_listing(db_session, staff, org, listing_data(db_session, council))
    item = providers.submit_listing(db_session, staff, listing)
    moderation.decide(db_session, moderator, item, Decision.APPROVE, "")
    return listing, staff


def published_review(db_session, council, moderator):
    listing, _ = published_listing(db_session, council, moderator)
    review = Review(
        listing=listing,
        author=UserFactory(),
        rating=4,
        body="Kind and on time.",
        status=ReviewStatus.PUBLISHED.value,
        published_at=utcnow(),
    )
    db_session.add(review)
    db_session.flush()
    return review


def pool_message(db_session, council, moderator, body="Shall we meet on Tuesdays?"):
    pool = approved_pool(db_session, council, moderator)
    message = PoolMessage(pool_id=pool.id, author_id=pool.proposer_id, body=body)
    db_session.add(message)
    db_session.flush()
    return message


def buddy_pair(db_session, council, moderator):
    """An active pairing: (seeker, buddy, match)."""
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    match = buddies.propose(db_session, request, profile)
    buddies.accept(db_session, buddy, match)
    db_session.flush()
    return seeker, buddy, match


def buddy_message(db_session, council, moderator, body="Hello there"):
    """(message from the seeker, seeker, buddy)."""
    seeker, buddy, match = buddy_pair(db_session, council, moderator)
    message, _ = conversations.send_message(db_session, seeker, match, body)
    db_session.flush()
    return message, seeker, buddy
