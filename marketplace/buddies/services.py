"""Budget buddy rules: offers, requests, pairings, pauses, endings and blocks.

Lifecycle of a pairing (DESIGN §4): proposed -> active (the buddy accepts) <-> paused -> ended;
a proposal the buddy declines is "declined" and the request goes back to waiting, keeping its
place in the queue (waiting time counts from when the person first asked).
Either person can pause or end a pairing at any time, without giving a reason.

Offers to be a buddy go to the moderation queue so that the ULO covering the buddy's council
confirms them after its induction. The matching engine (`marketplace.buddies.matching`) is
imported inside the functions that use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from marketplace.auth.models import Role, User, UserRole
from marketplace.buddies import notices, profiles
from marketplace.buddies.models import (
    LIVE_MATCH_STATUSES,
    MAX_CAPACITY,
    MIN_MONTHS_HOLDING,
    BuddyBlock,
    BuddyFeedback,
    BuddyMatch,
    BuddyMessage,
    BuddyProfile,
    BuddyRequest,
    Holding,
    MatchStatus,
    ProfileStatus,
    RequestStatus,
    Time,
    Topic,
    Way,
    join,
    split,
)
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, ModerationItem
from marketplace.places import postcodes
from marketplace.places.models import Council
from marketplace.places.services import place_for_postcode
from marketplace.privacy import services as privacy
from marketplace.providers.models import LANGUAGES, Category

if TYPE_CHECKING:
    from marketplace.buddies import matching

ITEM_BUDDY_OFFER = "buddy_offer"
ACCOUNT_CLOSED = "account closed"


@dataclass(frozen=True)
class OfferData:
    """What someone says when they offer to be a buddy, already parsed from the form."""

    council_id: int
    months_holding: int
    holds: str
    experience: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("English",)
    ways: tuple[str, ...] = ()
    times: tuple[str, ...] = ()
    capacity: int = 1
    used_for: tuple[str, ...] = ()  # directory category slugs
    only_gender: str | None = None
    gender: str | None = None
    lived_experience_topics: tuple[str, ...] = ()  # matching.LIVED_TOPICS codes
    share_lived_experience: bool = False
    postcode: str | None = None
    about_me: str | None = None  # in their own words; shown once the ULO has read it


@dataclass(frozen=True)
class RequestData:
    """What someone says when they ask for a buddy."""

    council_id: int
    wants: tuple[str, ...] = ()
    holds: str | None = None  # None: they do not have a budget yet
    languages: tuple[str, ...] = ("English",)
    ways: tuple[str, ...] = ()
    times: tuple[str, ...] = ()
    only_gender: str | None = None
    gender: str | None = None
    postcode: str | None = None
    lived_experience_topics: tuple[str, ...] = ()  # matching.LIVED_TOPICS codes
    share_lived_experience: bool = False


# --- validation shared by offers and requests -------------------------------------------------


def _check_known(values: Iterable[str], known: Iterable[str], field: str, what: str) -> None:
    if unknown := set(values) - set(known):
        raise DomainError(f"Choose {what} from the list, not {sorted(unknown)[0]}", field=field)


def _check_lived(topics: tuple[str, ...]) -> None:
    from marketplace.buddies.matching import LIVED_TOPICS

    _check_known(topics, LIVED_TOPICS, "lived_experience_topics", "experiences")


def _check_talking(
    languages: tuple[str, ...], ways: tuple[str, ...], times: tuple[str, ...]
) -> None:
    if not languages:
        raise DomainError("Choose at least one language", field="languages")
    _check_known(languages, LANGUAGES, "languages", "languages")
    if not ways:
        raise DomainError("Choose at least one way of keeping in touch", field="ways")
    _check_known(ways, (w.value for w in Way), "ways", "ways of keeping in touch")
    if not times:
        raise DomainError("Choose at least one time that suits you", field="times")
    _check_known(times, (t.value for t in Time), "times", "times")


def _council(session: Session, council_id: int) -> Council:
    council = session.get(Council, council_id)
    if council is None:
        raise DomainError("Choose your council from the list", field="council_id")
    return council


def _gender(value: str | None) -> str | None:
    value = (value or "").strip()
    if len(value) > 60:
        raise DomainError("Describe gender in 60 characters or fewer", field="gender")
    return value or None


def _validate_offer(session: Session, data: OfferData) -> postcodes.Place | None:
    _council(session, data.council_id)
    if data.holds not in {h.value for h in Holding}:
        raise DomainError("Say how you hold your budget", field="holds")
    # Our rule, not the law's: a buddy should have lived with a budget for a while first.
    if data.months_holding < MIN_MONTHS_HOLDING:
        raise DomainError(
            f"Buddies have held a budget for at least {MIN_MONTHS_HOLDING} months "
            "(this is our rule, so that buddies have been through a review)",
            field="months_holding",
        )
    if not 1 <= data.capacity <= MAX_CAPACITY:
        raise DomainError(
            f"You can be a buddy to between 1 and {MAX_CAPACITY} people", field="capacity"
        )
    if not data.experience:
        raise DomainError("Choose at least one thing you can help with", field="experience")
    _check_known(data.experience, (t.value for t in Topic), "experience", "topics")
    _check_talking(data.languages, data.ways, data.times)
    _check_lived(data.lived_experience_topics)
    if data.used_for:
        slugs = session.scalars(select(Category.slug).where(Category.slug.in_(data.used_for)))
        _check_known(data.used_for, slugs, "used_for", "what you used your budget for")
    _gender(data.gender)
    _gender(data.only_gender)
    profiles.clean(data.about_me)
    return place_for_postcode(data.postcode)


def _apply_offer(profile: BuddyProfile, data: OfferData, place: postcodes.Place | None) -> None:
    profile.council_id = data.council_id
    profile.months_holding = data.months_holding
    profile.holds = data.holds
    profile.experience = join(data.experience)
    profile.used_for = join(data.used_for)
    profile.languages = ", ".join(dict.fromkeys(data.languages))
    profile.ways = join(data.ways)
    profile.times = join(data.times)
    profile.capacity = data.capacity
    profile.only_gender = _gender(data.only_gender)
    profile.gender = _gender(data.gender)
    profile.lived_experience_topics = join(data.lived_experience_topics) or None
    profile.share_lived_experience = data.share_lived_experience
    profile.postcode = place.postcode if place else None
    profile.easting = place.easting if place else None
    profile.northing = place.northing if place else None


# --- offers to be a buddy ---------------------------------------------------------------------


def profile_of(session: Session, user_id: int) -> BuddyProfile | None:
    """This person's offer to be a buddy, if they made one."""
    return session.scalars(select(BuddyProfile).where(BuddyProfile.user_id == user_id)).first()


