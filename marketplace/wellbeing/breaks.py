"""Take a break: pause every commitment at once, and restore exactly that on coming back.

A break records each thing it paused (BreakPaused), so coming back resumes only those: a
pairing or membership the person had paused themselves beforehand stays as they left it.
Others only ever see a neutral "taking a break" message, never a reason.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.buddies import handover, notices
from marketplace.buddies import services as buddies
from marketplace.buddies.models import (
    BuddyMatch,
    BuddyMessage,
    BuddyRequest,
    MatchStatus,
    ProfileStatus,
    RequestStatus,
)
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships import fee_pause
from marketplace.memberships import services as memberships
from marketplace.memberships.models import Basis, Membership, MembershipStatus
from marketplace.pools import loans
from marketplace.pools.models import MemberStatus, PoolMember, PoolStatus
from marketplace.privacy import services as privacy
from marketplace.wellbeing.crisis_plan_models import CrisisPlan
from marketplace.wellbeing.models import Break, BreakLength, BreakPaused, PausedKind

BreakCallback = Callable[[Session, Break], None]

_started: list[BreakCallback] = []
_ended: list[BreakCallback] = []

# A buddy away longer than this (or open-ended) leaves their seeker a warm handover.
HANDOVER_AFTER = timedelta(weeks=2)

LENGTH_LABELS = {
    BreakLength.WEEK: "A week",
    BreakLength.MONTH: "A month",
    BreakLength.OPEN: "Until I come back",
}

RUNNING_POOL = (PoolStatus.FUNDED.value, PoolStatus.RUNNING.value, PoolStatus.WINDING_DOWN.value)


def on_break_started(callback: BreakCallback) -> BreakCallback:
    """Register callback(session, brk), run inside the transaction that starts a break."""
    if callback not in _started:
        _started.append(callback)
    return callback


def on_break_ended(callback: BreakCallback) -> BreakCallback:
    """Register callback(session, brk), run inside the transaction that ends a break."""
    if callback not in _ended:
        _ended.append(callback)
    return callback


def current_break(session: Session, user_id: int, now: datetime | None = None) -> Break | None:
    """The person's live break, if any."""
    now = now or utcnow()
    rows = session.scalars(
        select(Break).where(Break.user_id == user_id, Break.ended_at.is_(None))
    ).all()
    return next((brk for brk in rows if brk.live_at(now)), None)


def live_break_exists(now: datetime | None = None) -> ColumnElement[bool]:
    """SQL: the `users` row of the query has a live break (Break.live_at, in SQL)."""
    now = now or utcnow()
    return exists().where(
        Break.user_id == User.id,
        Break.ended_at.is_(None),
        Break.starts_at <= now,
        or_(Break.ends_at.is_(None), Break.ends_at > now),
    )


def is_on_break(session: Session, user_id: int, now: datetime | None = None) -> bool:
    """True while the person is on a break."""
    return current_break(session, user_id, now) is not None


def is_holding_emails(session: Session, user_id: int, now: datetime | None = None) -> bool:
    """True while the person is on a break that keeps emails back (unless their crisis plan
    asked for emails to keep coming)."""
    brk = current_break(session, user_id, now)
    return brk is not None and brk.hold_emails


def pause_held_by(session: Session, match: BuddyMatch, now: datetime | None = None) -> int | None:
    """Whose live break paused this pairing, if anyone's: only they (or the break's end) may
    lift that pause (buddies asks, through the rule wellbeing installs)."""
    now = as_utc(now or utcnow())
    holding = session.scalars(
        select(Break)
        .join(BreakPaused, BreakPaused.break_id == Break.id)
        .where(
            BreakPaused.kind == PausedKind.MATCH.value,
            BreakPaused.ref_id == match.id,
            Break.ended_at.is_(None),
        )
    ).all()
    return next((brk.user_id for brk in holding if brk.live_at(now)), None)


