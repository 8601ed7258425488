"""What an emailed link can do for pools: vote for a quote. Voting moves no money: paying
always asks the person to sign in."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.errors import DomainError
from marketplace.money import format_pence
from marketplace.notifications.links import Action, int_param, register
from marketplace.pools import quotes, shares
from marketplace.pools.models import Pool, PoolStatus, Quote


def _pool_and_quote(session: Session, params: dict[str, Any]) -> tuple[Pool, Quote]:
    pool = session.get(Pool, int_param(params, "pool_id"))
    quote = session.get(Quote, int_param(params, "quote_id"))
    if pool is None or quote is None or quote.pool_id != pool.id:
        raise DomainError("This vote is no longer on the site")
    if pool.status != PoolStatus.VOTING.value:
        raise DomainError("Voting on this pool has closed")
    return pool, quote


def _describe_vote(session: Session, user: User, params: dict[str, Any]) -> str:
    pool, quote = _pool_and_quote(session, params)
    if quotes.vote_of(session, pool, user.id) is not None:
        raise DomainError("You have already voted in this pool")
    share = shares.quote_share(quote, pool, shares.next_month(pool))  # the one rule
    price = (
        f" Each member's share at the pool's size now: {format_pence(share)} a month."
        if share
        else ""
    )
    return (
        f"Vote for {quote.organisation.name}'s quote for the pool {pool.title}.{price} "
        "Voting does not take any money: if this quote wins, you are asked to sign in "
        "before anything is paid."
    )


def _vote(session: Session, user: User, params: dict[str, Any]) -> str:
    pool, quote = _pool_and_quote(session, params)
    quotes.vote(session, user, pool, quote)
    done = f"Thank you. Your vote for {quote.organisation.name}'s quote is counted."
    if pool.status != PoolStatus.VOTING.value:  # the last member's vote closes the vote
        done += (
            " Every member has now voted, so the vote has closed: the result is on the pool page."
        )
    return done


def register_actions() -> None:
    """Make these actions available to one-click links."""
    register(Action("vote", "Vote for this quote", _describe_vote, _vote))
