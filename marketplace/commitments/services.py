"""Your commitments: everything a person has agreed to, in one list, with what is due next.

Read-only. Every amount and date comes from the rule that owns it: a pool's next payment from
`pools.schedule.next_due` (the one dating rule) and `pools.shares.member_share`; a membership's
fee from its Stripe subscription as Stripe last told us, its hours from
`memberships.reciprocity.standing`; what a break paused from the break's own record. Nothing
private of other people is read out: another person appears by display name only.

The sentences are built here, so the page and the tests read the same words. They say "you":
a carer looking for someone sees the page headed with that person's name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from marketplace.auth.models import User
from marketplace.buddies import services as buddies
from marketplace.buddies.models import (
    BuddyMatch,
    MatchStatus,
    ProfileStatus,
    RequestStatus,
)
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import as_utc, utcnow
from marketplace.memberships import help_requests, reciprocity
from marketplace.memberships import services as memberships
from marketplace.memberships.charts import hours_text
from marketplace.memberships.common import month_end
from marketplace.memberships.models import (
    Basis,
    HelpOffer,
    HelpRequest,
    HelpRequestStatus,
    Membership,
    MembershipStatus,
    OfferStatus,
    Standing,
)
from marketplace.money import format_pence
from marketplace.organisations.models import Organisation
from marketplace.pools import offers, schedule, shares
from marketplace.pools import services as pools
from marketplace.pools.models import (
    GATHERING,
    MemberStatus,
    PaymentStatus,
    Pool,
    PoolMember,
    PoolPayment,
    PoolStatus,
)
from marketplace.web.template_globals import format_date
from marketplace.wellbeing import breaks
from marketplace.wellbeing.models import Break, PausedKind

# What a carer needs to see this page: the grant to "see my account and what I have joined".
SCOPE = CarerScope.VIEW
PROPOSER = "proposer"  # a pool the person proposed but is not a member of
NOTHING_DUE = "Nothing is due."
POOL_ENDED = frozenset(
    {
        PoolStatus.REJECTED.value,
        PoolStatus.CLOSED.value,
        PoolStatus.LAPSED.value,
        PoolStatus.CANCELLED.value,
    }
)
LEFT_OR_REMOVED = (MemberStatus.LEFT.value, MemberStatus.REMOVED.value)
TO_PUT_RIGHT = (PaymentStatus.FAILED.value, PaymentStatus.ACTION_NEEDED.value)
# What has become of a month's payment that is no longer to come.
PAYMENT_DONE_WORDS = {
    PaymentStatus.PENDING.value: "is being taken",
    PaymentStatus.PAID.value: "is paid",
    PaymentStatus.INVOICED.value: "is invoiced",
    PaymentStatus.ACCEPTED.value: "is invoiced and accepted: due once the pool goes ahead",
    PaymentStatus.HELD.value: "is held on your card, not taken yet",
    PaymentStatus.RELEASED.value: "was released: nothing was taken",
    PaymentStatus.REFUNDED.value: "was refunded",
    PaymentStatus.CANCELLED.value: "was cancelled",
}


# --- what the page lists ------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolCommitment:
    """A pool the person is in, waiting for, left, or proposed, and what they owe it next."""

    pool_id: int
    title: str
    pool_status: str  # a PoolStatus value (the page's words are pools' own)
    place: str  # a MemberStatus value, or PROPOSER
    place_words: str
    due: schedule.Due | None  # `schedule.next_due`, when the pool is charging
    due_words: str
    attention: str | None  # a payment to put right, in words
    fix_month: int | None  # the month whose payment the person can put right
    break_words: str | None
    ended: bool
    can_open: bool  # whoever is looking may open the pool's page
    # A place offered from the waiting list (pools.offers.words), and whether whoever is
    # looking may take it or say no (the person, or a carer with the "pools" grant).
    offer_words: str | None = None
    can_answer: bool = False


@dataclass(frozen=True)
class BuddyCommitment:
    """A pairing (as seeker or buddy), a request waiting for a buddy, or an offer to be one."""

    kind: str  # "pairing", "request" or "offer"
    ref_id: int
    heading: str
    status: str
    status_words: str
    break_words: str | None
    ended: bool
    can_open: bool


@dataclass(frozen=True)
class MembershipCommitment:
    """A membership of a ULO, on a fee or on time given back, and what is due next."""

    membership_id: int
    organisation_id: int
    organisation_name: str
    status: str  # a MembershipStatus value
    basis: str
    basis_words: str
    due_words: str
    break_words: str | None
    ended: bool
    can_open: bool


@dataclass(frozen=True)
class HelpCommitment:
    """Help the person asked a ULO's members for, or offered to give."""

    request_id: int
    organisation_name: str
    asked: bool  # True: they asked; False: they offered to help
    what: str | None  # their own words when they asked; never someone else's
    kind: str  # a GivingKind value
    needed_on: date
    status: str  # a HelpRequestStatus (asked) or OfferStatus (offered) value
    ended: bool
    can_open: bool


