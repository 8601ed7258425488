"""Quotes from providers, and the members' vote that chooses one.

A quote gives each member's monthly share at every group size the pool allows, so members see
what they would actually pay. A quote can only win if the share at the pool's size on the day
the vote closes fits every member's stated maximum.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.jobs.services import enqueue
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, ModerationItem
from marketplace.money import format_pence
from marketplace.organisations import services as organisations
from marketplace.organisations.models import Organisation, OrganisationKind
from marketplace.pools import shares
from marketplace.pools.models import (
    GATHERING,
    MemberStatus,
    Pool,
    PoolMember,
    PoolStatus,
    Quote,
    QuotePrice,
    QuoteStatus,
    Vote,
)

MAX_TERMS = 5000
# Quotes come from providers a moderator has already approved, and pools have deadlines, so a
# quote is shown at once and checked in the queue afterwards, rather than waiting for a moderator.
ITEM_QUOTE = "quote"
# The job that collects a pool's first month once its vote chose a quote (see pools/jobs.py).
FUND_JOB = "pools.fund"


def even_split(total_pence: int, smallest: int, largest: int) -> dict[int, int]:
    """The most any member pays of a group price at every size (rounded up to the penny).
    What each one pays adds up to the total exactly: see `shares.split`, and give the total
    as `QuoteData.total_pence` too."""
    return {n: -(-total_pence // n) for n in range(smallest, largest + 1)}


@dataclass(frozen=True)
class QuoteData:
    start_date: date
    prices: Mapping[int, int]  # group size -> the most any member pays a month, in pence
    terms: str = ""
    # One group price a month for every size (what the quote form asks): shares then add up
    # to it exactly. None: `prices` are per member, and the group pays prices[n] x n.
    total_pence: int | None = None


def _check_provider(session: Session, user: User, org: Organisation, pool: Pool) -> None:
    if org.kind != OrganisationKind.PROVIDER.value or not organisations.is_staff(
        session, user, org
    ):
        raise NotAllowed("Only staff of an approved provider can quote")
    if pool.council not in org.councils:
        raise DomainError(
            f"{org.name} does not work in {pool.council.name}, where this pool is",
            field="organisation",
        )


def pools_to_quote(session: Session, org: Organisation) -> list[Pool]:
    """Pools gathering in the council areas this provider covers."""
    council_ids = [c.id for c in org.councils]
    if not council_ids:
        return []
    return list(
        session.scalars(
            select(Pool)
            .where(Pool.status.in_(GATHERING), Pool.council_id.in_(council_ids))
            .order_by(Pool.deadline, Pool.id)
        )
    )


def submit_quote(
    session: Session,
    user: User,
    org: Organisation,
    pool: Pool,
    data: QuoteData,
    today: date | None = None,
) -> Quote:
    """Quote for a pool (replacing this provider's earlier quote, if any)."""
    _check_provider(session, user, org, pool)
    if pool.status != PoolStatus.OPEN.value:
        raise DomainError("This pool is not taking quotes now")
    if data.start_date <= (today or utcnow().date()):
        raise DomainError("The start date must be in the future", field="start_date")
    sizes = range(pool.min_members, pool.max_members + 1)
    missing = [n for n in sizes if n not in data.prices]
    if missing:
        raise DomainError(f"Give each member's share for a group of {missing[0]}", field="prices")
    if any(data.prices[n] <= 0 for n in sizes):
        raise DomainError("Every share must be more than nothing", field="prices")
    if min(data.prices[n] for n in sizes) > pool.cap_pence:
        raise DomainError(
            "At every group size each member's share is more than the most anyone in this pool "
            f"will pay ({format_pence(pool.cap_pence)} a month)",
            field="prices",
        )
    terms = (data.terms or "").strip()
    if len(terms) > MAX_TERMS:
        raise DomainError(f"Keep the terms to {MAX_TERMS:,} characters", field="terms")
    for earlier in pool.quotes:
        if earlier.organisation_id == org.id and earlier.status == QuoteStatus.SUBMITTED.value:
            earlier.status = QuoteStatus.WITHDRAWN.value
            moderation.withdraw(session, ITEM_QUOTE, earlier.id)
    quote = Quote(
        organisation_id=org.id,
        created_by_id=user.id,
        start_date=data.start_date,
        terms=terms,
        status=QuoteStatus.SUBMITTED.value,
        prices=[
            QuotePrice(
                members=n,
                per_member_pence=(
                    data.prices[n] if data.total_pence is None else -(-data.total_pence // n)
                ),
                total_pence=data.total_pence,
            )
            for n in sizes
        ],
    )
    pool.quotes.append(quote)
    session.flush()  # the pool page links to it
    moderation.submit(
        session,
        ITEM_QUOTE,
        quote.id,
        f"Quote from {org.name} for the pool {pool.title}",
        user,
        {pool.council.code},
    )
    return quote


def _decide_quote(session: Session, item: ModerationItem, decision: Decision, reason: str) -> None:
    """Checked after it is shown (see ITEM_QUOTE): taking it off the pool frees the votes cast
    for it, so those members can choose again."""
    quote = session.get(Quote, item.item_id)
    if quote is None:
        raise DomainError("This quote no longer exists")
    if decision is Decision.APPROVE:
        return
    if quote.status != QuoteStatus.SUBMITTED.value:
        raise DomainError(
            "This quote has been replaced, or the vote on it has closed. If something is wrong "
            "with the pool now, report the pool"
        )
    quote.status = QuoteStatus.WITHDRAWN.value
    session.execute(delete(Vote).where(Vote.quote_id == quote.id))


def withdrawal_reason(session: Session, quote: Quote) -> str | None:
    """Why a moderator took this quote off its pool, if one did."""
    return session.scalar(
        select(ModerationItem.reason)
        .where(
            ModerationItem.item_type == ITEM_QUOTE,
            ModerationItem.item_id == quote.id,
            ModerationItem.decision == Decision.REJECT.value,
        )
        .limit(1)
    )


def live_quotes(pool: Pool) -> list[Quote]:
    """Quotes members can vote for."""
    return [q for q in pool.quotes if q.status == QuoteStatus.SUBMITTED.value]


def _may_run_vote(session: Session, user: User, pool: Pool) -> bool:
    if user.id == pool.proposer_id:
        return True
    areas = moderation.moderated_council_codes(session, user)
    return areas is None or pool.council.code in areas


def open_vote(session: Session, user: User, pool: Pool, closes_at: datetime) -> None:
    """Start the vote (the proposer or the area's ULO staff), once enough people have joined."""
    if not _may_run_vote(session, user, pool):
        raise NotAllowed("Only the person who proposed the pool or ULO staff can do this")
    if pool.status != PoolStatus.OPEN.value:
        raise DomainError("The pool is not open")
    if not live_quotes(pool):
        raise DomainError("There are no quotes to vote on yet")
    if len(pool.current_members) < pool.min_members:
        raise DomainError(f"The pool needs {pool.min_members} members before a vote")
    if as_utc(closes_at) <= utcnow():
        raise DomainError("The vote must close in the future", field="closes_at")
    pool.status = PoolStatus.VOTING.value
    pool.vote_closes_at = closes_at


def vote(session: Session, user: User, pool: Pool, quote: Quote) -> Vote:
    """One member, one vote, by the deadline."""
    member = session.scalars(
        select(PoolMember).where(
            PoolMember.pool_id == pool.id,
            PoolMember.user_id == user.id,
            PoolMember.status == MemberStatus.MEMBER.value,
        )
    ).first()
    if member is None:
        raise NotAllowed("Only members can vote")
    if pool.status != PoolStatus.VOTING.value:
        raise DomainError("Voting is not open")
    if pool.vote_closes_at is not None and as_utc(pool.vote_closes_at) <= utcnow():
        raise DomainError("Voting has closed")
    if quote.pool_id != pool.id or quote.status != QuoteStatus.SUBMITTED.value:
        raise DomainError("Choose one of the quotes", field="quote")
    already = session.scalars(
        select(Vote.id).where(Vote.pool_id == pool.id, Vote.user_id == user.id)
    ).first()
    if already is not None:
        raise DomainError("You have already voted")
    ballot = Vote(pool_id=pool.id, user_id=user.id, quote_id=quote.id)
    session.add(ballot)
    return ballot


def fits_everyone(quote: Quote, pool: Pool) -> bool:
    """Whether the share this quote would charge for the first month is within the maximum of
    everyone who would pay it."""
    share = shares.quote_share(quote, pool, 1)
    return share is not None and all(share <= m.max_pence for m in shares.payers(pool, 1))


def tally(session: Session, pool: Pool) -> Counter[int]:
    """Votes per quote id."""
    return Counter(session.scalars(select(Vote.quote_id).where(Vote.pool_id == pool.id)))


@dataclass(frozen=True)
class VoteResult:
    winner: Quote | None
    reason: str


def close_vote(session: Session, user: User, pool: Pool) -> VoteResult:
    """Count the votes. The winner is the most-voted quote that fits everyone (ties: the lower
    share, then the earlier quote); the pool is then marked funded and a `pools.fund` job, in
    this same transaction, collects the first month after the commit (no money moves here).
    With no fitting quote, the pool goes back to taking quotes."""
    if not _may_run_vote(session, user, pool):
        raise NotAllowed("Only the person who proposed the pool or ULO staff can do this")
    if pool.status != PoolStatus.VOTING.value:
        raise DomainError("Voting is not open")
    members = pool.current_members
    votes = tally(session, pool)
    fitting = [q for q in live_quotes(pool) if fits_everyone(q, pool) and votes[q.id] > 0]
    if len(members) < pool.min_members or not fitting:
        pool.status = PoolStatus.OPEN.value
        pool.vote_closes_at = None
        session.execute(delete(Vote).where(Vote.pool_id == pool.id))  # a fresh vote next time
        reason = (
            f"The pool has fewer than {pool.min_members} members now"
            if len(members) < pool.min_members
            else "No quote with votes fits every member's maximum"
        )
        return VoteResult(None, reason + ". The pool is open for quotes again.")
    fitting.sort(key=lambda q: (-votes[q.id], shares.quote_share(q, pool, 1) or 0, q.id))
    winner = fitting[0]
    for quote in live_quotes(pool):
        quote.status = QuoteStatus.CHOSEN.value if quote is winner else QuoteStatus.NOT_CHOSEN.value
    pool.chosen_quote_id = winner.id
    pool.status = PoolStatus.FUNDED.value
    pool.funded_at = utcnow()
    # The periodic pools.charge_due job collects any funded pool too, should this job be lost.
    enqueue(session, FUND_JOB, {"pool_id": pool.id}, dedupe_key=f"{FUND_JOB}:{pool.id}")
    return VoteResult(winner, f"{winner.organisation.name}'s quote won with {votes[winner.id]}")


def may_run_vote(session: Session, user: User, pool: Pool) -> bool:
    """Whether this person may open or close the pool's vote (read-only, for the pages)."""
    return _may_run_vote(session, user, pool)


def vote_of(session: Session, pool: Pool, user_id: int) -> int | None:
    """The quote id this person voted for in the pool's current vote, if any."""
    return session.scalars(
        select(Vote.quote_id).where(Vote.pool_id == pool.id, Vote.user_id == user_id)
    ).first()