def hold_buddy_request(session: Session, request: Any) -> bool:
    """Hold a seeker's buddy request while they are on a break, to go back in the queue when
    they return (buddies' handover asks, through the hook wellbeing installs)."""
    brk = current_break(session, request.seeker_id)
    if brk is None:
        return False
    brk.paused.append(BreakPaused(kind=PausedKind.BUDDY_REQUEST.value, ref_id=request.id))
    return True


def send_kept_emails(session: Session, brk: Break) -> None:
    """Coming back: what was kept goes out in one email, after the return commits (a job, so
    a mail outage does not lose it)."""
    from marketplace.jobs.services import enqueue

    enqueue(session, "notifications.send_digest", {"user_id": brk.user_id, "after_break": True})


def neutral_message(user: User) -> str:
    """All the other side of a pairing is told: no reason, nothing about health."""
    return f"{user.display_name} is taking a break and will be back in touch."


# --- planning -----------------------------------------------------------------------------------


def _add_month(when: datetime) -> datetime:
    month = when.month % 12 + 1
    year = when.year + (when.month == 12)
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def length_of(value: str) -> BreakLength:
    try:
        return BreakLength(value)
    except ValueError:
        raise DomainError("Choose how long your break will be", field="length") from None


def ends_at_for(length: BreakLength, now: datetime) -> datetime | None:
    """When a break of this length, starting now, ends by itself (None: when they come back)."""
    if length is BreakLength.WEEK:
        return now + timedelta(weeks=1)
    if length is BreakLength.MONTH:
        return _add_month(now)
    return None


def _months_text(start: date, end: date | None) -> str:
    first = start.strftime("%B %Y")
    if end is None:
        return f"from {first} until you come back"
    last = end.strftime("%B %Y")
    return first if first == last else f"{first} to {last}"


@dataclass(frozen=True)
class PlanItem:
    """One commitment and, in plain words, what the break does to it."""

    heading: str
    outcome: str


@dataclass(frozen=True)
class BreakPlan:
    """What WILL happen if the person confirms; nothing has changed yet."""

    length: BreakLength
    starts_at: datetime
    ends_at: datetime | None
    items: list[PlanItem] = field(default_factory=list)

    @property
    def length_label(self) -> str:
        return LENGTH_LABELS[self.length]


@dataclass(frozen=True)
class Wishes:
    """What the person's crisis plan asks a break to pause (everything, without a plan)."""

    pause_buddies: bool = True
    pause_emails: bool = True


AS_PLANNED = "Kept, as your crisis plan says."


def wishes_of(session: Session, user_id: int) -> Wishes:
    """The pause choices in the person's crisis plan, written when they were well."""
    plan = session.scalars(select(CrisisPlan).where(CrisisPlan.user_id == user_id)).first()
    if plan is None:
        return Wishes()
    return Wishes(pause_buddies=plan.pause_buddies, pause_emails=plan.pause_emails)


@dataclass
class _Commitments:
    matches: list[BuddyMatch]
    profile_confirmed: bool
    profile_paused: bool
    request: BuddyRequest | None
    memberships: list[Membership]
    pool_places: list[PoolMember]


def _commitments(session: Session, user: User) -> _Commitments:
    profile = buddies.profile_of(session, user.id)
    matches = session.scalars(
        select(BuddyMatch)
        .where(
            or_(BuddyMatch.seeker_id == user.id, BuddyMatch.buddy_user_id == user.id),
            BuddyMatch.status.in_((MatchStatus.ACTIVE.value, MatchStatus.PAUSED.value)),
        )
        .order_by(BuddyMatch.id)
    ).all()
    places = session.scalars(
        select(PoolMember)
        .where(
            PoolMember.user_id == user.id,
            PoolMember.status.in_((MemberStatus.MEMBER.value, MemberStatus.WAITING.value)),
        )
        .order_by(PoolMember.id)
    ).all()
    return _Commitments(
        matches=list(matches),
        profile_confirmed=profile is not None and profile.status == ProfileStatus.CONFIRMED.value,
        profile_paused=profile is not None and profile.status == ProfileStatus.PAUSED.value,
        request=buddies.waiting_request_of(session, user.id),
        memberships=[m for m in memberships.memberships_of(session, user) if m.is_live],
        pool_places=list(places),
    )