@dataclass(frozen=True)
class BreakNote:
    ends_at: datetime | None
    words: str


@dataclass(frozen=True)
class Commitments:
    person_id: int
    person_name: str
    on_break: BreakNote | None
    pools: list[PoolCommitment] = field(default_factory=list)
    buddies: list[BuddyCommitment] = field(default_factory=list)
    memberships: list[MembershipCommitment] = field(default_factory=list)
    help: list[HelpCommitment] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.pools or self.buddies or self.memberships or self.help)


# --- who may look -------------------------------------------------------------------------------


def people_i_can_see(session: Session, carer: User) -> list[User]:
    """Holders who let this person see what they have joined (a live "view" grant)."""
    return carers.people_i_act_for(session, carer, SCOPE)


def record_look(session: Session, carer: User, holder: User) -> None:
    """A carer looked at the holder's commitments: checked against the grant, and recorded as
    "by <carer> for <holder>" like every carer action (NotAllowed without the grant)."""
    carers.act_for(session, carer, holder.id, SCOPE, "Looked at your commitments")


class _Viewer:
    """Whether whoever is looking may open each item's own page (those pages decide the same)."""

    def __init__(self, session: Session, person: User, viewer: User) -> None:
        self.session = session
        self.person = person
        self.viewer = viewer
        self._scopes: dict[CarerScope, bool] = {}

    @property
    def is_person(self) -> bool:
        return self.viewer.id == self.person.id

    def acts_in(self, scope: CarerScope) -> bool:
        if self.is_person:
            return True
        if scope not in self._scopes:
            helped = carers.people_i_act_for(self.session, self.viewer, scope)
            self._scopes[scope] = any(h.id == self.person.id for h in helped)
        return self._scopes[scope]


# --- breaks -------------------------------------------------------------------------------------


def _break_note(brk: Break | None) -> BreakNote | None:
    if brk is None:
        return None
    until = f"until {format_date(brk.ends_at)}" if brk.ends_at else "until you come back"
    return BreakNote(
        brk.ends_at,
        f"You are taking a break {until}. What the break paused is marked below; "
        "it starts again when you come back.",
    )


def _paused_by(brk: Break | None, kind: PausedKind) -> set[int]:
    if brk is None:
        return set()
    return {item.ref_id for item in brk.paused if item.kind == kind.value}


# --- pools --------------------------------------------------------------------------------------


def _place_words(pool: Pool, member: PoolMember | None) -> str:
    if member is None:
        return "You proposed this pool. You have not joined it."
    if member.status == MemberStatus.MEMBER.value:
        if member.leave_after_month is not None:
            return f"You are a member until the end of month {member.leave_after_month}."
        return "You are a member."
    if member.status == MemberStatus.WAITING.value:
        return f"You are number {pools.waiting_place(pool, member)} on the waiting list."
    if member.status == MemberStatus.OFFERED.value:
        return "A place has been offered to you from the waiting list."
    if member.status == MemberStatus.REMOVED.value:
        return "Your place ended because a payment was not put right in time."
    left = f" on {format_date(member.left_at)}" if member.left_at else ""
    return f"You left{left}."


def _problem(rows: Iterable[PoolPayment]) -> PoolPayment | None:
    return next((row for row in rows if row.status in TO_PUT_RIGHT), None)


