"""Places offered from the waiting list: nobody is moved up without saying yes first.

When a place frees (a member leaves a gathering pool, a leaver's last paid month ends, a member
is removed for not paying, or someone offered a place says no or lets the offer end), the first
person waiting is *offered* it (MemberStatus.OFFERED) for `OFFER_DAYS` and emailed: what the
place is, the share they would pay at the size including them, the most they agreed to, and
the first month that would include them, charged on its date. They hold the place (capacity
counts members and offers, so a place is never offered twice) but they are not a member: they
are never held, charged or invoiced, do not vote and are not counted towards the minimum.

They confirm (and become a member) or say no (and leave the list; the place goes to the next
person) before the offer ends; an offer that ends unanswered is treated as a no by the
`pools.charge_due` job. In a funded or running pool someone who confirms pays from the first
month charged at least `schedule.NOTICE_DAYS` after they were told their share (`from_month`),
so a place offered is told at least 7 days before its first charge. Month one of a pool still
gathering is decided, as for everyone, when the vote closes.

Never commits; the routes and the job do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.db import as_utc
from marketplace.errors import DomainError
from marketplace.money import format_pence
from marketplace.pools import loans, notices, rises, schedule, shares
from marketplace.pools.models import (
    GATHERING,
    OFFER_DAYS,
    MemberStatus,
    Pool,
    PoolMember,
    PoolStatus,
    Quote,
)
from marketplace.web.template_globals import format_date, format_datetime

# Pools in which a freed place is offered on and an offer can be confirmed.
OFFERING = (*GATHERING, PoolStatus.FUNDED.value, PoolStatus.RUNNING.value)


@dataclass(frozen=True)
class Offer:
    """What a place offered to someone would mean for them."""

    month: int  # the first month they would pay for
    on: date | None  # the day it is charged (None while the pool is still gathering)
    pence: int | None  # their share at the size including them (None: not known yet)
    max_pence: int
    expires_at: datetime


def words(offer: Offer) -> str:
    """The offer in a sentence, for the pool page and the commitments page (true in
    `confirm`: nothing is held before the place is taken, and the date is `due_date`)."""
    most = format_pence(offer.max_pence)
    if offer.pence is not None and offer.on is not None:
        pay = (
            f"If you take it, your share is {format_pence(offer.pence)} a month (you said you "
            f"would pay at most {most}), from month {offer.month}, charged on "
            f"{format_date(offer.on)}."
        )
    else:
        pay = (
            "No quote has been chosen yet: if the pool goes ahead you pay your share from its "
            f"start date, never more than {most} a month."
        )
    over = ""
    if offer.pence is not None and offer.pence > offer.max_pence:
        over = (
            " That is more than the most you said you would pay: raise the most you will pay "
            "first, then take the place."
        )
    return (
        f"{pay}{over} Nothing is held or taken unless you take the place. Take it by "
        f"{format_datetime(offer.expires_at)} or it goes to the next person waiting."
    )


def places_held(pool: Pool) -> int:
    """Members and people offered a place: the places nobody else can be offered."""
    return len(pool.current_members) + len(pool.offered)


def free_places(pool: Pool) -> int:
    return max(pool.max_members - places_held(pool), 0)


def told_at(member: PoolMember) -> datetime | None:
    """When the offer was made (it lasts `OFFER_DAYS`)."""
    if member.offer_expires_at is None:
        return None
    return as_utc(member.offer_expires_at) - timedelta(days=OFFER_DAYS)


def _share_with(session: Session, pool: Pool, member: PoolMember, month: int) -> int | None:
    quote = session.get(Quote, pool.chosen_quote_id) if pool.chosen_quote_id else None
    if quote is None:
        return None
    found = shares.amounts(quote, [*shares.payers(pool, month), member])
    return found.get(member.user_id) if found is not None else None


def describe(session: Session, pool: Pool, member: PoolMember, since: datetime) -> Offer | None:
    """The offer to `member` made at `since`: its first month, date and share. None when no
    month is left that could be charged with `NOTICE_DAYS` of notice."""
    expires = as_utc(member.offer_expires_at or since + timedelta(days=OFFER_DAYS))
    if pool.status in GATHERING:
        return Offer(1, None, None, member.max_pence, expires)
    first = schedule.first_month_told_at(session, pool, since)
    if first is None:
        return None
    # Month one's shares were fixed when the vote closed: someone confirming later pays from
    # month two (month one is out of scope for the 7 days' notice, see schedule.py).
    first = max(first, 2)
    if first > pool.months:
        return None
    return Offer(
        first,
        schedule.due_date(session, pool, first),
        _share_with(session, pool, member, first),
        member.max_pence,
        expires,
    )


def offer_free_places(session: Session, pool: Pool, now: datetime) -> list[PoolMember]:
    """Offer each free place to the next person waiting, in order, and email them (after the
    commit). Returns who was offered a place. Safe to call again: a held place is not free."""
    if pool.status not in OFFERING:
        return []
    made = []
    for waiting in pool.waiting_list[: free_places(pool)]:
        offer = describe(session, pool, waiting, now)
        if offer is None:
            break  # no month left to pay for: nothing to offer
        waiting.status = MemberStatus.OFFERED.value
        waiting.offer_expires_at = offer.expires_at
        loans.hand_on(session, waiting)  # a place they were borrowing goes on without them
        if offer.pence and offer.month >= 2:
            # What they were told, as a rise would be: the first charge checks against it.
            rises.record_told(session, pool, waiting.user_id, offer.month, offer.pence, now)
        notices.place_offered(session, pool, waiting, words(offer))
        made.append(waiting)
    session.flush()
    return made


def remove_unpaid(
    session: Session, pool: Pool, members: list[PoolMember], now: datetime
) -> list[PoolMember]:
    """Members who could not pay in time lose their places (a card refused past its grace, or an
    invoice unpaid past its grace: one rule for both). A place one of them was borrowing goes on
    to its lender's next person, and the freed places are offered to the waiting list. Returns
    the people offered a place."""
    for member in members:
        member.status = MemberStatus.REMOVED.value
        member.left_at = now
        loans.hand_on(session, member)
    session.flush()
    return offer_free_places(session, pool, now)


def _offered(pool: Pool, member: PoolMember) -> None:
    if member.status != MemberStatus.OFFERED.value:
        raise DomainError("You have not been offered a place in this pool")
    if pool.status not in OFFERING:
        raise DomainError("This pool is no longer taking new members")


def confirm(session: Session, pool: Pool, member: PoolMember, now: datetime) -> Offer:
    """Say yes to an offered place: a member from the offer's first month (in a pool still
    gathering, simply a member). Refused when the offer has ended or the share would be more
    than the most they agreed to pay."""
    _offered(pool, member)
    expires = as_utc(member.offer_expires_at) if member.offer_expires_at else now
    if now >= expires:
        raise DomainError(f"This offer ended on {format_date(expires)}")
    since = told_at(member) or now
    offer = describe(session, pool, member, since)
    if offer is None:
        raise DomainError("The pool has no months left to pay for, so there is no place to take")
    if offer.pence is not None and offer.pence > member.max_pence:
        raise DomainError(
            f"Your share would be {format_pence(offer.pence)} a month, more than the most you "
            f"agreed to pay ({format_pence(member.max_pence)}). Raise the most you will pay, "
            "then confirm the place before the offer ends",
            field="max_pence",
        )
    member.status = MemberStatus.MEMBER.value
    member.offer_expires_at = None
    member.from_month = None if pool.status in GATHERING else offer.month
    session.flush()
    if pool.status == PoolStatus.RUNNING.value and schedule.is_due(
        schedule.notice_date(session, pool, offer.month), now
    ):
        # The month's payers changed: anyone whose share now rises is told at once, not at
        # the job's next run (a fall needs no notice).
        try:
            rises.check(session, pool, offer.month, now)
        except shares.NoShare:
            pass  # nothing to charge at this size: the job settles what that means
    return offer


def give_up(session: Session, pool: Pool, member: PoolMember, now: datetime) -> None:
    """The offer is turned down (or has ended): they leave the list and the place is offered
    to the next person waiting."""
    member.status = MemberStatus.LEFT.value
    member.left_at = now
    member.offer_expires_at = None
    session.flush()
    offer_free_places(session, pool, now)


def decline(session: Session, pool: Pool, member: PoolMember, now: datetime) -> None:
    """Say no to an offered place: free, at any time before it ends."""
    _offered(pool, member)
    give_up(session, pool, member, now)


def withdraw_all(session: Session, pool: Pool, now: datetime) -> int:
    """The pool ended (lapsed or cancelled) with places still on offer: each offer ends and
    the person leaves the list (the pool's own email has told them why). Returns how many."""
    open_offers = [m for m in pool.members if m.status == MemberStatus.OFFERED.value]
    for member in open_offers:
        member.status = MemberStatus.LEFT.value
        member.left_at = now
        member.offer_expires_at = None
    return len(open_offers)


def end_expired(session: Session, now: datetime) -> int:
    """The job: each offer past its end is a no (emailed: the place has gone to the next
    person, and they can join again), and the place is offered on. Returns how many ended;
    a second run finds none."""
    ended = session.scalars(
        select(PoolMember)
        .where(
            PoolMember.status == MemberStatus.OFFERED.value,
            PoolMember.offer_expires_at <= now,
        )
        .order_by(PoolMember.offer_expires_at, PoolMember.id)
    ).all()
    for member in ended:
        pool = member.pool
        if pool.status in OFFERING:
            notices.offer_ended(session, pool, member)
        give_up(session, pool, member, now)
    return len(ended)