def _submit_offer(session: Session, user: User, profile: BuddyProfile) -> ModerationItem:
    council = _council(session, profile.council_id)
    item = moderation.submit(
        session,
        ITEM_BUDDY_OFFER,
        profile.id,
        f"Offer to be a budget buddy in {council.name}",
        user,
        {council.code},
    )
    if not moderation.area_moderators(session, item):
        # No ULO covers the area: only an admin can confirm it, so the admins are told.
        notices.offer_waiting_for_admins(session, item, _admins(session))
    return item


def _admins(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.ADMIN.value, User.erased_at.is_(None))
            .order_by(User.id)
        )
    )


def area_has_ulo(session: Session, council: Council) -> bool:
    """Whether a user-led organisation on the site covers this council (its staff check
    offers and match people there). False: only the site's admins can."""
    # The same question moderation asks of a queue item, asked of one that is never saved.
    probe = ModerationItem(
        item_type=ITEM_BUDDY_OFFER, item_id=0, council_codes=council.code, conflict_org_ids=""
    )
    return bool(moderation.area_moderators(session, probe))


def checked_locally(session: Session, profile: BuddyProfile) -> bool:
    """Whether a user-led organisation covering the buddy's council will check this offer
    (False: there is none on the site yet, so the site's admins do)."""
    return area_has_ulo(session, profile.council)


def offer_to_be_buddy(session: Session, user: User, data: OfferData) -> BuddyProfile:
    """Offer to be a buddy; the local ULO confirms the offer after its induction."""
    existing = profile_of(session, user.id)
    if existing is not None and existing.status != ProfileStatus.WITHDRAWN.value:
        raise DomainError("You have already offered to be a buddy")
    place = _validate_offer(session, data)
    profile = existing or BuddyProfile(user_id=user.id)
    _apply_offer(profile, data, place)
    profile.status = ProfileStatus.PENDING.value
    profile.confirmed_at = None
    profile.rejection_reason = None
    profiles.with_the_offer(profile, data.about_me)
    session.add(profile)
    session.flush()  # the queue entry names the profile's id
    _submit_offer(session, user, profile)
    return profile