def _match_items(user: User, found: _Commitments, wishes: Wishes) -> list[PlanItem]:
    items = []
    for match in found.matches:
        other = match.buddy_user if match.seeker_id == user.id else match.seeker
        heading = f"Budget buddy pairing with {other.display_name}"
        if not wishes.pause_buddies:
            outcome = f"{AS_PLANNED} You and {other.display_name} can keep talking as usual."
        elif match.status == MatchStatus.ACTIVE.value:
            outcome = (
                f"Paused. {other.display_name} will see only: “{neutral_message(user)}” "
                "It starts again when you come back."
            )
        else:
            outcome = "Already paused by one of you. It stays paused when you come back."
        items.append(PlanItem(heading, outcome))
    if found.profile_confirmed or found.profile_paused:
        if found.profile_paused:
            outcome = "Already paused. It stays paused when you come back."
        elif wishes.pause_buddies:
            outcome = "Nobody new is suggested to you while you are away."
        else:
            outcome = f"{AS_PLANNED} New people may still be suggested to you."
        items.append(PlanItem("Your offer to be a budget buddy", outcome))
    if found.request is not None:
        items.append(
            PlanItem(
                "Your request for a budget buddy",
                "No new buddies are suggested while you are away. You keep your place in the queue."
                if wishes.pause_buddies
                else f"{AS_PLANNED} You stay in the queue and may be offered a buddy.",
            )
        )
    return items


def _fee_outcome(session: Session, membership: Membership, months: str) -> str:
    if fee_pause.can_pause_fee(session, membership):
        return (
            f"Paused: {membership.organisation.name} takes no fee for {months}. "
            "It starts again when you come back."
        )
    still_owed = membership.status != MembershipStatus.ACTIVE.value
    if fee_pause.ulo_pauses_fee(session, membership) and still_owed:
        return "Kept. A payment that is already due is still due."
    return "Kept. Your membership fee is still taken each month."


def _membership_items(session: Session, found: _Commitments, months: str) -> list[PlanItem]:
    items = []
    for membership in found.memberships:
        heading = f"Membership of {membership.organisation.name}"
        if membership.basis == Basis.RECIPROCITY.value:
            if membership.status == MembershipStatus.ACTIVE.value:
                outcome = (
                    f"Paused: no hours of time are expected for {months}, "
                    "and no month counts as short."
                )
            else:
                outcome = "Already paused. It stays paused when you come back."
        else:
            outcome = _fee_outcome(session, membership, months)
        items.append(PlanItem(heading, outcome))
    return items


def can_lend(place: PoolMember) -> bool:
    """A running pool's member whose place could go to the waiting list while they are away."""
    return (
        place.status == MemberStatus.MEMBER.value
        and place.pool.status == PoolStatus.RUNNING.value
        and bool(place.pool.waiting_list)
    )


def _pool_items(found: _Commitments, lend_places: bool) -> list[PlanItem]:
    items = []
    for place in found.pool_places:
        heading = f"Your place in the pool “{place.pool.title}”"
        if place.status == MemberStatus.WAITING.value:
            outcome = "Kept. You stay in the same place on the waiting list."
        elif lend_places and can_lend(place):
            outcome = (
                "Offered to the first person on the waiting list for the months that start "
                "while you are away: they pay the share and you pay nothing for those months. "
                "You keep your place, and have it back from the first month after you return."
            )
        elif place.pool.status in RUNNING_POOL:
            outcome = (
                "Kept. Your share for each month is still due, because the service "
                "carries on for the others."
            )
        else:
            outcome = "Kept. Nothing changes."
        items.append(PlanItem(heading, outcome))
    return items


def places_to_lend(session: Session, user: User) -> list[PoolMember]:
    """The places this person could offer to a waiting list while on a break."""
    return [place for place in _commitments(session, user).pool_places if can_lend(place)]


