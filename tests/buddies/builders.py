"""Building blocks for buddy tests: offers, requests, confirmed buddies, waiting seekers."""

from __future__ import annotations

from dataclasses import replace

from marketplace.buddies import services
from marketplace.buddies.services import OfferData, RequestData
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from tests.factories import UserFactory


def offer(council, **overrides) -> OfferData:
    data = OfferData(
        council_id=council.id,
        months_holding=18,
        holds="direct_payment",
        experience=("assessment", "employing_a_pa"),
        languages=("English",),
        ways=("phone", "messages"),
        times=("evenings",),
        capacity=2,
    )
    return replace(data, **overrides)


def ask(council, **overrides) -> RequestData:
    data = RequestData(
        council_id=council.id,
        wants=("employing_a_pa",),
        holds="direct_payment",
        languages=("English",),
        ways=("phone",),
        times=("evenings",),
    )
    return replace(data, **overrides)


def confirmed_buddy(db_session, council, moderator, **overrides):
    """A person whose offer to be a buddy the local ULO has confirmed."""
    user = UserFactory()
    profile = services.offer_to_be_buddy(db_session, user, offer(council, **overrides))
    (item,) = moderation.open_entries_for(db_session, services.ITEM_BUDDY_OFFER, profile.id)
    moderation.decide(db_session, moderator, item, Decision.APPROVE, "")
    return user, profile


def seeker_request(db_session, council, **overrides):
    seeker = UserFactory()
    return seeker, services.ask_for_buddy(db_session, seeker, ask(council, **overrides))
