"""Pool rules: proposing, moderation, finding pools, joining, the waiting list, leaving, talking.

Joining is safe when many people join at once: the first statement of `join` and `leave` is an
UPDATE of the pool's `lock_version`, which takes the pool's row lock on PostgreSQL and the
database write lock on SQLite, so the count of members read next cannot change under us.
Capacity is therefore never exceeded, and people beyond it join the waiting list in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from marketplace.auth.models import User
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import limits
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, ModerationItem
from marketplace.money import format_pence
from marketplace.organisations import services as organisations
from marketplace.places.models import Council
from marketplace.pools import invoices, offers
from marketplace.pools.models import (
    GATHERING,
    MAX_CAP_PENCE,
    MAX_MEMBERS,
    MAX_MESSAGE,
    MAX_MONTHS,
    MemberStatus,
    PayBy,
    PaymentStatus,
    Pool,
    PoolMember,
    PoolMessage,
    PoolPayment,
    PoolStatus,
    Vote,
)
from marketplace.providers.models import Category, Listing

ITEM_POOL = "pool"
# A live place: a member, someone waiting, or someone offered a freed place.
IN_POOL = (MemberStatus.MEMBER.value, MemberStatus.WAITING.value, MemberStatus.OFFERED.value)
MAX_TITLE = 120
MAX_DESCRIPTION = 5000


@dataclass(frozen=True)
class PoolData:
    """A proposal, already parsed from the form (money in pence)."""

    title: str
    description: str
    council_id: int
    frequency: str
    min_members: int
    max_members: int
    cap_pence: int
    months: int
    deadline: date
    area: str | None = None  # a postcode district like "LS6"; None means online
    category_id: int | None = None
    listing_id: int | None = None


def act_as(session: Session, carer: User | None, holder_id: int, description: str) -> None:
    """When a carer acts for the holder, check their "pools" grant and record it first."""
    if carer is not None:
        carers.act_for(session, carer, holder_id, CarerScope.POOLS, description)


# --- proposing ----------------------------------------------------------------------------------


def _text(value: str, field: str, missing: str, limit: int, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(missing, field=field)
    if len(value) > limit:
        raise DomainError(f"{what} must be {limit:,} characters or fewer", field=field)
    return value


def _area(value: str | None) -> str | None:
    """A postcode district ("LS6", "M1", "EC1A"), upper-cased, or None for online."""
    value = (value or "").strip().upper()
    if not value:
        return None
    if not (2 <= len(value) <= 4 and value[0].isalpha() and value.isalnum()):
        raise DomainError(
            "Enter the first part of a postcode, like LS6, or leave it blank for online",
            field="area",
        )
    return value


def _validate(session: Session, data: PoolData, today: date) -> tuple[str, str, str, Council]:
    title = _text(data.title, "title", "Say what service the pool is for", MAX_TITLE, "The name")
    description = _text(
        data.description,
        "description",
        "Say what the service is and why you want it",
        MAX_DESCRIPTION,
        "The description",
    )
    frequency = _text(
        data.frequency, "frequency", "Say how often, like weekly, 2 hours", 120, "How often"
    )
    council = session.get(Council, data.council_id)
    if council is None:
        raise DomainError("Choose the council area", field="council_id")
    if data.min_members < 2:
        raise DomainError("A pool needs at least 2 members", field="min_members")
    if data.max_members > MAX_MEMBERS:
        raise DomainError(f"A pool can have at most {MAX_MEMBERS} members", field="max_members")
    if data.min_members > data.max_members:
        raise DomainError(
            "The most members must be the same as or more than the fewest", field="max_members"
        )
    if data.cap_pence <= 0:
        raise DomainError("Enter the most each member will pay a month", field="cap_pence")
    if data.cap_pence > MAX_CAP_PENCE:
        raise DomainError(
            f"The most each member pays must be {format_pence(MAX_CAP_PENCE)} a month or less",
            field="cap_pence",
        )
    if not 1 <= data.months <= MAX_MONTHS:
        raise DomainError(f"Choose between 1 and {MAX_MONTHS} months", field="months")
    if data.deadline <= today:
        raise DomainError("The deadline must be in the future", field="deadline")
    if data.category_id is not None and session.get(Category, data.category_id) is None:
        raise DomainError("Choose a kind of service from the list", field="category_id")
    if data.listing_id is not None:
        listing = session.get(Listing, data.listing_id)
        if listing is None or not listing.is_published:
            raise DomainError("That service is not in the directory", field="listing_id")
    return title, description, frequency, council


def propose(
    session: Session,
    proposer: User,
    data: PoolData,
    acting_carer: User | None = None,
    today: date | None = None,
) -> Pool:
    """Propose a pool; the ULO covering its council approves it before anyone can join."""
    act_as(session, acting_carer, proposer.id, "Proposed a pool")
    title, description, frequency, council = _validate(session, data, today or utcnow().date())
    pool = Pool(
        proposer_id=proposer.id,
        council_id=data.council_id,
        category_id=data.category_id,
        listing_id=data.listing_id,
        title=title,
        description=description,
        area=_area(data.area),
        frequency=frequency,
        min_members=data.min_members,
        max_members=data.max_members,
        cap_pence=data.cap_pence,
        months=data.months,
        deadline=data.deadline,
        status=PoolStatus.PENDING.value,
    )
    session.add(pool)
    session.flush()  # the queue entry names the pool
    moderation.submit(
        session, ITEM_POOL, pool.id, f"Pool: {title}", acting_carer or proposer, {council.code}
    )
    return pool


def _decide_pool(session: Session, item: ModerationItem, decision: Decision, reason: str) -> None:
    pool = session.get(Pool, item.item_id)
    if pool is None or pool.status != PoolStatus.PENDING.value:
        raise DomainError("This pool has been withdrawn or changed")
    if decision is Decision.APPROVE:
        pool.status = PoolStatus.OPEN.value
        pool.approved_at = utcnow()
    else:
        pool.status = PoolStatus.REJECTED.value
        pool.rejection_reason = reason


# --- finding and seeing pools -------------------------------------------------------------------


POOLS_PER_PAGE = 20


@dataclass(frozen=True)
class PoolPage:
    """One page of open pools, and how many pages there are."""

    pools: list[Pool]
    total: int
    page: int
    pages: int


def open_pools(
    session: Session,
    council_id: int | None = None,
    category_id: int | None = None,
    text: str | None = None,
) -> list[Pool]:
    """Pools people can join now, soonest deadline first (all of them)."""
    return list(session.scalars(_open_pools_query(council_id, category_id, text)))


def open_pools_page(
    session: Session,
    council_id: int | None = None,
    category_id: int | None = None,
    text: str | None = None,
    page: int = 1,
    per_page: int = POOLS_PER_PAGE,
) -> PoolPage:
    """One page of open pools, with members and council loaded for the list (one query each,
    not one per pool)."""
    query = _open_pools_query(council_id, category_id, text)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    pools = session.scalars(
        query.options(selectinload(Pool.members), joinedload(Pool.council))
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).unique()
    return PoolPage(list(pools), total, page, pages)


def _open_pools_query(
    council_id: int | None, category_id: int | None, text: str | None
) -> Select[Pool]:
    query = select(Pool).where(Pool.status.in_(GATHERING))
    if council_id:
        query = query.where(Pool.council_id == council_id)
    if category_id:
        query = query.where(Pool.category_id == category_id)
    if text and text.strip():
        like = f"%{text.strip()}%"
        query = query.where(or_(Pool.title.ilike(like), Pool.description.ilike(like)))
    return query.order_by(Pool.deadline, Pool.id)


def member_record(session: Session, pool: Pool, user_id: int) -> PoolMember | None:
    """This person's pledge to the pool, in whatever state."""
    return session.scalars(
        select(PoolMember).where(PoolMember.pool_id == pool.id, PoolMember.user_id == user_id)
    ).first()