def update_profile(session: Session, user: User, data: OfferData) -> BuddyProfile:
    """Change an offer. A confirmed or paused buddy's changes apply at once; a pending or
    rejected offer goes back to the ULO (a change of council always does)."""
    profile = profile_of(session, user.id)
    if profile is None or profile.status == ProfileStatus.WITHDRAWN.value:
        raise DomainError("You have not offered to be a buddy")
    place = _validate_offer(session, data)
    moved = profile.council_id != data.council_id
    _apply_offer(profile, data, place)
    if moved or profile.status in (ProfileStatus.PENDING.value, ProfileStatus.REJECTED.value):
        profile.status = ProfileStatus.PENDING.value
        profile.confirmed_at = None
        profiles.with_the_offer(profile, data.about_me)
        moderation.withdraw(session, profiles.ITEM_BUDDY_ABOUT_ME, profile.id)
        _submit_offer(session, user, profile)
    else:
        profiles.changed_by_confirmed_buddy(session, user, profile, data.about_me)
    return profile


def pause_offer(session: Session, user: User) -> BuddyProfile:
    """Stop being suggested to new people for now; existing pairings carry on."""
    profile = profile_of(session, user.id)
    if profile is None or profile.status != ProfileStatus.CONFIRMED.value:
        raise DomainError("Only a confirmed buddy can pause their offer")
    profile.status = ProfileStatus.PAUSED.value
    return profile


def resume_offer(session: Session, user: User) -> BuddyProfile:
    """Be suggested to people again."""
    profile = profile_of(session, user.id)
    if profile is None or profile.status != ProfileStatus.PAUSED.value:
        raise DomainError("Your offer is not paused")
    profile.status = ProfileStatus.CONFIRMED.value
    return profile


def withdraw_offer(session: Session, user: User) -> BuddyProfile:
    """Stop offering to be a buddy. Existing pairings carry on until someone ends them."""
    profile = profile_of(session, user.id)
    if profile is None or profile.status == ProfileStatus.WITHDRAWN.value:
        raise DomainError("You have not offered to be a buddy")
    moderation.withdraw(session, ITEM_BUDDY_OFFER, profile.id)
    moderation.withdraw(session, profiles.ITEM_BUDDY_ABOUT_ME, profile.id)
    profile.status = ProfileStatus.WITHDRAWN.value
    return profile


def _decide_offer(session: Session, item: ModerationItem, decision: Decision, reason: str) -> None:
    profile = session.get(BuddyProfile, item.item_id)
    if profile is None or profile.status != ProfileStatus.PENDING.value:
        raise DomainError("This offer has been withdrawn or changed")
    if decision is Decision.APPROVE:
        profile.status = ProfileStatus.CONFIRMED.value
        profile.confirmed_at = utcnow()
        profile.rejection_reason = None
        profiles.offer_confirmed(profile)
        notices.offer_confirmed(session, profile)
    else:
        profile.status = ProfileStatus.REJECTED.value
        profile.rejection_reason = reason


# --- asking for a buddy -----------------------------------------------------------------------


def act_as(session: Session, carer: User | None, holder_id: int, description: str) -> None:
    """When a carer acts for the holder, check their grant and record it first."""
    if carer is not None:
        carers.act_for(session, carer, holder_id, CarerScope.BUDDYING, description)


def waiting_request_of(session: Session, seeker_id: int) -> BuddyRequest | None:
    """This person's request that is waiting for a buddy, if any."""
    return session.scalars(
        select(BuddyRequest).where(
            BuddyRequest.seeker_id == seeker_id,
            BuddyRequest.status == RequestStatus.WAITING.value,
        )
    ).first()


def ask_for_buddy(
    session: Session, seeker: User, data: RequestData, acting_carer: User | None = None
) -> BuddyRequest:
    """Ask for a buddy. One waiting request per person."""
    act_as(session, acting_carer, seeker.id, "Asked for a budget buddy")
    if waiting_request_of(session, seeker.id) is not None:
        raise DomainError("You have already asked for a buddy. We are looking for one")
    _council(session, data.council_id)
    if data.holds is not None and data.holds not in {h.value for h in Holding}:
        raise DomainError("Say how you hold your budget", field="holds")
    if not data.wants:
        raise DomainError("Choose at least one thing you would like help with", field="wants")
    _check_known(data.wants, (t.value for t in Topic), "wants", "topics")
    _check_talking(data.languages, data.ways, data.times)
    _check_lived(data.lived_experience_topics)
    place = place_for_postcode(data.postcode)
    request = BuddyRequest(
        seeker_id=seeker.id,
        council_id=data.council_id,
        wants=join(data.wants),
        holds=data.holds,
        languages=", ".join(dict.fromkeys(data.languages)),
        ways=join(data.ways),
        times=join(data.times),
        only_gender=_gender(data.only_gender),
        gender=_gender(data.gender),
        postcode=place.postcode if place else None,
        easting=place.easting if place else None,
        northing=place.northing if place else None,
        lived_experience_topics=join(data.lived_experience_topics) or None,
        share_lived_experience=data.share_lived_experience,
        status=RequestStatus.WAITING.value,
    )
    session.add(request)
    session.flush()  # the view links to the new request
    return request