def plan(
    session: Session,
    user: User,
    length: str,
    now: datetime | None = None,
    lend_places: bool = False,
) -> BreakPlan:
    """What a break of this length would do to each commitment; changes nothing."""
    chosen = length_of(length)
    now = now or utcnow()
    ends_at = ends_at_for(chosen, now)
    found = _commitments(session, user)
    wishes = wishes_of(session, user.id)
    months = _months_text(now.date(), ends_at.date() if ends_at else None)
    emails = (
        "Only emails about money that is due. Everything else waits."
        if wishes.pause_emails
        else f"{AS_PLANNED} Emails come as usual."
    )
    items = [
        *_match_items(user, found, wishes),
        *_membership_items(session, found, months),
        *_pool_items(found, lend_places),
        PlanItem("Emails", emails),
        *(item for more in _plan_items for item in more(session, user, now, ends_at)),
    ]
    return BreakPlan(chosen, now, ends_at, items)


PlanItems = Callable[[Session, User, datetime, datetime | None], list[PlanItem]]
_plan_items: list[PlanItems] = []


def add_plan_items(more: PlanItems) -> PlanItems:
    """Register more(session, user, starts_at, ends_at): lines for the check page about what a
    break started then will do (the crisis plan's, which sits above this module)."""
    if more not in _plan_items:
        _plan_items.append(more)
    return more


# --- starting and ending ------------------------------------------------------------------------


def _check_carer(session: Session, user: User, carer: User | None, description: str) -> None:
    if carer is not None:
        carers.act_for(session, carer, user.id, CarerScope.WELLBEING, description)


def people_i_act_for(session: Session, carer: User) -> list[User]:
    """The people whose breaks this carer may start and end."""
    return [
        grant.holder
        for grant in carers.grants_held(session, carer)
        if grant.allows(CarerScope.WELLBEING) and grant.holder.erased_at is None
    ]


def holder_for(session: Session, carer: User, holder_id: int) -> User:
    """The person a carer is acting for; NotAllowed without the wellbeing grant."""
    carers.authorise(session, carer, holder_id, CarerScope.WELLBEING)
    holder = session.get(User, holder_id)
    if holder is None or holder.erased_at is not None:
        raise NotAllowed("This person's account has been closed")
    return holder


def _pause_match(session: Session, user: User, brk: Break, match: BuddyMatch) -> None:
    # The pause's own end date lets the pairing pick up even if the break's job runs late.
    buddies.pause(session, user, match, until=brk.ends_at, tell_other=False)
    # A notice from the site, not a message the person wrote (nobody can report it).
    session.add(
        BuddyMessage(match=match, sender_id=user.id, body=neutral_message(user), is_notice=True)
    )
    brk.paused.append(BreakPaused(kind=PausedKind.MATCH.value, ref_id=match.id))
    long_break = brk.ends_at is None or brk.ends_at - brk.starts_at > HANDOVER_AFTER
    if long_break and match.buddy_user_id == user.id:
        handover.offer_handover(session, match)
    if not notices.handover_noted(session, match.id):
        # The other person hears only the neutral message (the handover's own email says it
        # in other words when their buddy is away for long).
        notices.paused(session, match, user, lead=break_notice(user))


def break_notice(user: User) -> str:
    """What the other side of a paused pairing is emailed: even less than the neutral message
    (an email may be read by others at home, so not even the word "break"), and what happens
    now (true in code: the pause holds until the break ends, see pause_held_by)."""
    return (
        f"{user.display_name} has paused your budget buddy pairing for now, and will be back "
        "in touch. It picks up again by itself when they are back. Messages wait until then, "
        "and you do not need to do anything."
    )


def _pause_buddying(session: Session, user: User, brk: Break, found: _Commitments) -> None:
    for match in found.matches:
        if match.status == MatchStatus.ACTIVE.value:
            _pause_match(session, user, brk, match)
    if found.profile_confirmed:
        profile = buddies.pause_offer(session, user)
        brk.paused.append(BreakPaused(kind=PausedKind.BUDDY_PROFILE.value, ref_id=profile.id))
    if found.request is not None:
        # Out of the queue for matching rounds while away; created_at (the place in the
        # queue) is never touched, so coming back puts them where they were.
        found.request.status = RequestStatus.WITHDRAWN.value
        brk.paused.append(BreakPaused(kind=PausedKind.BUDDY_REQUEST.value, ref_id=found.request.id))


