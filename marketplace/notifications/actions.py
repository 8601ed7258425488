"""The things an emailed link can do. Each calls the feature's own service as the person the
link was made for, so the service's own permission and state checks apply exactly as on the
site. None of them moves money: voting chooses a quote, and paying for it asks the person to
sign in.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.buddies import services as buddies
from marketplace.buddies.models import BuddyMatch, MatchStatus
from marketplace.errors import DomainError
from marketplace.memberships import reciprocity
from marketplace.memberships.charts import hours_text
from marketplace.memberships.models import LogStatus, TimeLog
from marketplace.money import format_pence
from marketplace.notifications import preferences
from marketplace.notifications.links import Action, register
from marketplace.notifications.models import Frequency
from marketplace.pools import quotes
from marketplace.pools.models import Pool, PoolStatus, Quote
from marketplace.web.template_globals import format_date


def _int(params: dict[str, Any], key: str) -> int:
    value = params.get(key)
    if not isinstance(value, int):
        raise DomainError("This link is not complete")
    return value


# --- confirm logged hours -----------------------------------------------------------------------


def _time_log(session: Session, params: dict[str, Any]) -> TimeLog:
    entry = session.get(TimeLog, _int(params, "log_id"))
    if entry is None:
        raise DomainError("These hours are no longer on the site")
    if entry.status != LogStatus.LOGGED.value:
        raise DomainError("These hours have already been confirmed or turned down")
    return entry


def _describe_hours(session: Session, _user: User, params: dict[str, Any]) -> str:
    entry = _time_log(session, params)
    giver = entry.giver.display_name if entry.giver else "A former member"
    to = "the organisation" if entry.for_ulo else "you"
    return (
        f"Confirm that {giver} gave {hours_text(entry.minutes)} to {to} on "
        f"{format_date(entry.given_on)} ({entry.organisation.name}). The hours then count "
        "towards their membership."
    )


def _confirm_hours(session: Session, user: User, params: dict[str, Any]) -> str:
    entry = _time_log(session, params)
    reciprocity.confirm(session, user, entry)
    return f"Thank you. The {hours_text(entry.minutes)} are confirmed."


# --- vote for a quote -----------------------------------------------------------------------------


def _pool_and_quote(session: Session, params: dict[str, Any]) -> tuple[Pool, Quote]:
    pool = session.get(Pool, _int(params, "pool_id"))
    quote = session.get(Quote, _int(params, "quote_id"))
    if pool is None or quote is None or quote.pool_id != pool.id:
        raise DomainError("This vote is no longer on the site")
    if pool.status != PoolStatus.VOTING.value:
        raise DomainError("Voting on this pool has closed")
    return pool, quote


def _describe_vote(session: Session, user: User, params: dict[str, Any]) -> str:
    pool, quote = _pool_and_quote(session, params)
    if quotes.vote_of(session, pool, user.id) is not None:
        raise DomainError("You have already voted in this pool")
    from marketplace.pools import shares  # the one rule for a pool member's share

    share = shares.quote_share(quote, pool, shares.next_month(pool))
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
    return f"Thank you. Your vote for {quote.organisation.name}'s quote is counted."


# --- buddies --------------------------------------------------------------------------------------


def _match(session: Session, params: dict[str, Any], status: MatchStatus, gone: str) -> BuddyMatch:
    match = session.get(BuddyMatch, _int(params, "match_id"))
    if match is None or match.status != status.value:
        raise DomainError(gone)
    return match


def _describe_accept(session: Session, _user: User, params: dict[str, Any]) -> str:
    _match(session, params, MatchStatus.PROPOSED, "This suggestion has already been answered")
    return (
        "Say yes to being a budget buddy for the person suggested to you. You can then send "
        "each other messages. You can pause or end it at any time."
    )


def _accept(session: Session, user: User, params: dict[str, Any]) -> str:
    match = _match(
        session, params, MatchStatus.PROPOSED, "This suggestion has already been answered"
    )
    buddies.accept(session, user, match)
    return "Thank you. You are now buddies. Sign in to say hello when you are ready."


def _after_accept(user: User, params: dict[str, Any]) -> None:
    """Tell the seeker, as saying yes on the site does."""
    from marketplace.buddies import conversations
    from marketplace.extensions import db

    match = db.session.get(BuddyMatch, _int(params, "match_id"))
    if match is not None:
        conversations.tell_seeker_accepted(match, user)


def _describe_pause(session: Session, _user: User, params: dict[str, Any]) -> str:
    _match(session, params, MatchStatus.ACTIVE, "This pairing is not active now")
    return (
        "Pause your budget buddy pairing. No reason is needed, and either of you can pick "
        "it up again at any time."
    )


def _pause(session: Session, user: User, params: dict[str, Any]) -> str:
    match = _match(session, params, MatchStatus.ACTIVE, "This pairing is not active now")
    buddies.pause(session, user, match)
    return "The pairing is paused. Sign in to resume it whenever you like."


# --- fewer emails ---------------------------------------------------------------------------------


def _describe_fewer(session: Session, user: User, _params: dict[str, Any]) -> str:
    if preferences.frequency_of(session, user.id) is Frequency.WEEKLY_DIGEST:
        raise DomainError("You already get one email a week")
    return (
        "Get one email a week with everything in it, instead of separate emails. Emails "
        "about money that is due still come at once."
    )


def _fewer(session: Session, user: User, _params: dict[str, Any]) -> str:
    preferences.fewer_emails(session, user)
    return "Done. From now on you get one email a week. You can change this when signed in."


register(Action("confirm_hours", "Confirm these hours", _describe_hours, _confirm_hours))
register(Action("vote", "Vote for this quote", _describe_vote, _vote))
register(Action("accept_buddy", "Say yes", _describe_accept, _accept, after=_after_accept))
register(Action("pause_buddy", "Pause the pairing", _describe_pause, _pause))
register(Action("fewer_emails", "Get fewer emails", _describe_fewer, _fewer))