def withdraw_request(
    session: Session, seeker: User, request: BuddyRequest, acting_carer: User | None = None
) -> None:
    """Stop waiting for a buddy; any proposal not yet accepted is withdrawn too."""
    if request.seeker_id != seeker.id:
        raise NotAllowed("This is not your request")
    act_as(session, acting_carer, seeker.id, "Stopped looking for a budget buddy")
    if request.status != RequestStatus.WAITING.value:
        raise DomainError("This request is not waiting for a buddy")
    request.status = RequestStatus.WITHDRAWN.value
    for match in session.scalars(
        select(BuddyMatch).where(
            BuddyMatch.request_id == request.id,
            BuddyMatch.status == MatchStatus.PROPOSED.value,
        )
    ):
        _finish(match, seeker.id, MatchStatus.DECLINED, "request withdrawn")
        notices.ended(session, match, seeker, was_proposed=True)


# --- converting rows for the matching engine --------------------------------------------------


def taken_places(session: Session, profile: BuddyProfile) -> int:
    """How many of a buddy's places are taken (proposed, active or paused pairings)."""
    return (
        session.scalar(
            select(func.count(BuddyMatch.id)).where(
                BuddyMatch.buddy_profile_id == profile.id,
                BuddyMatch.status.in_(LIVE_MATCH_STATUSES),
            )
        )
        or 0
    )


def free_capacity(session: Session, profile: BuddyProfile) -> int:
    """How many more people this buddy can take on."""
    return max(profile.capacity - taken_places(session, profile), 0)


def excluded_user_ids(session: Session, seeker_id: int) -> set[int]:
    """People never to suggest to this seeker: blocked either way, a pairing ended before, or a
    buddy who already said no to them."""
    blocked = session.scalars(
        select(BuddyBlock.blocked_id).where(BuddyBlock.blocker_id == seeker_id)
    )
    blockers = session.scalars(
        select(BuddyBlock.blocker_id).where(BuddyBlock.blocked_id == seeker_id)
    )
    ended = session.scalars(
        select(BuddyMatch.buddy_user_id).where(
            BuddyMatch.seeker_id == seeker_id, BuddyMatch.status == MatchStatus.ENDED.value
        )
    )
    # A buddy who said no to this person is not asked about them again.
    declined = session.scalars(
        select(BuddyMatch.buddy_user_id).where(
            BuddyMatch.seeker_id == seeker_id,
            BuddyMatch.status == MatchStatus.DECLINED.value,
            BuddyMatch.ended_by_id == BuddyMatch.buddy_user_id,
        )
    )
    # A buddy they are still paired with (a pairing paused by a break, say) is not a new one.
    live = session.scalars(
        select(BuddyMatch.buddy_user_id).where(
            BuddyMatch.seeker_id == seeker_id, BuddyMatch.status.in_(LIVE_MATCH_STATUSES)
        )
    )
    return {*blocked, *blockers, *ended, *declined, *live, seeker_id}


def to_matching_buddy(profile: BuddyProfile, free_capacity: int) -> matching.BuddyProfile:
    """A profile row as the matching engine's BuddyProfile.

    Ids on both sides are user ids, so a seeker's excluded ids (which include themself) rule
    out people, whichever row they are on.
    """
    from marketplace.buddies import matching

    return matching.BuddyProfile(
        id=profile.user_id,
        council=profile.council.code,
        holds=profile.holds,
        experience=profile.experience_set,
        languages=profile.language_set,
        ways=profile.way_set,
        times=profile.time_set,
        capacity=free_capacity,
        point=profile.point,
        only_gender=profile.only_gender,
        gender=profile.gender,
        lived=profile.lived_for_matching,
    )


def to_matching_seeker(
    request: BuddyRequest, now: datetime, excluded_ids: Iterable[int]
) -> matching.Seeker:
    """A request row as the matching engine's Seeker (ids are user ids)."""
    from marketplace.buddies import matching

    waited = as_utc(now) - as_utc(request.created_at)
    return matching.Seeker(
        id=request.seeker_id,
        council=request.council.code,
        holds=request.holds or "",  # no budget yet: never "holds the same way"
        wants=request.want_set,
        languages=request.language_set,
        ways=request.way_set,
        times=request.time_set,
        point=request.point,
        only_gender=request.only_gender,
        gender=request.gender,
        waiting_days=max(waited.days, 0),
        excluded=frozenset(excluded_ids),
        lived=request.lived_for_matching,
    )


