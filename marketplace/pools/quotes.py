"""Quotes from providers, and the members' vote that chooses one.

A quote gives each member's monthly share at every group size the pool allows, so members see
what they would actually pay. A quote can only win if the share at the pool's size on the day
the vote closes fits every member's stated maximum.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

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
from marketplace.pools import notices, services, shares
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
from marketplace.web.template_globals import format_datetime

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


# --- the vote's window ------------------------------------------------------------------------

# Every vote lasts at least this long, so that nobody (the proposer least of all) can open,
# vote and close it before the other members have had a chance to read the quotes.
MIN_VOTE_WINDOW = timedelta(hours=48)
# The proposer is emailed this long before the last moment a vote can still be opened.
OPEN_BY_REMINDER = timedelta(days=2)


def vote_must_end_by(pool: Pool) -> datetime:
    """The latest a vote may close: the start of the deadline day (UTC). The pool lapses the day
    after its deadline (`funding.charge_due_steps`), so this leaves the whole deadline day for
    the closing job to count the vote."""
    return datetime.combine(pool.deadline, time(0), tzinfo=UTC)


def open_vote_by(pool: Pool) -> datetime:
    """The last moment a vote of the shortest allowed length can be opened."""
    return vote_must_end_by(pool) - MIN_VOTE_WINDOW


def votes_needed(members: int) -> int:
    """At least half of the members must vote for a vote to choose a quote (rounded up: 3 of 5,
    2 of 4), and never fewer than one."""
    return max(1, -(-members // 2))


def open_vote(
    session: Session,
    user: User,
    pool: Pool,
    closes_at: datetime,
    now: datetime | None = None,
) -> None:
    """Start the vote (the proposer or the area's ULO staff), once enough people have joined.
    It closes by itself at `closes_at` (at least 48 hours away, before the deadline) or as soon
    as every member has voted; nobody closes it by hand."""
    if not _may_run_vote(session, user, pool):
        raise NotAllowed("Only the person who proposed the pool or ULO staff can do this")
    now = as_utc(now or utcnow())
    closes_at = as_utc(closes_at)
    if pool.status != PoolStatus.OPEN.value:
        raise DomainError("The pool is not open")
    if not live_quotes(pool):
        raise DomainError("There are no quotes to vote on yet")
    if len(pool.current_members) < pool.min_members:
        raise DomainError(f"The pool needs {pool.min_members} members before a vote")
    if now > open_vote_by(pool):
        raise DomainError(
            "There is no longer time for a vote: a vote lasts at least 48 hours and must close "
            f"before the pool's deadline ({format_datetime(vote_must_end_by(pool))})",
            field="closes_at",
        )
    if closes_at < now + MIN_VOTE_WINDOW:
        raise DomainError(
            "The vote must stay open for at least 48 hours, so that every member can take part",
            field="closes_at",
        )
    if closes_at > vote_must_end_by(pool):
        raise DomainError(
            f"The vote must close before the pool's deadline, by "
            f"{format_datetime(vote_must_end_by(pool))}: choose a shorter time",
            field="closes_at",
        )
    pool.status = PoolStatus.VOTING.value
    pool.vote_closes_at = closes_at
    pool.vote_outcome = None  # a new vote: the last one's result no longer applies


def vote(
    session: Session, user: User, pool: Pool, quote: Quote, now: datetime | None = None
) -> Vote:
    """One member, one vote, by the closing time. The last member's vote closes the vote, in
    this same call (see `close_vote`): check `pool.status` afterwards."""
    now = as_utc(now or utcnow())
    member = session.scalars(
        select(PoolMember).where(
            PoolMember.pool_id == pool.id,
            PoolMember.user_id == user.id,
            PoolMember.status == MemberStatus.MEMBER.value,
        )
    ).first()
    if member is None:
        raise NotAllowed("Only members can vote")
    # Votes queue behind each other (and behind the closing job), so two last votes at once
    # still see each other and the vote closes once, with every vote counted.
    services.lock_pool(session, pool)
    if pool.status != PoolStatus.VOTING.value:
        raise DomainError("Voting is not open")
    if pool.vote_closes_at is not None and as_utc(pool.vote_closes_at) <= now:
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
    session.flush()
    _close_if_everyone_voted(session, pool, now)
    return ballot


# --- counting: the one winner rule, and the words that explain it --------------------------------


def leave(
    session: Session, user: User, pool: Pool, acting_carer: User | None = None
) -> PoolMember | None:
    """`services.leave`, and then, if a vote is open and everyone still in the pool has voted
    (the one who left was the last to vote), the vote closes as the last vote would close it.
    Returns the person moved up from the waiting list, if any (they have not voted yet)."""
    promoted = services.leave(session, user, pool, acting_carer=acting_carer)
    _close_if_everyone_voted(session, pool, utcnow())
    return promoted


def _close_if_everyone_voted(session: Session, pool: Pool, now: datetime) -> None:
    if pool.status != PoolStatus.VOTING.value or not pool.current_members:
        return
    if pool.vote_closes_at is not None and as_utc(pool.vote_closes_at) <= now:
        return  # the window has ended: the closing job counts it
    if _voters(session, pool) >= len(pool.current_members):
        close_vote(session, pool, now)


def tally(session: Session, pool: Pool) -> Counter[int]:
    """Votes per quote id (a member who leaves takes their vote with them: services.leave)."""
    return Counter(session.scalars(select(Vote.quote_id).where(Vote.pool_id == pool.id)))


def _voters(session: Session, pool: Pool) -> int:
    current = {m.user_id for m in pool.current_members}
    return len(
        current.intersection(session.scalars(select(Vote.user_id).where(Vote.pool_id == pool.id)))
    )


@dataclass(frozen=True)
class Standing:
    """One quote in the count: its votes, the first month's share it would charge at the pool's
    size, and the maxima (in pence) of the members that share is above."""

    quote: Quote
    votes: int
    share: int | None
    over: tuple[int, ...]

    @property
    def fits(self) -> bool:
        return self.share is not None and not self.over

    @property
    def name(self) -> str:
        return self.quote.organisation.name


def _standing(quote: Quote, pool: Pool, votes: int) -> Standing:
    share = shares.quote_share(quote, pool, 1)
    maxima = [m.max_pence for m in shares.payers(pool, 1)]
    over = tuple(sorted(m for m in maxima if share is not None and share > m))
    return Standing(quote, votes, share, over)


def fits_everyone(quote: Quote, pool: Pool) -> bool:
    """Whether the share this quote would charge for the first month is within the maximum of
    everyone who would pay it."""
    return _standing(quote, pool, 0).fits


@dataclass(frozen=True)
class Count:
    """Everything the winner rule looked at, so that the explanation says exactly that."""

    members: int
    min_members: int
    voters: int
    needed: int
    size: int  # the group size the shares are for
    standings: tuple[Standing, ...]  # every live quote, most votes first
    winner: Standing | None


def count_votes(session: Session, pool: Pool) -> Count:
    """The winner rule: with at least `min_members` members and at least half of them voting,
    the most-voted quote that fits every member's maximum wins (ties: the lower share, then the
    quote sent first). Otherwise no quote is chosen."""
    votes = tally(session, pool)
    members = len(pool.current_members)
    standings = sorted(
        (_standing(q, pool, votes[q.id]) for q in live_quotes(pool)),
        key=lambda s: (-s.votes, s.share if s.share is not None else 0, s.quote.id),
    )
    voters = _voters(session, pool)
    needed = votes_needed(members)
    fitting = [s for s in standings if s.fits and s.votes > 0]
    enough = members >= pool.min_members and voters >= needed
    return Count(
        members=members,
        min_members=pool.min_members,
        voters=voters,
        needed=needed,
        size=len(shares.payers(pool, 1)),
        standings=tuple(standings),
        winner=fitting[0] if enough and fitting else None,
    )


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _why_not(standing: Standing, size: int, named: bool = False) -> str:
    """Why a quote does not fit everyone: "£35 is above one member's maximum of £30" (named:
    "Bridge's £35 is above ...")."""
    if standing.share is None:
        return f"{standing.name} has no price for a group of {size}"
    share = format_pence(standing.share)
    if named:
        share = f"{standing.name}'s {share}"
    if len(standing.over) == 1:
        return f"{share} is above one member's maximum of {format_pence(standing.over[0])}"
    maxima = _and([format_pence(m) for m in standing.over])
    return f"{share} is above the maximum of {len(standing.over)} members ({maxima})"


def explain(count: Count) -> str:
    """The result in plain words, from the same `Count` the rule used."""
    if count.members < count.min_members:
        return (
            f"The pool had {_n(count.members, 'member')} when the vote closed, fewer than the "
            f"{count.min_members} it needs, so no quote was chosen."
        )
    turnout = f"{count.voters} of the {count.members} members voted"
    if count.voters < count.needed:
        lead = "Nobody voted" if count.voters == 0 else f"Only {turnout}"
        return (
            f"{lead}. At least {count.needed} of the {count.members} members must vote for the "
            "vote to choose a quote, so no quote was chosen."
        )
    winner = count.winner
    if winner is None:
        reasons = [_why_not(s, count.size, named=True) for s in count.standings if s.votes]
        return (
            f"{turnout}. No quote with votes fits every member's maximum "
            f"({'; '.join(reasons)}), so no quote was chosen."
        )
    said = [f"{turnout}."]
    chosen = f"{winner.name}'s quote"
    beaten = [s for s in count.standings if s.votes >= winner.votes and not s.fits]
    tied = [s for s in count.standings if s.fits and s.votes == winner.votes and s is not winner]
    if beaten:
        more = [s for s in beaten if s.votes > winner.votes]
        same = [s for s in beaten if s.votes == winner.votes]
        parts = []
        if more:
            parts.append(f"{_and([s.name for s in more])} had more votes")
        if same:
            parts.append(f"{_and([s.name for s in same])} had as many votes")
        why = _and([_why_not(s, count.size, named=len(beaten) > 1) for s in beaten])
        said.append(
            f"{' and '.join(parts)}, but {why}, so {chosen}, which fits everyone, "
            f"was chosen with {_n(winner.votes, 'vote')}."
        )
    if tied:
        names = _and([winner.name, *(s.name for s in tied)])
        each = f"{names} had {_n(winner.votes, 'vote')} each and "
        each += "both fit everyone" if len(tied) == 1 else "all fit everyone"
        share = format_pence(winner.share or 0)
        if all(s.share != winner.share for s in tied):
            said.append(
                f"It was a tie: {each}. {winner.name}'s share is the lowest ({share} a month), "
                f"so {chosen} was chosen."
            )
        else:
            said.append(
                f"It was a tie: {each}, at the same share of {share} a month. {chosen} was "
                "sent first, so it was chosen."
            )
    if not beaten and not tied:
        said.append(
            f"{chosen} had the most votes ({winner.votes}) and fits every member's maximum, so "
            "it was chosen."
        )
    return " ".join(said)


# --- closing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteResult:
    winner: Quote | None
    reason: str


def close_vote(session: Session, pool: Pool, now: datetime | None = None) -> VoteResult:
    """Count the votes (`count_votes`) and say why (`explain`, kept on the pool for its page and
    emailed to the members). Called only when the window ends (`close_due_votes`) or when the
    last member votes (`vote`): nobody closes a vote by hand.

    With a winner the pool is marked funded and a `pools.fund` job, in this same transaction,
    collects the first month after the commit (no money moves here). Without one the vote is
    void: the votes are cleared, the pool is open again, and a new vote may be opened while
    the deadline allows (`open_vote_by`)."""
    now = as_utc(now or utcnow())
    if pool.status != PoolStatus.VOTING.value:
        raise DomainError("Voting is not open")
    count = count_votes(session, pool)
    words = explain(count)
    pool.vote_outcome = words
    if count.winner is None:
        pool.status = PoolStatus.OPEN.value
        pool.vote_closes_at = None
        session.execute(delete(Vote).where(Vote.pool_id == pool.id))  # a fresh vote next time
        notices.vote_void(session, pool, words, open_vote_by(pool), now)
        return VoteResult(None, words)
    winner = count.winner.quote
    for quote in live_quotes(pool):
        quote.status = QuoteStatus.CHOSEN.value if quote is winner else QuoteStatus.NOT_CHOSEN.value
    pool.chosen_quote_id = winner.id
    pool.status = PoolStatus.FUNDED.value
    pool.funded_at = now
    # The periodic pools.charge_due job collects any funded pool too, should this job be lost.
    enqueue(session, FUND_JOB, {"pool_id": pool.id}, dedupe_key=f"{FUND_JOB}:{pool.id}")
    notices.quote_chosen(session, pool, winner, words)
    return VoteResult(winner, words)


def close_due_votes(session: Session, now: datetime | None = None) -> Iterator[Pool]:
    """The periodic job's half about votes: close every vote whose window has ended. Yields
    after each pool so that the caller commits each on its own; safe to run twice (a pool
    already closed is no longer voting once its row lock is ours)."""
    now = as_utc(now or utcnow())
    due = session.scalars(
        select(Pool.id).where(Pool.status == PoolStatus.VOTING.value, Pool.vote_closes_at <= now)
    ).all()
    for pool_id in due:
        pool = session.get(Pool, pool_id)
        if pool is None:
            continue
        services.lock_pool(session, pool)  # behind a last vote or another worker
        if pool.status != PoolStatus.VOTING.value:
            continue
        close_vote(session, pool, now)
        yield pool


def remind_open_by(session: Session, now: datetime | None = None) -> Iterator[Pool]:
    """Email each open pool's proposer, once, when the last moment to open a vote is less than
    `OPEN_BY_REMINDER` away. Yields after each pool (the caller commits)."""
    now = as_utc(now or utcnow())
    candidates = session.scalars(
        select(Pool).where(Pool.status == PoolStatus.OPEN.value, Pool.open_by_reminded_at.is_(None))
    ).all()
    for pool in candidates:
        last = open_vote_by(pool)
        if last - OPEN_BY_REMINDER <= now < last:
            pool.open_by_reminded_at = now
            notices.open_vote_soon(session, pool, last)
            yield pool


def may_run_vote(session: Session, user: User, pool: Pool) -> bool:
    """Whether this person may open the pool's vote (read-only, for the pages)."""
    return _may_run_vote(session, user, pool)


def vote_of(session: Session, pool: Pool, user_id: int) -> int | None:
    """The quote id this person voted for in the pool's current vote, if any."""
    return session.scalars(
        select(Vote.quote_id).where(Vote.pool_id == pool.id, Vote.user_id == user_id)
    ).first()
