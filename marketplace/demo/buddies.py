"""Demo budget buddies: confirmed buddies in each council, people waiting, one live pairing."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.buddies import conversations, rounds, services
from marketplace.buddies.models import Holding, Time, Topic, Way
from marketplace.db import utcnow
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.places.models import Council

OPENING = (
    "Hello! I remember how confusing the first review was. "
    "Happy to talk it through whenever suits you."
)


# A few lines in buddies' own words, shown with their suggestions (the ULO has read them).
ABOUT_ME = (
    "I was nervous about employing a PA at first. Now I have two, and I like helping "
    "people get started.",
    "My first review was hard. I can tell you what helped me get ready for it.",
    "I use my direct payment for a gym and an art class. Happy to share ideas.",
    "I am not good with forms, but I got there, and I am patient.",
)


def _pick(rng: random.Random, values: list[str], low: int, high: int) -> tuple[str, ...]:
    return tuple(rng.sample(values, k=rng.randint(low, high)))


def seed_buddies(
    session: Session,
    rng: random.Random,
    holders: list[User],
    councils: list[Council],
    moderator: User,
) -> int:
    """Make ten holders confirmed buddies and seven others (the demo holder first) seekers.

    Returns how many buddies were confirmed. The first seeker (holders[0] is the demo budget
    holder) is paired with a buddy and has a message waiting, so every page has something.
    """
    topics = [t.value for t in Topic]
    ways = [w.value for w in Way]
    times = [t.value for t in Time]
    holdings = [h.value for h in Holding]
    buddies = holders[10:20]
    for index, user in enumerate(buddies):
        profile = services.offer_to_be_buddy(
            session,
            user,
            services.OfferData(
                council_id=councils[index % len(councils)].id,
                months_holding=rng.randint(8, 60),
                holds=rng.choice(holdings),
                experience=_pick(rng, topics, 2, 4),
                languages=("English", "Polish") if index % 4 == 0 else ("English",),
                ways=("messages", *_pick(rng, ways, 1, 2)),
                times=_pick(rng, times, 1, 3),
                capacity=rng.randint(1, 3),
                about_me=ABOUT_ME[index % len(ABOUT_ME)],
            ),
        )
        (item,) = moderation.open_entries_for(session, services.ITEM_BUDDY_OFFER, profile.id)
        moderation.decide(session, moderator, item, Decision.APPROVE, "")

    for index, user in enumerate([holders[0], *holders[20:26]]):
        request = services.ask_for_buddy(
            session,
            user,
            services.RequestData(
                council_id=councils[index % len(councils)].id,
                wants=_pick(rng, topics, 1, 2),
                holds=rng.choice([*holdings, None]),
                languages=("English",),
                ways=("messages", *_pick(rng, ways, 0, 1)),
                times=_pick(rng, times, 1, 2),
            ),
        )
        request.created_at = utcnow() - timedelta(days=rng.randint(1, 40))
        if index == 0:
            best = rounds.suggestions_for(session, request)[0].profile
            match = services.propose(session, request, best)
            services.accept(session, best.user, match)
            conversations.send_message(session, best.user, match, OPENING)
    return len(buddies)