def is_member(session: Session, pool: Pool, user_id: int) -> bool:
    """Whether this person has ever been part of the pool (members keep its history)."""
    return member_record(session, pool, user_id) is not None


def can_see(session: Session, user: User | None, pool: Pool) -> bool:
    """Open pools are public; anything else only to its people, its ULO and quoting providers."""
    if pool.status in GATHERING:
        return True
    if user is None:
        return False
    if user.id == pool.proposer_id or is_member(session, pool, user.id):
        return True
    # A carer with the "pools" grant reads the pools of the people they act for, as they do.
    helped = people_i_act_for(session, user)
    if any(h.id == pool.proposer_id or is_member(session, pool, h.id) for h in helped):
        return True
    areas = moderation.moderated_council_codes(session, user)
    if areas is None or pool.council.code in areas:
        return True  # the ULO looking after the area
    return any(organisations.is_staff(session, user, quote.organisation) for quote in pool.quotes)


def get_pool_for(session: Session, user: User | None, pool_id: int) -> Pool:
    """The pool, if this person may see it; NotAllowed otherwise (the view answers 404).

    Its council and members come in the same query: every pool page and action reads them."""
    pool = session.get(Pool, pool_id, options=[joinedload(Pool.council), joinedload(Pool.members)])
    if pool is None or not can_see(session, user, pool):
        raise NotAllowed("You cannot see this pool")
    return pool