def _attention(row: PoolPayment | None) -> str | None:
    if row is None:
        return None
    default = (
        "Your bank wants you to confirm the payment"
        if row.status == PaymentStatus.ACTION_NEEDED.value
        else "The payment did not go through"
    )
    what = (row.message or default).rstrip(".")
    deadline = f" by {format_date(row.due_by)}" if row.due_by else ""
    return (
        f"Month {row.month} ({format_pence(row.amount_pence)}): {what}. "
        f"Please put it right{deadline}, or your place goes to the next person waiting."
    )


def _lent(pool: Pool, member: PoolMember, month: int) -> bool:
    return any(loan.lender_id == member.id and loan.covers(month) for loan in pool.loans)


def _charging_words(
    session: Session, pool: Pool, member: PoolMember, rows: dict[int, PoolPayment]
) -> tuple[schedule.Due | None, str]:
    due = schedule.next_due(session, pool, member)
    if due is None:
        return None, f"{NOTHING_DUE} Every month of the pool has been collected."
    row = rows.get(due.month)
    if row is not None and row.status in PAYMENT_DONE_WORDS:
        return due, (
            f"Month {due.month} ({format_pence(row.amount_pence)}) "
            f"{PAYMENT_DONE_WORDS[row.status]}. Nothing else is due yet."
        )
    if row is not None:  # refused, or the bank asks the member to confirm
        return due, f"Month {due.month} ({format_pence(row.amount_pence)}) needs putting right."
    when = f"month {due.month} of {pool.months}, on {format_date(due.on)}"
    if due.pence is None:
        return due, f"The share for {when} is not known yet."
    if due.pence > 0:
        return due, f"{format_pence(due.pence)} for {when}."
    if member.status == MemberStatus.WAITING.value:
        return due, f"{NOTHING_DUE} You pay nothing while you are on the waiting list."
    if _lent(pool, member, due.month):
        return due, (
            f"Nothing for {when}: your place is lent to someone on the waiting list "
            "while you are away."
        )
    if member.leave_after_month is not None and member.leave_after_month < due.month:
        return due, f"{NOTHING_DUE} You leave at the end of month {member.leave_after_month}."
    return due, f"Nothing for {when}."


def _gathering_words(member: PoolMember) -> str:
    if member.status == MemberStatus.WAITING.value:
        return f"{NOTHING_DUE} You pay nothing while you are on the waiting list."
    return (
        f"{NOTHING_DUE} You pay only if the pool goes ahead, from the start date of the quote "
        f"the members choose, and never more than {format_pence(member.max_pence)} a month."
    )


def _pool_words(
    session: Session, pool: Pool, member: PoolMember | None, rows: dict[int, PoolPayment]
) -> tuple[schedule.Due | None, str]:
    if member is not None and member.status in LEFT_OR_REMOVED:
        return None, NOTHING_DUE
    if pool.status in POOL_ENDED:
        return None, f"{NOTHING_DUE} The pool has ended."
    if pool.status == PoolStatus.PENDING.value:
        return None, f"{NOTHING_DUE} The local user-led organisation is checking the pool."
    if member is None:
        return None, f"{NOTHING_DUE} You are not a member." if pool.status not in GATHERING else (
            f"{NOTHING_DUE} You pay nothing unless you join."
        )
    if member.status == MemberStatus.OFFERED.value:
        return None, f"{NOTHING_DUE} You pay nothing unless you take the place offered."
    if pool.status in GATHERING:
        return None, _gathering_words(member)
    if pool.status == PoolStatus.WINDING_DOWN.value:
        return None, f"{NOTHING_DUE} The pool ends after the last month already paid."
    return _charging_words(session, pool, member, rows)


def _pool_break_words(pool: Pool, member: PoolMember | None, brk: Break | None) -> str | None:
    if brk is None or member is None:
        return None
    if member.status == MemberStatus.WAITING.value:
        return "Kept while you are away: you stay in the same place on the waiting list."
    if member.status != MemberStatus.MEMBER.value or pool.status not in schedule.CHARGING:
        return None
    if _lent(pool, member, shares.next_month(pool)):
        return (
            "Your place is lent to someone on the waiting list while you are away: they pay "
            "the share for those months. You have it back after you return."
        )
    return "Kept while you are away. Your share is still due, because the service carries on."