def buddies_with_places(session: Session) -> list[tuple[BuddyProfile, int]]:
    """Every confirmed buddy with at least one free place, and how many, in two queries."""
    taken: dict[int | None, int] = dict(
        session.execute(
            select(BuddyMatch.buddy_profile_id, func.count(BuddyMatch.id))
            .where(
                BuddyMatch.buddy_profile_id.is_not(None),
                BuddyMatch.status.in_(LIVE_MATCH_STATUSES),
            )
            .group_by(BuddyMatch.buddy_profile_id)
        ).all()
    )
    profiles = session.scalars(
        select(BuddyProfile)
        .where(BuddyProfile.status == ProfileStatus.CONFIRMED.value)
        .options(joinedload(BuddyProfile.council))
        .order_by(BuddyProfile.id)
    )
    found = []
    for profile in profiles:
        free = profile.capacity - taken.get(profile.id, 0)
        if free > 0:
            found.append((profile, free))
    return found


def candidates(session: Session, request: BuddyRequest) -> list[matching.BuddyProfile]:
    """Confirmed, unpaused buddies with a free place, other than the seeker and people excluded."""
    excluded = excluded_user_ids(session, request.seeker_id)
    return [
        to_matching_buddy(profile, free)
        for profile, free in buddies_with_places(session)
        if profile.user_id not in excluded
    ]


# --- pairings ---------------------------------------------------------------------------------


def _blocked_between(session: Session, a: int, b: int) -> bool:
    return (
        session.scalars(
            select(BuddyBlock.id).where(
                or_(
                    (BuddyBlock.blocker_id == a) & (BuddyBlock.blocked_id == b),
                    (BuddyBlock.blocker_id == b) & (BuddyBlock.blocked_id == a),
                )
            )
        ).first()
        is not None
    )


def propose(session: Session, request: BuddyRequest, profile: BuddyProfile) -> BuddyMatch:
    """Suggest this buddy to this seeker; the buddy then accepts or declines."""
    from marketplace.buddies import matching

    if request.status != RequestStatus.WAITING.value:
        raise DomainError("This person is not waiting for a buddy")
    if profile.status != ProfileStatus.CONFIRMED.value:
        raise DomainError("This buddy is not available at the moment")
    if profile.user_id in excluded_user_ids(session, request.seeker_id):
        raise DomainError("These two people cannot be paired")
    free = free_capacity(session, profile)
    if free <= 0:
        raise DomainError("This buddy has no free places")
    pending = session.scalars(
        select(BuddyMatch.id).where(
            BuddyMatch.request_id == request.id, BuddyMatch.status == MatchStatus.PROPOSED.value
        )
    ).first()
    if pending is not None:
        raise DomainError("A buddy has already been suggested for this request")
    now = utcnow()
    buddy = to_matching_buddy(profile, free)
    seeker = to_matching_seeker(request, now, excluded_user_ids(session, request.seeker_id))
    if not matching.feasible(seeker, buddy):
        raise DomainError("This buddy does not suit what this person asked for")
    match = BuddyMatch(
        request_id=request.id,
        buddy_profile_id=profile.id,
        seeker_id=request.seeker_id,
        buddy_user_id=profile.user_id,
        status=MatchStatus.PROPOSED.value,
        proposed_at=now,
    )
    session.add(match)
    session.flush()  # the buddy is told about the proposal by its id
    notices.asked(session, match)
    return match


def _require_party(user: User, match: BuddyMatch) -> None:
    if user.id not in (match.seeker_id, match.buddy_user_id):
        raise NotAllowed("Only the two people in this pairing can do this")


def _require_buddy(user: User, match: BuddyMatch) -> None:
    if user.id != match.buddy_user_id:
        raise NotAllowed("Only the buddy can answer a suggestion")


def accept(
    session: Session, buddy_user: User, match: BuddyMatch, acting_carer: User | None = None
) -> BuddyMatch:
    """The buddy agrees to the pairing; it becomes active."""
    _require_buddy(buddy_user, match)
    act_as(session, acting_carer, buddy_user.id, "Accepted a budget buddy pairing")
    if match.status != MatchStatus.PROPOSED.value:
        raise DomainError("This suggestion has already been answered")
    match.status = MatchStatus.ACTIVE.value
    match.accepted_at = utcnow()
    if match.request is not None:
        match.request.status = RequestStatus.MATCHED.value
    notices.accepted(session, match)
    return match