def days_left(pool: Pool, today: date | None = None) -> int:
    """Whole days until the deadline (0 on the day itself)."""
    return max((pool.deadline - (today or utcnow().date())).days, 0)


# --- joining and leaving ------------------------------------------------------------------------


def terms_text(pool: Pool, max_pence: int, pay_by: str = PayBy.CARD.value) -> str:
    """The plain terms a member agrees to before joining: when, how often, how much at most."""
    months = f"{pool.months} month{'s' if pool.months != 1 else ''}"
    when = (
        f"nothing now; then once a month for up to {months}, on the chosen quote's start date "
        f"and the same day each month after, starting only if the pool reaches "
        f"{pool.min_members} members, a quote is chosen and every member's first share is "
        "secured"
    )
    if pay_by == PayBy.CARD.value:
        how = (
            f"You agree that Budget Marketplace may charge your card for {pool.title}: {when}. "
            "Your first share is held on your card (nothing taken) from a few days before the "
            "start date and taken on that date only if every share is secured; otherwise the "
            "hold is released"
        )
        how += "."
        most = f"Each charge will be no more than {format_pence(max_pence)}."
    else:
        how = (
            f"You agree that Budget Marketplace may send an invoice for {pool.title} to the "
            f"account holder you named: {when}."
        )
        most = f"Each invoice will be for no more than {format_pence(max_pence)}."
    return (
        f"{how} {most} You can leave at no cost until the pool is funded, and at the end of "
        "any month after that."
    )


def lock_pool(session: Session, pool: Pool) -> None:
    """Queue behind anyone else joining or leaving this pool (see the module docstring)."""
    session.execute(
        update(Pool).where(Pool.id == pool.id).values(lock_version=Pool.lock_version + 1)
    )
    session.refresh(pool)


def _places_held(session: Session, pool: Pool) -> int:
    """Members, and people offered a place who have not answered yet: a place offered is held
    for them, so nobody else joins into it."""
    return (
        session.scalar(
            select(func.count(PoolMember.id)).where(
                PoolMember.pool_id == pool.id,
                PoolMember.status.in_([MemberStatus.MEMBER.value, MemberStatus.OFFERED.value]),
            )
        )
        or 0
    )


@dataclass(frozen=True)
class Pledge:
    """What a member promises when they join."""

    max_pence: int
    pay_by: str
    invoice_to: str | None = None  # managed account / council: who the invoice goes to
    invoice_email: str | None = None  # where their invoices are sent
    invoice_reference: str | None = None  # the account holder's reference for this person
    payment_method_id: str | None = None  # card: the card saved through Stripe
    card_description: str | None = None