def _offer_words(session: Session, pool: Pool, member: PoolMember | None) -> str | None:
    if member is None or member.status != MemberStatus.OFFERED.value:
        return None
    if pool.status not in offers.OFFERING:
        return None
    offer = offers.describe(session, pool, member, offers.told_at(member) or utcnow())
    return offers.words(offer) if offer is not None else None


def _payments_by_pool(session: Session, user_id: int) -> dict[int, dict[int, PoolPayment]]:
    found: dict[int, dict[int, PoolPayment]] = {}
    for row in session.scalars(select(PoolPayment).where(PoolPayment.user_id == user_id)):
        found.setdefault(row.pool_id, {})[row.month] = row
    return found


def _pool_commitments(
    session: Session, person: User, looking: _Viewer, brk: Break | None
) -> list[PoolCommitment]:
    places = session.scalars(
        select(PoolMember)
        .where(PoolMember.user_id == person.id)
        .options(joinedload(PoolMember.pool))
        .order_by(PoolMember.id.desc())
    ).all()
    joined = {place.pool_id for place in places}
    proposed = session.scalars(
        select(Pool).where(Pool.proposer_id == person.id).order_by(Pool.id.desc())
    ).all()
    pairs: list[tuple[Pool, PoolMember | None]] = [(p.pool, p) for p in places]
    pairs += [(pool, None) for pool in proposed if pool.id not in joined]
    payments = _payments_by_pool(session, person.id)
    found = []
    for pool, member in pairs:
        rows = payments.get(pool.id, {})
        due, words = _pool_words(session, pool, member, rows)
        problem = _problem(rows.values()) if member is not None else None
        found.append(
            PoolCommitment(
                pool_id=pool.id,
                title=pool.title,
                pool_status=pool.status,
                place=member.status if member is not None else PROPOSER,
                place_words=_place_words(pool, member),
                due=due,
                due_words=words,
                attention=_attention(problem),
                fix_month=problem.month if problem is not None and looking.is_person else None,
                break_words=_pool_break_words(pool, member, brk),
                ended=pool.status in POOL_ENDED
                or (member is not None and member.status in LEFT_OR_REMOVED),
                can_open=pools.can_see(session, looking.viewer, pool),
                offer_words=_offer_words(session, pool, member),
                can_answer=looking.acts_in(CarerScope.POOLS),
            )
        )
    return sorted(found, key=lambda c: c.ended)  # stable: newest first within each


# --- buddies ------------------------------------------------------------------------------------


def _pairing_words(match: BuddyMatch, person: User, other: User) -> str:
    name = other.display_name
    if match.status == MatchStatus.PROPOSED.value:
        if match.buddy_user_id == person.id:
            return f"{name} asked you to be their buddy. They are waiting for your answer."
        return f"You asked {name} to be your buddy. Waiting for their answer."
    if match.status == MatchStatus.ACTIVE.value:
        since = f" since {format_date(match.accepted_at)}" if match.accepted_at else ""
        return f"Active{since}."
    if match.status == MatchStatus.PAUSED.value:
        until = f" until {format_date(match.paused_until)}" if match.paused_until else ""
        return f"Paused{until}."
    if match.status == MatchStatus.DECLINED.value:
        return "Not this time."
    ended = f" on {format_date(match.ended_at)}" if match.ended_at else ""
    return f"Ended{ended}."


