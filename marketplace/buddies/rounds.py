"""The two ways people are paired: a seeker picks from their suggestions, or a ULO coordinator
runs a matching round for everyone waiting in their area (a globally best assignment).

Both go through `services.propose`, which checks every hard constraint again at the moment
of proposing, so a stale page can never pair people who should not be paired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from marketplace.auth.models import User
from marketplace.buddies import matching, services
from marketplace.buddies.models import (
    BuddyMatch,
    BuddyProfile,
    BuddyRequest,
    MatchStatus,
    RequestStatus,
)
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.places.models import Council

SUGGESTIONS = 3


@dataclass(frozen=True)
class Suggested:
    """A buddy to show a seeker: only what matching used, never their private details."""

    profile: BuddyProfile
    score: float
    reasons: list[str]


def _council_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Council.code, Council.name)).all())


def _has_pending_proposal(session: Session, request: BuddyRequest) -> bool:
    return (
        session.scalars(
            select(BuddyMatch.id).where(
                BuddyMatch.request_id == request.id,
                BuddyMatch.status == MatchStatus.PROPOSED.value,
            )
        ).first()
        is not None
    )


def pending_proposal(session: Session, request: BuddyRequest) -> BuddyMatch | None:
    """The suggestion waiting for a buddy's answer on this request, if any."""
    return session.scalars(
        select(BuddyMatch).where(
            BuddyMatch.request_id == request.id,
            BuddyMatch.status == MatchStatus.PROPOSED.value,
        )
    ).first()


def suggestions_for(
    session: Session, request: BuddyRequest, limit: int = SUGGESTIONS
) -> list[Suggested]:
    """The best few buddies for this request, best first, each with plain-English reasons."""
    if request.status != RequestStatus.WAITING.value:
        return []
    excluded = services.excluded_user_ids(session, request.seeker_id)
    with_places = [
        (profile, free)
        for profile, free in services.buddies_with_places(session)
        if profile.user_id not in excluded
    ]
    by_user = {profile.user_id: profile for profile, _ in with_places}
    seeker = services.to_matching_seeker(request, utcnow(), excluded)
    found = matching.suggestions(
        seeker,
        [services.to_matching_buddy(profile, free) for profile, free in with_places],
        limit=limit,
        council_names=_council_names(session),
    )
    return [Suggested(by_user[s.buddy_id], s.score, s.reasons) for s in found]


def ask_suggested(
    session: Session,
    seeker: User,
    request: BuddyRequest,
    profile_id: int,
    acting_carer: User | None = None,
) -> BuddyMatch:
    """The seeker asks one of their current suggestions to be their buddy."""
    if request.seeker_id != seeker.id:
        raise NotAllowed("This is not your request")
    services.act_as(session, acting_carer, seeker.id, "Asked a suggested budget buddy")
    chosen = next(
        (s.profile for s in suggestions_for(session, request) if s.profile.id == profile_id),
        None,
    )
    if chosen is None:
        # Only people we suggested: nobody can be approached by guessing an id.
        raise DomainError("That buddy is no longer available. Choose from the suggestions below")
    return services.propose(session, request, chosen)


# --- matching rounds run by a ULO coordinator --------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """One pair the round suggests: the coordinator reviews it before it is sent."""

    request: BuddyRequest
    profile: BuddyProfile
    score: float
    reasons: list[str]


@dataclass(frozen=True)
class Unmatched:
    """Someone the round found no buddy for, and why in plain words (so staff can recruit)."""

    request: BuddyRequest
    why: list[str]


@dataclass(frozen=True)
class Round:
    proposals: list[Proposal]
    waiting: int  # people waiting in the area, without a suggestion to answer
    unmatched: list[Unmatched]  # of those, the ones no buddy could suit this time, and why
    total_score: float


# --- why nobody fits someone --------------------------------------------------------------------
# The hard constraints of matching.feasible, one by one, each with what to say when no buddy
# with a free place meets it. tests/buddies/test_rounds.py checks that meeting them all is
# exactly matching.feasible, so these words can never drift from what the matcher does.

_WAY_WORDS = {"messages": "messages", "phone": "phone", "video": "video", "in_person": "meeting"}


def _words(values: frozenset[str], labels: dict[str, str] | None = None) -> str:
    named = sorted((labels or {}).get(v, v) for v in values)
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " or " + named[-1]


Constraint = tuple[
    Callable[[matching.Seeker, matching.BuddyProfile], bool], Callable[[matching.Seeker], str]
]

HARD_CONSTRAINTS: tuple[Constraint, ...] = (
    (
        lambda s, b: not s.languages.isdisjoint(b.languages),
        lambda s: f"no buddy with a free place speaks {_words(s.languages)}",
    ),
    (
        lambda s, b: not s.ways.isdisjoint(b.ways),
        lambda s: f"no buddy with a free place keeps in touch by {_words(s.ways, _WAY_WORDS)}",
    ),
    (
        lambda s, b: s.only_gender is None or b.gender == s.only_gender,
        lambda s: "no buddy with a free place fits their wish about the buddy's gender",
    ),
    (
        lambda s, b: b.only_gender is None or s.gender == b.only_gender,
        lambda s: "the buddies with a free place only take people of another gender",
    ),
    (
        lambda s, b: b.capacity > 0,
        lambda s: "no buddy has a free place just now",
    ),
    (
        lambda s, b: b.id not in s.excluded,
        lambda s: (
            "the buddies who would fit have been paired with them before, said no to "
            "them, or one of them blocked the other"
        ),
    ),
)