def _pause_everything(
    session: Session,
    user: User,
    brk: Break,
    wishes: Wishes,
    now: datetime,
    fees_paused: Collection[int],
) -> None:
    found = _commitments(session, user)
    if wishes.pause_buddies:
        _pause_buddying(session, user, brk, found)
    for membership in found.memberships:
        if (
            membership.basis == Basis.RECIPROCITY.value
            and membership.status == MembershipStatus.ACTIVE.value
        ):
            until = brk.ends_at.date() if brk.ends_at else None
            memberships.pause(session, user, membership, until=until, now=now)
            brk.paused.append(BreakPaused(kind=PausedKind.MEMBERSHIP.value, ref_id=membership.id))
    if brk.offer_pool_places:
        for place in found.pool_places:
            if can_lend(place):
                loans.lend_place(session, place, brk.ends_at)
    for membership in found.memberships:
        subscription = fee_pause.fee_to_pause(session, membership)
        if subscription is None:
            continue
        if subscription.id not in fees_paused:
            # The page promised this fee is paused: never start the break without it.
            raise RuntimeError("Stripe must pause the fee first: use wellbeing.break_steps")
        fee_pause.mark_paused(subscription, now)
        brk.paused.append(BreakPaused(kind=PausedKind.FEE.value, ref_id=membership.id))


def check_start(
    session: Session, user: User, length: str, acting_carer: User | None, now: datetime
) -> None:
    """Whether this break may start now (reads only), before Stripe is told of any fee."""
    length_of(length)
    if acting_carer is not None:
        carers.authorise(session, acting_carer, user.id, CarerScope.WELLBEING)
    for current in session.scalars(
        select(Break).where(Break.user_id == user.id, Break.ended_at.is_(None))
    ).all():
        if current.live_at(now):
            raise DomainError("You are already taking a break", field="length")


@dataclass(frozen=True)
class FeeToPause:
    subscription_id: int
    stripe_id: str


def fees_to_pause(session: Session, user: User) -> list[FeeToPause]:
    """The fees a break starting now would pause (their ULO allows it; paid up)."""
    found = []
    for membership in memberships.memberships_of(session, user):
        if not membership.is_live:
            continue
        subscription = fee_pause.fee_to_pause(session, membership)
        if subscription is not None:
            found.append(FeeToPause(subscription.id, subscription.stripe_subscription_id))
    return found


def start_break(
    session: Session,
    user: User,
    length: str,
    offer_pool_places: bool = False,
    acting_carer: User | None = None,
    now: datetime | None = None,
    fees_paused: Collection[int] = (),
) -> Break:
    """Start a break now: pause what can be paused, keep every place (writes only). A fee the
    break pauses must already be paused at Stripe, its subscription id in `fees_paused`:
    wellbeing/break_steps.py `start` does that first, with no transaction open."""
    chosen = length_of(length)
    now = now or utcnow()
    _check_carer(session, user, acting_carer, "Started a break for you")
    for stale in session.scalars(
        select(Break).where(Break.user_id == user.id, Break.ended_at.is_(None))
    ).all():
        if stale.live_at(now):
            raise DomainError("You are already taking a break", field="length")
        _finish(session, stale, None, now)  # a timed break the job has not ended yet
    wishes = wishes_of(session, user.id)
    brk = Break(
        user_id=user.id,
        length=chosen.value,
        starts_at=now,
        ends_at=ends_at_for(chosen, now),
        started_by_id=acting_carer.id if acting_carer else None,
        offer_pool_places=offer_pool_places,
        hold_emails=wishes.pause_emails,
    )
    session.add(brk)
    _pause_everything(session, user, brk, wishes, now, fees_paused)
    session.flush()
    for callback in _started:
        callback(session, brk)
    return brk