def _buddy_commitments(
    session: Session, person: User, looking: _Viewer, brk: Break | None
) -> list[BuddyCommitment]:
    paused = _paused_by(brk, PausedKind.MATCH)
    found = []
    for match in buddies.matches_of(session, person):
        as_buddy = match.buddy_user_id == person.id
        other = match.seeker if as_buddy else match.buddy_user
        heading = (
            f"You are {other.display_name}'s buddy"
            if as_buddy
            else f"{other.display_name} is your buddy"
        )
        found.append(
            BuddyCommitment(
                kind="pairing",
                ref_id=match.id,
                heading=heading,
                status=match.status,
                status_words=_pairing_words(match, person, other),
                break_words=(
                    "Paused for your break. It starts again when you come back."
                    if match.id in paused and match.status == MatchStatus.PAUSED.value
                    else None
                ),
                ended=not match.is_live,
                # The conversation is the two people's alone: a carer never opens it.
                can_open=looking.is_person,
            )
        )
    request = buddies.waiting_request_of(session, person.id)
    if request is not None and request.status == RequestStatus.WAITING.value:
        # A break keeps a waiting request aside unless the crisis plan asked otherwise.
        held = brk is not None and breaks.wishes_of(session, person.id).pause_buddies
        found.append(
            BuddyCommitment(
                kind="request",
                ref_id=request.id,
                heading="Your request for a budget buddy",
                status=request.status,
                status_words=f"Waiting for a buddy since {format_date(request.created_at)}.",
                break_words=(
                    "No new buddies are suggested while you are away. "
                    "You keep your place in the queue."
                    if held
                    else None
                ),
                ended=False,
                can_open=looking.acts_in(CarerScope.BUDDYING),
            )
        )
    profile = buddies.profile_of(session, person.id)
    live_offer = (
        ProfileStatus.PENDING.value,
        ProfileStatus.CONFIRMED.value,
        ProfileStatus.PAUSED.value,
    )
    if profile is not None and profile.status in live_offer:
        places = f"up to {profile.capacity} {'person' if profile.capacity == 1 else 'people'}"
        words = {
            ProfileStatus.PENDING.value: "Waiting for the local user-led organisation to check it.",
            ProfileStatus.CONFIRMED.value: f"Confirmed: you can be a buddy to {places} at once.",
            ProfileStatus.PAUSED.value: "Paused: nobody new is suggested to you.",
        }[profile.status]
        found.append(
            BuddyCommitment(
                kind="offer",
                ref_id=profile.id,
                heading="Your offer to be a budget buddy",
                status=profile.status,
                status_words=words,
                break_words=(
                    "Nobody new is suggested to you while you are away."
                    if profile.id in _paused_by(brk, PausedKind.BUDDY_PROFILE)
                    else None
                ),
                ended=False,
                can_open=looking.is_person,
            )
        )
    return sorted(found, key=lambda c: c.ended)


# --- memberships --------------------------------------------------------------------------------


def _fee_words(membership: Membership) -> tuple[str, str]:
    subscription = memberships.current_subscription(membership)
    fee = format_pence(subscription.fee_pence) if subscription else None
    basis = f"A fee of {fee} a month" if fee else "A monthly fee"
    period_end = subscription.current_period_end if subscription else None
    if membership.status == MembershipStatus.PAYMENT_DUE.value:
        by = f" by {format_date(membership.payment_due_by)}" if membership.payment_due_by else ""
        return basis, (
            "Your last payment did not go through. It is tried again automatically; if it is "
            f"not paid{by}, the membership lapses."
        )
    if membership.status == MembershipStatus.LAPSED.value:
        return basis, (
            f"{NOTHING_DUE} The membership lapsed because the fee was not paid within 14 days. "
            "If the payment goes through later, you are a member again."
        )
    if membership.leaving:
        until = f" until {format_date(period_end)}" if period_end else ""
        return basis, f"Nothing more is taken. You stay a member{until}."
    if subscription is not None and subscription.collection_paused_at is not None:
        return basis, "No fee is taken while you are taking a break."
    if fee and period_end:
        return basis, f"{fee} on {format_date(period_end)}."
    return basis, f"{fee} each month." if fee else "The fee each month."


def _time_words(session: Session, membership: Membership, today: date) -> tuple[str, str]:
    basis = f"Giving {hours_text(membership.commitment_minutes)} of time a month"
    if membership.status == MembershipStatus.PAUSED.value:
        return basis, f"{NOTHING_DUE} Paused: no hours are asked of you until you resume."
    month = reciprocity.standing(session, membership, today)
    confirmed = hours_text(month.confirmed_minutes)
    if month.standing == Standing.NOT_APPLICABLE:
        return basis, f"{NOTHING_DUE} Hours are asked from {format_date(membership.basis_from)}."
    if month.standing == Standing.PAUSED:
        return basis, f"{NOTHING_DUE} No hours are asked this month: it was paused."
    if month.standing == Standing.GOOD:
        return basis, f"This month's hours are done: {confirmed} confirmed."
    return basis, (
        f"{hours_text(month.commitment_minutes)} by {format_date(month_end(today))}: "
        f"{confirmed} confirmed so far."
    )