def meets_all(seeker: matching.Seeker, buddy: matching.BuddyProfile) -> bool:
    """Every hard constraint above (the same answer as matching.feasible)."""
    return all(met(seeker, buddy) for met, _ in HARD_CONSTRAINTS)


def why_nobody_fits(
    seeker: matching.Seeker,
    buddies: list[matching.BuddyProfile],
    council_name: str | None = None,
) -> list[str]:
    """Plain words for why no buddy was found for this seeker: each hard constraint that no
    buddy with a free place meets; if each is met by someone but never all by one buddy, that;
    if some buddy fits, that they were suggested to others this round. Then, as a hint for
    recruiting, whether any buddy with a free place is in their own council."""
    free = [b for b in buddies if b.capacity > 0]
    if not free:
        return ["No buddy has a free place just now"]
    why = [say(seeker) for met, say in HARD_CONSTRAINTS if not any(met(seeker, b) for b in free)]
    if not why:
        if any(meets_all(seeker, b) for b in free):
            why = ["the buddies who fit them were suggested to other people in this round"]
        else:
            why = ["no single buddy meets all of their needs together"]
    if not any(b.council == seeker.council for b in free):
        where = council_name or "their council"
        why.append(f"no buddy with a free place is in {where}")
    return [reason[0].upper() + reason[1:] for reason in why]


def waiting_in_area(session: Session, coordinator: User) -> list[BuddyRequest]:
    """Requests waiting in the coordinator's council areas with no suggestion out, oldest first."""
    areas = moderation.moderated_council_codes(session, coordinator)
    if areas is not None and not areas:
        return []  # staff of a ULO not yet approved look after no area yet
    query = (
        select(BuddyRequest)
        .join(Council, Council.id == BuddyRequest.council_id)
        .where(BuddyRequest.status == RequestStatus.WAITING.value)
        .options(joinedload(BuddyRequest.council), joinedload(BuddyRequest.seeker))
        .order_by(BuddyRequest.created_at, BuddyRequest.id)
    )
    if areas is not None:
        query = query.where(Council.code.in_(areas))
    return [r for r in session.scalars(query) if not _has_pending_proposal(session, r)]


def plan_round(session: Session, coordinator: User) -> Round:
    """The globally best set of pairs for everyone waiting in the area (nothing is sent yet).

    Buddies from any area may be proposed: someone who talks by phone or video does not need
    to live nearby, and the score already prefers people who know the seeker's council.
    """
    waiting = waiting_in_area(session, coordinator)
    now = utcnow()
    with_places = services.buddies_with_places(session)
    by_user = {profile.user_id: profile for profile, _ in with_places}
    seekers = [
        services.to_matching_seeker(r, now, services.excluded_user_ids(session, r.seeker_id))
        for r in waiting
    ]
    buddies = [services.to_matching_buddy(profile, free) for profile, free in with_places]
    result = matching.assign(seekers, buddies)
    requests = {r.seeker_id: r for r in waiting}
    seeker_by_id = {s.id: s for s in seekers}
    buddy_by_id = {b.id: b for b in buddies}
    names = _council_names(session)
    proposals = [
        Proposal(
            request=requests[seeker_id],
            profile=by_user[buddy_id],
            score=score,
            reasons=matching.reasons(seeker_by_id[seeker_id], buddy_by_id[buddy_id], names),
        )
        for seeker_id, buddy_id, score in result.pairs
    ]
    paired = {p.request.id for p in proposals}
    return Round(
        proposals=proposals,
        waiting=len(waiting),
        unmatched=[
            Unmatched(
                r,
                why_nobody_fits(seeker_by_id[r.seeker_id], buddies, names.get(r.council.code)),
            )
            for r in waiting
            if r.id not in paired
        ],
        total_score=result.total,
    )


@dataclass(frozen=True)
class Sent:
    match_ids: list[int]
    problems: list[str]

    @property
    def sent(self) -> int:
        return len(self.match_ids)


def send_round(session: Session, coordinator: User, pairs: list[tuple[int, int]]) -> Sent:
    """Send the (request id, buddy profile id) pairs the coordinator ticked.

    Each is checked again: the request must still be waiting in the coordinator's area and the
    pair must still meet every hard constraint (someone may have blocked or filled up since).
    """
    if not pairs:
        raise DomainError("Tick at least one suggested pair to send", field="pairs")
    areas = moderation.moderated_council_codes(session, coordinator)
    sent: list[int] = []
    problems: list[str] = []
    for request_id, profile_id in pairs:
        request = session.get(BuddyRequest, request_id)
        profile = session.get(BuddyProfile, profile_id)
        if request is None or (areas is not None and request.council.code not in areas):
            raise NotAllowed("That request is not in your area")
        if profile is None:
            problems.append("One buddy has withdrawn their offer")
            continue
        try:
            with session.begin_nested():
                match = services.propose(session, request, profile)
        except DomainError as error:
            problems.append(f"{request.seeker.display_name}: {error.message}")
        else:
            sent.append(match.id)
    return Sent(sent, problems)