def _check_pledge(pool: Pool, pledge: Pledge) -> None:
    if pledge.max_pence <= 0:
        raise DomainError("Enter the most you will pay a month", field="max_pence")
    if pledge.max_pence > pool.cap_pence:
        raise DomainError(
            f"The most anyone pays in this pool is {format_pence(pool.cap_pence)} a month",
            field="max_pence",
        )
    if pledge.pay_by not in {p.value for p in PayBy}:
        raise DomainError("Choose how you will pay", field="pay_by")
    if pledge.pay_by == PayBy.CARD.value and not pledge.payment_method_id:
        raise DomainError("Add a card first", field="pay_by")
    if pledge.pay_by != PayBy.CARD.value and not (pledge.invoice_to or "").strip():
        raise DomainError(
            "Say who holds the account, so the invoice goes to the right place",
            field="invoice_to",
        )
    if pledge.pay_by != PayBy.CARD.value:
        invoice_email(pledge.invoice_email)
        invoices.clean_reference(pledge.invoice_reference, "invoice_reference", required=False)


def invoice_email(value: str | None) -> str:
    """The account holder's address for invoices, checked as an email address."""
    text = (value or "").strip()
    if not text:
        raise DomainError(
            "Enter the email address the account holder uses for invoices", field="invoice_email"
        )
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise DomainError(
            "Enter an email address in the correct format, like name@example.com",
            field="invoice_email",
        ) from None


def join(
    session: Session,
    user: User,
    pool: Pool,
    pledge: Pledge,
    acting_carer: User | None = None,
    now: datetime | None = None,
) -> PoolMember:
    """Join the pool, or its waiting list when it is full. Nothing is charged now."""
    act_as(session, acting_carer, user.id, f"Joined the pool {pool.title}")
    _check_pledge(pool, pledge)
    lock_pool(session, pool)
    if pool.status not in GATHERING:
        raise DomainError("This pool is no longer taking new members")
    existing = member_record(session, pool, user.id)
    if existing is not None and existing.status in IN_POOL:
        raise DomainError("You have already joined this pool")
    now = now or utcnow()
    full = _places_held(session, pool) >= pool.max_members
    member = existing or PoolMember(user_id=user.id)
    member.status = MemberStatus.WAITING.value if full else MemberStatus.MEMBER.value
    member.max_pence = pledge.max_pence
    member.pay_by = pledge.pay_by
    member.invoice_to = (pledge.invoice_to or "").strip() or None
    card = pledge.pay_by == PayBy.CARD.value
    member.invoice_email = None if card else invoice_email(pledge.invoice_email)
    member.invoice_reference = (
        None
        if card
        else invoices.clean_reference(pledge.invoice_reference, "invoice_reference", False)
    )
    member.payment_method_id = pledge.payment_method_id
    member.card_description = pledge.card_description
    member.terms = terms_text(pool, pledge.max_pence, pledge.pay_by)
    member.terms_agreed_at = now
    member.joined_at = now  # a rejoin goes to the back of the line
    member.left_at = None
    if existing is None:
        pool.members.append(member)
    session.flush()  # the waiting order is the id order within equal times
    return member


def _offer_free_places(session: Session, pool: Pool) -> list[PoolMember]:
    """Offer a freed place to the first person waiting (they confirm before they are in)."""
    return offers.offer_free_places(session, pool, utcnow())


def _hand_on(session: Session, member: PoolMember) -> None:
    """Someone stopped waiting: a place they were borrowing goes on without them."""
    from marketplace.pools import loans  # loans -> funding -> services

    loans.hand_on(session, member)


def leave(
    session: Session, user: User, pool: Pool, acting_carer: User | None = None
) -> PoolMember | None:
    """Leave at no cost before the pool is funded (the first person waiting takes the place),
    or leave the waiting list at any time.

    Returns the person offered the freed place from the waiting list, if any (offers.py: they
    confirm before they are a member). Once a pool is running, a member leaves at the end of
    the month already paid (see `funding.leave_running`).
    """
    act_as(session, acting_carer, user.id, f"Left the pool {pool.title}")
    lock_pool(session, pool)
    member = member_record(session, pool, user.id)
    if member is None or member.status not in (
        MemberStatus.MEMBER.value,
        MemberStatus.WAITING.value,
    ):
        raise DomainError("You are not in this pool")
    was_member = member.status == MemberStatus.MEMBER.value
    # Someone waiting pays nothing, so they may go at any time; a member of a funded pool
    # leaves at the end of a paid month instead.
    if was_member and pool.status not in GATHERING:
        raise DomainError("The pool has been funded: you can leave at the end of a paid month")
    member.status = MemberStatus.LEFT.value
    member.left_at = utcnow()
    if was_member:  # one member, one vote: someone who left no longer has one
        session.execute(delete(Vote).where(Vote.pool_id == pool.id, Vote.user_id == user.id))
    session.flush()
    if not was_member:
        _hand_on(session, member)
    offered = _offer_free_places(session, pool) if was_member else []
    return offered[0] if offered else None