def _resume(session: Session, user: User, item: BreakPaused, now: datetime) -> None:
    # Each check: the other person (or a job) may already have resumed it, or ended it.
    if item.kind == PausedKind.MATCH.value:
        match = session.get(BuddyMatch, item.ref_id)
        if match is not None and match.status == MatchStatus.PAUSED.value:
            buddies.resume(session, user, match)
    elif item.kind == PausedKind.MEMBERSHIP.value:
        membership = session.get(Membership, item.ref_id)
        if membership is not None and membership.status == MembershipStatus.PAUSED.value:
            memberships.resume(session, user, membership, now=now)
    elif item.kind == PausedKind.FEE.value:
        membership = session.get(Membership, item.ref_id)
        if membership is not None:
            # After the commit, and never blocking coming back (the hourly job retries).
            fee_pause.resume_later(session, membership)
    elif item.kind == PausedKind.BUDDY_PROFILE.value:
        profile = buddies.profile_of(session, user.id)
        if profile is not None and profile.status == ProfileStatus.PAUSED.value:
            buddies.resume_offer(session, user)
    elif item.kind == PausedKind.BUDDY_REQUEST.value:
        request = session.get(BuddyRequest, item.ref_id)
        if (
            request is not None
            and request.status == RequestStatus.WITHDRAWN.value
            and buddies.waiting_request_of(session, user.id) is None
        ):
            request.status = RequestStatus.WAITING.value


def _finish(session: Session, brk: Break, by: User | None, now: datetime) -> None:
    user = brk.user
    for item in brk.paused:
        _resume(session, user, item, now)
    loans.end_loans_of(session, user.id, now)
    brk.ended_at = now
    brk.ended_by_id = by.id if by else None
    session.flush()
    for callback in _ended:
        callback(session, brk)


def end_break(
    session: Session, user: User, acting_carer: User | None = None, now: datetime | None = None
) -> Break:
    """Come back: resume exactly what the break paused. One transaction."""
    now = now or utcnow()
    _check_carer(session, user, acting_carer, "Ended your break for you")
    brk = session.scalars(
        select(Break)
        .where(Break.user_id == user.id, Break.ended_at.is_(None))
        .order_by(Break.id.desc())
    ).first()
    if brk is None:
        raise DomainError("You are not taking a break")
    _finish(session, brk, acting_carer or user, now)
    return brk


def end_due_breaks(session: Session, now: datetime | None = None) -> int:
    """Job: timed breaks whose end has come are over; everything they paused starts again."""
    now = now or utcnow()
    due = session.scalars(
        select(Break)
        .where(Break.ended_at.is_(None), Break.ends_at.is_not(None), Break.ends_at <= now)
        .order_by(Break.id)
    ).all()
    for brk in due:
        _finish(session, brk, None, now)
    fee_pause.resume_fees_left_paused(session, lambda user_id: is_on_break(session, user_id, now))
    return len(due)


def breaks_of(session: Session, user: User) -> list[Break]:
    """Every break this person has taken, newest first."""
    return list(
        session.scalars(
            select(Break).where(Break.user_id == user.id).order_by(Break.starts_at.desc())
        )
    )


# --- your data ----------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value else None


def _export(session: Session, user: User) -> list[dict[str, Any]]:
    return [
        {
            "length": brk.length,
            "starts_at": _iso(brk.starts_at),
            "ends_at": _iso(brk.ends_at),
            "ended_at": _iso(brk.ended_at),
            "started_by_a_carer": brk.started_by_id is not None,
            "paused": [{"kind": p.kind, "id": p.ref_id} for p in brk.paused],
        }
        for brk in breaks_of(session, user)
    ]


def _erase(session: Session, user: User) -> None:
    for brk in breaks_of(session, user):
        session.delete(brk)
    for brk in session.scalars(
        select(Break).where(or_(Break.started_by_id == user.id, Break.ended_by_id == user.id))
    ):
        if brk.started_by_id == user.id:
            brk.started_by_id = None
        if brk.ended_by_id == user.id:
            brk.ended_by_id = None


def register_privacy() -> None:
    """Add this package's part of "Your data": what it exports and what erasure removes."""
    privacy.register_exporter("breaks", _export)
    privacy.register_eraser(_erase)