def decline(
    session: Session, buddy_user: User, match: BuddyMatch, acting_carer: User | None = None
) -> BuddyMatch:
    """The buddy says no; the seeker keeps waiting, with their place in the queue kept."""
    _require_buddy(buddy_user, match)
    act_as(session, acting_carer, buddy_user.id, "Declined a budget buddy pairing")
    if match.status != MatchStatus.PROPOSED.value:
        raise DomainError("This suggestion has already been answered")
    _finish(match, buddy_user.id, MatchStatus.DECLINED, None)
    if match.request is not None and match.request.status == RequestStatus.MATCHED.value:
        match.request.status = RequestStatus.WAITING.value  # created_at is left alone
    notices.declined(session, match)
    return match


def pause(
    session: Session,
    user: User,
    match: BuddyMatch,
    until: datetime | None = None,
    acting_carer: User | None = None,
    tell_other: bool = True,
) -> BuddyMatch:
    """Either person pauses an active pairing, no reason needed; `until` is a hint, not a rule.
    The other person is told (a break tells them in its own words: `tell_other=False`)."""
    _require_party(user, match)
    act_as(session, acting_carer, user.id, "Paused a budget buddy pairing")
    if match.status != MatchStatus.ACTIVE.value:
        raise DomainError("Only an active pairing can be paused")
    if until is not None and as_utc(until) <= utcnow():
        raise DomainError("Choose a date in the future", field="until")
    match.status = MatchStatus.PAUSED.value
    match.paused_until = until
    if tell_other:
        notices.paused(session, match, user)
    return match


# Whose break holds a paused pairing (a user id), if anyone's. Wellbeing, which sits above
# buddies, installs the rule from its init_app; without it no pause is held.
PauseHolder = Callable[[Session, BuddyMatch], int | None]
_pause_holders: list[PauseHolder] = []


def set_pause_holder(rule: PauseHolder) -> None:
    """Install the rule that says whose live break paused this pairing."""
    _pause_holders[:] = [rule]


def held_by_break(session: Session, match: BuddyMatch) -> int | None:
    """The person whose break paused this pairing, while that break lasts; None otherwise."""
    if match.status != MatchStatus.PAUSED.value:
        return None
    for rule in _pause_holders:
        holder = rule(session, match)
        if holder is not None:
            return holder
    return None


def may_resume(session: Session, user: User, match: BuddyMatch) -> bool:
    """Either person may pick up a paused pairing, except one that the other person's break
    paused: only they (coming back, or by hand) or the break's end lift that pause."""
    if match.status != MatchStatus.PAUSED.value:
        return False
    return held_by_break(session, match) in (None, user.id)


def resume(
    session: Session, user: User, match: BuddyMatch, acting_carer: User | None = None
) -> BuddyMatch:
    """Either person picks a paused pairing up again (not one the other's break paused)."""
    _require_party(user, match)
    act_as(session, acting_carer, user.id, "Resumed a budget buddy pairing")
    if match.status != MatchStatus.PAUSED.value:
        raise DomainError("This pairing is not paused")
    if not may_resume(session, user, match):
        raise NotAllowed("The pairing picks up again when the other person is back")
    match.status = MatchStatus.ACTIVE.value
    match.paused_until = None
    return match


def _finish(match: BuddyMatch, by_id: int | None, status: MatchStatus, reason: str | None) -> None:
    match.status = status.value
    match.ended_at = utcnow()
    match.ended_by_id = by_id
    match.end_reason = reason
    match.paused_until = None


# What happens when a buddy ends a pairing: the handover (buddies/handover.py, which builds on
# this module) installs itself from the package's init_app.
_when_ended_by_buddy: list[Callable[[Session, BuddyMatch], None]] = []


def on_ended_by_buddy(callback: Callable[[Session, BuddyMatch], None]) -> None:
    """Run callback(session, match) in the transaction in which a buddy ends a pairing."""
    if callback not in _when_ended_by_buddy:
        _when_ended_by_buddy.append(callback)


def _ended_by_buddy(session: Session, match: BuddyMatch) -> None:
    for callback in _when_ended_by_buddy:
        callback(session, match)


def end(
    session: Session,
    user: User,
    match: BuddyMatch,
    reason: str | None = None,
    acting_carer: User | None = None,
) -> BuddyMatch:
    """Either person ends a pairing at any time; the buddy's place is freed."""
    _require_party(user, match)
    act_as(session, acting_carer, user.id, "Ended a budget buddy pairing")
    if match.status not in LIVE_MATCH_STATUSES:
        raise DomainError("This pairing has already ended")
    was_proposed = match.status == MatchStatus.PROPOSED.value
    if was_proposed and user.id == match.buddy_user_id:
        raise DomainError("Say yes or no to the suggestion instead")
    _finish(match, user.id, MatchStatus.ENDED, (reason or "").strip() or None)
    if was_proposed and match.request is not None:
        match.request.status = RequestStatus.WAITING.value
    _close_gently(session, user, match, was_proposed)
    return match