def _offered_place(session: Session, pool: Pool, user: User) -> PoolMember:
    member = member_record(session, pool, user.id)
    if member is None or member.status != MemberStatus.OFFERED.value:
        raise DomainError("You have not been offered a place in this pool")
    return member


def accept_offer(
    session: Session,
    user: User,
    pool: Pool,
    acting_carer: User | None = None,
    now: datetime | None = None,
) -> PoolMember:
    """Take a place offered from the waiting list (offers.confirm says when they pay from)."""
    act_as(session, acting_carer, user.id, f"Took the place offered in the pool {pool.title}")
    lock_pool(session, pool)
    member = _offered_place(session, pool, user)
    offers.confirm(session, pool, member, now or utcnow())
    return member


def decline_offer(
    session: Session,
    user: User,
    pool: Pool,
    acting_carer: User | None = None,
    now: datetime | None = None,
) -> PoolMember:
    """Say no to a place offered from the waiting list: free; the next person is offered it."""
    act_as(session, acting_carer, user.id, f"Said no to the place offered in the pool {pool.title}")
    lock_pool(session, pool)
    member = _offered_place(session, pool, user)
    offers.decline(session, pool, member, now or utcnow())
    return member


# --- the discussion -----------------------------------------------------------------------------


def post_message(session: Session, author: User, pool: Pool, body: str) -> PoolMessage:
    """Add to the pool's discussion: its members (and people waiting), its proposer, and staff
    of providers who quoted. People who left can still read it, but not write."""
    record = member_record(session, pool, author.id)
    current = record is not None and record.status in (
        MemberStatus.MEMBER.value,
        MemberStatus.WAITING.value,
    )
    quoting = any(organisations.is_staff(session, author, q.organisation) for q in pool.quotes)
    if not (author.id == pool.proposer_id or current or quoting):
        raise NotAllowed("Join the pool to take part in its discussion")
    body = _text(body, "body", "Enter your message", MAX_MESSAGE, "Your message")
    limits.check_new_account_limit(session, author)
    message = PoolMessage(pool_id=pool.id, author_id=author.id, body=body)
    session.add(message)
    return message


# --- read-only helpers for the pages ------------------------------------------------------------


def people_i_act_for(session: Session, user: User) -> list[User]:
    """Holders who let this person act for them in pools (carer grant, "pools" scope)."""
    return carers.people_i_act_for(session, user, CarerScope.POOLS)


def payments_of(session: Session, pool: Pool, user_id: int) -> list[PoolPayment]:
    """One person's payment rows for this pool, month by month."""
    return list(
        session.scalars(
            select(PoolPayment)
            .where(PoolPayment.pool_id == pool.id, PoolPayment.user_id == user_id)
            .order_by(PoolPayment.month)
        )
    )


def invoices_waiting(session: Session, pool: Pool) -> list[PoolPayment]:
    """Invoiced payments of this pool that nobody has recorded as paid yet (and, before the
    pool runs, month-one invoices accepted as secured)."""
    return list(
        session.scalars(
            select(PoolPayment)
            .where(
                PoolPayment.pool_id == pool.id,
                PoolPayment.status.in_(
                    [PaymentStatus.INVOICED.value, PaymentStatus.ACCEPTED.value]
                ),
            )
            .order_by(PoolPayment.month, PoolPayment.id)
        )
    )


def waiting_place(pool: Pool, member: PoolMember) -> int | None:
    """This person's place on the waiting list (1 is next), or None if not waiting."""
    return next((i for i, m in enumerate(pool.waiting_list, start=1) if m.id == member.id), None)


def check_pledge(pool: Pool, pledge: Pledge) -> None:
    """The pledge rules `join` applies, for a form to check before asking for a card."""
    _check_pledge(pool, pledge)