def _membership_commitments(
    session: Session, person: User, looking: _Viewer, brk: Break | None, today: date
) -> list[MembershipCommitment]:
    paused = _paused_by(brk, PausedKind.MEMBERSHIP)
    fee_paused = _paused_by(brk, PausedKind.FEE)
    found = []
    for membership in memberships.memberships_of(session, person):
        if not membership.is_live:
            basis = "A monthly fee" if membership.basis == Basis.FEE.value else "Giving time back"
            ended = f" on {format_date(membership.ended_at)}" if membership.ended_at else ""
            basis_words, due_words = basis, f"{NOTHING_DUE} The membership ended{ended}."
        elif membership.basis == Basis.FEE.value:
            basis_words, due_words = _fee_words(membership)
        else:
            basis_words, due_words = _time_words(session, membership, today)
        if membership.is_live and membership.pending_basis:
            to = "paying a fee" if membership.pending_basis == Basis.FEE.value else "giving time"
            due_words += f" You switch to {to} from {format_date(membership.pending_from)}."
        break_words = None
        if membership.id in paused:
            break_words = "Paused for your break: no hours are expected, and no month is short."
        elif membership.id in fee_paused:
            break_words = "No fee is taken while you are away. It starts again when you come back."
        found.append(
            MembershipCommitment(
                membership_id=membership.id,
                organisation_id=membership.organisation_id,
                organisation_name=membership.organisation.name,
                status=membership.status,
                basis=membership.basis,
                basis_words=basis_words,
                due_words=due_words,
                break_words=break_words,
                ended=not membership.is_live,
                can_open=looking.acts_in(CarerScope.MEMBERSHIPS),
            )
        )
    return sorted(found, key=lambda c: c.ended)


# --- help requests ------------------------------------------------------------------------------


def _help_commitments(session: Session, person: User, looking: _Viewer) -> list[HelpCommitment]:
    done = (HelpRequestStatus.DONE.value, HelpRequestStatus.CANCELLED.value)
    found = [
        HelpCommitment(
            request_id=asked.id,
            organisation_name=_organisation_name(session, asked),
            asked=True,
            what=asked.what,
            kind=asked.kind,
            needed_on=asked.needed_on,
            status=asked.status,
            ended=asked.status in done,
            can_open=looking.acts_in(CarerScope.MEMBERSHIPS),
        )
        for asked in help_requests.requests_of(session, person)
    ]
    offers = session.scalars(
        select(HelpOffer)
        .join(HelpRequest, HelpOffer.help_request_id == HelpRequest.id)
        .where(
            HelpOffer.user_id == person.id,
            or_(
                HelpOffer.status == OfferStatus.OFFERED.value,
                HelpOffer.status == OfferStatus.ACCEPTED.value,
            ),
        )
        .options(joinedload(HelpOffer.help_request))
        .order_by(HelpRequest.needed_on, HelpOffer.id)
    ).all()
    for offer in offers:
        wanted = offer.help_request
        found.append(
            HelpCommitment(
                request_id=wanted.id,
                organisation_name=_organisation_name(session, wanted),
                asked=False,
                what=None,  # the other person's words stay on the request's own page
                kind=wanted.kind,
                needed_on=wanted.needed_on,
                status=offer.status,
                ended=wanted.status in done,
                can_open=looking.is_person,
            )
        )
    return sorted(found, key=lambda c: c.ended)


def _organisation_name(session: Session, wanted: HelpRequest) -> str:
    org = session.get(Organisation, wanted.organisation_id)
    return org.name if org is not None else "A user-led organisation"


# --- the page -----------------------------------------------------------------------------------


def commitments_of(
    session: Session,
    person: User,
    viewer: User | None = None,
    now: datetime | None = None,
) -> Commitments:
    """Everything `person` has agreed to, as `viewer` (the person, or a carer whose access the
    view has checked) may see it. Changes nothing."""
    now = as_utc(now or utcnow())
    looking = _Viewer(session, person, viewer or person)
    brk = breaks.current_break(session, person.id, now)
    return Commitments(
        person_id=person.id,
        person_name=person.display_name,
        on_break=_break_note(brk),
        pools=_pool_commitments(session, person, looking, brk),
        buddies=_buddy_commitments(session, person, looking, brk),
        memberships=_membership_commitments(session, person, looking, brk, now.date()),
        help=_help_commitments(session, person, looking),
    )