def _close_gently(session: Session, user: User, match: BuddyMatch, was_proposed: bool) -> None:
    """The other person is told, kindly. A seeker whose buddy ended it is offered another
    buddy (the handover's own notice says both); anyone else gets the short ended notice."""
    if not was_proposed and user.id == match.buddy_user_id:
        _ended_by_buddy(session, match)
        if notices.handover_noted(session, match.id):
            return
    notices.ended(session, match, user, was_proposed)


def block(session: Session, user: User, other_user_id: int) -> BuddyBlock:
    """Never be paired with this person again; any live pairing between the two ends now."""
    if other_user_id == user.id:
        raise DomainError("You cannot block yourself")
    if session.get(User, other_user_id) is None:
        raise DomainError("That person does not exist")
    for match in session.scalars(
        select(BuddyMatch).where(
            BuddyMatch.status.in_(LIVE_MATCH_STATUSES),
            or_(
                (BuddyMatch.seeker_id == user.id) & (BuddyMatch.buddy_user_id == other_user_id),
                (BuddyMatch.seeker_id == other_user_id) & (BuddyMatch.buddy_user_id == user.id),
            ),
        )
    ):
        was_proposed = match.status == MatchStatus.PROPOSED.value
        if was_proposed and match.request is not None:
            match.request.status = RequestStatus.WAITING.value
        _finish(match, user.id, MatchStatus.ENDED, None)
        # Blocked by their buddy, a seeker keeps their place in the queue like any seeker
        # whose buddy ends the pairing; the notice says only that the pairing has ended.
        _close_gently(session, user, match, was_proposed)
    existing = session.scalars(
        select(BuddyBlock).where(
            BuddyBlock.blocker_id == user.id, BuddyBlock.blocked_id == other_user_id
        )
    ).first()
    if existing is not None:
        return existing
    blocked = BuddyBlock(blocker_id=user.id, blocked_id=other_user_id)
    session.add(blocked)
    return blocked


def matches_of(session: Session, user: User) -> list[BuddyMatch]:
    """Every pairing this person is in (as seeker or buddy), newest first, with both people
    (the hub names the other one) in the same query, without their roles."""
    return list(
        session.scalars(
            select(BuddyMatch)
            .where(or_(BuddyMatch.seeker_id == user.id, BuddyMatch.buddy_user_id == user.id))
            .order_by(BuddyMatch.proposed_at.desc(), BuddyMatch.id.desc())
            .options(
                joinedload(BuddyMatch.seeker).lazyload(User.roles),
                joinedload(BuddyMatch.buddy_user).lazyload(User.roles),
            )
        )
    )


# --- your data --------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _export(session: Session, user: User) -> dict[str, Any]:
    profile = profile_of(session, user.id)
    requests = session.scalars(
        select(BuddyRequest).where(BuddyRequest.seeker_id == user.id).order_by(BuddyRequest.id)
    )
    return {
        "buddy_offer": None
        if profile is None
        else {
            "council": profile.council.name,
            "months_holding": profile.months_holding,
            "holds": profile.holds,
            "experience": sorted(profile.experience_set),
            "used_for": sorted(profile.used_for_set),
            "languages": sorted(profile.language_set),
            "ways": sorted(profile.way_set),
            "times": sorted(profile.time_set),
            "capacity": profile.capacity,
            "only_gender": profile.only_gender,
            "gender": profile.gender,
            "lived_experience_topics": sorted(split(profile.lived_experience_topics)),
            "share_lived_experience": profile.share_lived_experience,
            "postcode": profile.postcode,
            "status": profile.status,
            "created_at": _iso(profile.created_at),
            "confirmed_at": _iso(profile.confirmed_at),
        },
        "buddy_requests": [
            {
                "council": r.council.name,
                "wants": sorted(r.want_set),
                "holds": r.holds,
                "languages": sorted(r.language_set),
                "ways": sorted(r.way_set),
                "times": sorted(r.time_set),
                "only_gender": r.only_gender,
                "gender": r.gender,
                "postcode": r.postcode,
                "lived_experience_topics": sorted(split(r.lived_experience_topics)),
                "share_lived_experience": r.share_lived_experience,
                "status": r.status,
                "created_at": _iso(r.created_at),
            }
            for r in requests
        ],
        "buddy_pairings": [
            {
                "you_were": "seeker" if m.seeker_id == user.id else "buddy",
                "with": (m.buddy_user if m.seeker_id == user.id else m.seeker).display_name,
                "status": m.status,
                "proposed_at": _iso(m.proposed_at),
                "accepted_at": _iso(m.accepted_at),
                "paused_until": _iso(m.paused_until),
                "ended_at": _iso(m.ended_at),
                # The private reason is theirs who wrote it (and the local ULO's), never the
                # other person's.
                "end_reason": m.end_reason if m.ended_by_id == user.id else None,
            }
            for m in matches_of(session, user)
        ],
        "buddy_messages_you_sent": [
            {"pairing": m.match_id, "sent_at": _iso(m.created_at), "text": m.body}
            for m in session.scalars(
                select(BuddyMessage)
                .where(BuddyMessage.sender_id == user.id)
                .order_by(BuddyMessage.id)
            )
        ],
        "buddy_feedback_you_gave": [
            {"given_at": _iso(f.created_at), "helpfulness": f.helpfulness}
            for f in session.scalars(
                select(BuddyFeedback)
                .where(BuddyFeedback.user_id == user.id)
                .order_by(BuddyFeedback.id)
            )
        ],
        "people_you_blocked": len(
            list(session.scalars(select(BuddyBlock.id).where(BuddyBlock.blocker_id == user.id)))
        ),
    }


def _erase(session: Session, user: User) -> None:
    """End live pairings ("account closed"), then delete the offer, requests, blocks made and
    messages written. A concern they reported stays with the ULO (a safeguarding record).

    Blocks made by others against this person stay, so the erased account is never proposed.
    """
    for match in session.scalars(
        select(BuddyMatch).where(
            BuddyMatch.status.in_(LIVE_MATCH_STATUSES),
            or_(BuddyMatch.seeker_id == user.id, BuddyMatch.buddy_user_id == user.id),
        )
    ):
        other_request = match.request if match.buddy_user_id == user.id else None
        if other_request is not None and other_request.status == RequestStatus.MATCHED.value:
            other_request.status = RequestStatus.WAITING.value  # their place in the queue is kept
        _finish(match, user.id, MatchStatus.ENDED, ACCOUNT_CLOSED)
    profile = profile_of(session, user.id)
    if profile is not None:
        moderation.withdraw(session, ITEM_BUDDY_OFFER, profile.id)
    session.flush()  # write the endings before the rows they point at go
    session.execute(delete(BuddyProfile).where(BuddyProfile.user_id == user.id))
    session.execute(delete(BuddyRequest).where(BuddyRequest.seeker_id == user.id))
    session.execute(delete(BuddyBlock).where(BuddyBlock.blocker_id == user.id))
    session.execute(delete(BuddyMessage).where(BuddyMessage.sender_id == user.id))
    # Answers stay in the area's totals, no longer linked to anyone.
    session.execute(
        update(BuddyFeedback).where(BuddyFeedback.user_id == user.id).values(user_id=None)
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, BuddyMatch):
            session.expire(obj)  # the database set their request and profile links to NULL
        elif isinstance(obj, BuddyMessage) and obj.sender_id == user.id:
            session.expunge(obj)  # deleted above; nothing may write it back


def register_privacy() -> None:
    """Add this package's part of "Your data": what it exports and what erasure removes."""
    privacy.register_exporter("budget_buddies", _export)
    privacy.register_eraser(_erase)


# --- who may see what -------------------------------------------------------------------------


def people_i_ask_for(session: Session, user: User) -> list[User]:
    """Holders who let this person look for a buddy for them (carer grant, "buddying" scope)."""
    return [
        g.holder
        for g in carers.grants_held(session, user)
        if g.allows(CarerScope.BUDDYING) and g.holder.erased_at is None
    ]


def get_request_for(session: Session, user: User, request_id: int) -> tuple[BuddyRequest, bool]:
    """A request this person may see: their own, or one of a holder they help with buddying.

    Returns the request and whether the person is acting as a carer. NotAllowed otherwise.
    """
    request = session.get(BuddyRequest, request_id)
    if request is None:
        raise NotAllowed("There is no such request")
    if request.seeker_id == user.id:
        return request, False
    carers.authorise(session, user, request.seeker_id, CarerScope.BUDDYING)
    return request, True


def requests_of(session: Session, seeker_id: int) -> list[BuddyRequest]:
    """This person's requests for a buddy, newest first."""
    return list(
        session.scalars(
            select(BuddyRequest)
            .where(BuddyRequest.seeker_id == seeker_id)
            .order_by(BuddyRequest.created_at.desc(), BuddyRequest.id.desc())
        )
    )
