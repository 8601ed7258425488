"""A warm handover: when a buddy steps away, the seeker is offered another buddy.

A buddy may end a pairing, or take a break (marketplace.wellbeing) of more than two weeks. The
seeker is then put back in the matching queue with the request they first made, so their
waiting time still counts from the day they first asked, and is told in neutral words (never
why: a break is never shown to others as a health reason). They see their best suggestions,
with the usual plain-English reasons, and may share a short summary with the buddy they ask.

Nothing is stored for the handover itself; it is derived. A handover is on offer for a pairing
while its request is waiting again and the pairing was ended by the buddy, or is paused (a
request linked to a paused pairing waits only because of a handover). The shared summary is
the first message of the new pairing, written by the seeker, so it is exported, erased,
reported and hidden like any other message, and the old buddy never sees it.

The email is sent once the transaction commits (see "the email, after the commit" below),
whichever caller started it: `services.end` or the breaks module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace import outbox
from marketplace.auth.models import User
from marketplace.buddies import notices, rounds, services
from marketplace.buddies.models import (
    LIVE_MATCH_STATUSES,
    BuddyMatch,
    BuddyMessage,
    BuddyRequest,
    MatchStatus,
    RequestStatus,
)
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed

log = logging.getLogger(__name__)

MAX_SUMMARY = 1000
# Pairings that were real (the buddy had said yes, so accepted_at is set) may be handed over.
_WERE_PAIRED = (MatchStatus.ACTIVE.value, MatchStatus.PAUSED.value, MatchStatus.ENDED.value)


@dataclass(frozen=True)
class Handover:
    """Another buddy on offer to a seeker whose buddy stepped away from `match`."""

    match: BuddyMatch
    request: BuddyRequest
    asked: BuddyMatch | None  # a buddy they have asked since, still to answer
    suggestions: list[rounds.Suggested]
    local_ulo: bool = True  # a ULO covers their council (else the site's own team matches)


# --- offering -------------------------------------------------------------------------------------


def _other_live_pairing(session: Session, request: BuddyRequest, match: BuddyMatch) -> bool:
    """Whether this request already led to another pairing (they found someone since)."""
    return (
        session.scalars(
            select(BuddyMatch.id).where(
                BuddyMatch.request_id == request.id,
                BuddyMatch.id != match.id,
                BuddyMatch.status.in_(LIVE_MATCH_STATUSES),
            )
        ).first()
        is not None
    )


def _notice(match: BuddyMatch) -> notices.Notice | None:
    name = match.buddy_user.display_name
    if match.status == MatchStatus.ENDED.value:
        subject = "Would you like another budget buddy?"
        lead = (
            f"Your budget buddy pairing with {name} has come to an end. Thank you for the "
            "time you spent together.\n\n"
        )
    else:
        subject = "Would you like another budget buddy for now?"
        lead = (
            f"{name} is stepping back for a while, so your pairing is paused. It is kept, "
            "and picks up again when they are back.\n\n"
        )
    lead += (
        "If you would like someone to talk to, we have suggested other buddies who fit what "
        "you asked for, and why. You keep your place in the queue from when you first asked. "
        "There is no rush, and you do not need to do anything if you would rather wait."
    )
    return notices.notice_to(match.seeker, subject, lead, match.id)


def offer_handover(session: Session, match: BuddyMatch) -> None:
    """Make sure the seeker of this pairing is offered another buddy. Safe to call twice.

    Called when the buddy ends the pairing (or blocks the seeker, which ends it too: the seeker
    is never told of the block), and when the buddy starts a break of more than two
    weeks (or with no end date). The seeker's request goes back to waiting, keeping its
    created_at (their place in the queue), and they are emailed after the commit.
    """
    if match.status not in _WERE_PAIRED or match.accepted_at is None:
        return  # a suggestion never answered: `end` and `decline` put the request back already
    request = match.request
    seeker = match.seeker
    if request is None or seeker is None or seeker.erased_at is not None:
        return
    if request.status != RequestStatus.MATCHED.value:
        return  # already waiting (offered before) or withdrawn by the seeker
    if _other_live_pairing(session, request, match):
        return  # they already have another buddy from this request
    if services.waiting_request_of(session, match.seeker_id) is None:
        request.status = RequestStatus.WAITING.value  # created_at is left alone
        _hold_while_away(session, request)
    # Otherwise they asked again separately and are in the queue already; we still tell them.
    notice = _notice(match)
    if notice is not None:
        outbox.note(
            session,
            (notices.HANDOVER, match.id),
            lambda own: notices.send(notice, session=own),
            notice,
        )


# Whether the seeker is away on a break, and if so hold `request` until they return (True
# then). Wellbeing, which sits above buddies, installs it from its init_app.
HoldWhileAway = Callable[[Session, BuddyRequest], bool]
_hold_while_away_hooks: list[HoldWhileAway] = []


def set_hold_while_away(hook: HoldWhileAway) -> None:
    """Install the rule that holds a seeker's request while they are on a break."""
    _hold_while_away_hooks[:] = [hook]


def _hold_while_away(session: Session, request: BuddyRequest) -> None:
    """A seeker who is on a break themselves is not matched while away: their break holds the
    request as it holds one they were waiting with, and puts it back in the queue (same place)
    when they return. The email waits for them too (marketplace.email)."""
    if any(hold(session, request) for hold in _hold_while_away_hooks):
        request.status = RequestStatus.WITHDRAWN.value


def withdraw_on_return(session: Session, buddy_user_id: int) -> None:
    """The buddy is back from a break: a seeker who has not asked anyone else stops waiting,
    so that coming back leaves the pairing exactly as it was."""
    for match in session.scalars(
        select(BuddyMatch).where(
            BuddyMatch.buddy_user_id == buddy_user_id,
            BuddyMatch.status.in_((MatchStatus.ACTIVE.value, MatchStatus.PAUSED.value)),
        )
    ):
        request = match.request
        if (
            request is not None
            and request.status == RequestStatus.WAITING.value
            and not _other_live_pairing(session, request, match)
        ):
            request.status = RequestStatus.MATCHED.value


def on_break_ended(session: Session, brk: Any) -> None:
    """A buddy's break ended (wellbeing calls this): undo an unused handover."""
    withdraw_on_return(session, brk.user_id)


# --- what the seeker sees -------------------------------------------------------------------------


def handover_for(session: Session, match: BuddyMatch) -> Handover | None:
    """The handover on offer for this pairing, if any (for its seeker's eyes only)."""
    request = match.request
    if match.accepted_at is None or request is None:
        return None  # a suggestion the buddy never said yes to is not a pairing to hand over
    if request.status != RequestStatus.WAITING.value:
        return None
    ended_by_buddy = (
        match.status == MatchStatus.ENDED.value and match.ended_by_id == match.buddy_user_id
    )
    if not (ended_by_buddy or match.status == MatchStatus.PAUSED.value):
        return None
    asked = rounds.pending_proposal(session, request)
    return Handover(
        match=match,
        request=request,
        asked=asked,
        suggestions=[] if asked else rounds.suggestions_for(session, request),
        local_ulo=services.area_has_ulo(session, request.council),
    )


def handovers_of(session: Session, seeker: User) -> list[Handover]:
    """Every handover on offer to this person: one per request, for its latest pairing."""
    found: dict[int, Handover] = {}
    for match in session.scalars(
        select(BuddyMatch)
        .where(
            BuddyMatch.seeker_id == seeker.id,
            BuddyMatch.status.in_((MatchStatus.ENDED.value, MatchStatus.PAUSED.value)),
        )
        .order_by(BuddyMatch.id.desc())
    ):
        if match.request_id is None or match.request_id in found:
            continue
        handover = handover_for(session, match)
        if handover is not None:
            found[match.request_id] = handover
    return list(found.values())


def suggestion(handover: Handover, profile_id: int) -> rounds.Suggested | None:
    """One of the handover's current suggestions, by buddy profile id."""
    return next((s for s in handover.suggestions if s.profile.id == profile_id), None)


def _check_summary(summary: str | None) -> str | None:
    if summary is None:
        return None
    summary = summary.strip()
    if not summary:
        raise DomainError(
            "Write a short summary for your new buddy, or choose not to share one",
            field="summary",
        )
    if len(summary) > MAX_SUMMARY:
        raise DomainError(
            f"Your summary must be {MAX_SUMMARY:,} characters or fewer", field="summary"
        )
    return summary


def ask_new_buddy(
    session: Session,
    seeker: User,
    old_match: BuddyMatch,
    profile_id: int,
    summary: str | None = None,
    acting_carer: User | None = None,
) -> BuddyMatch:
    """The seeker asks one of their handover suggestions to be their buddy.

    `summary` is None unless they chose to share one: it then opens the new pairing's
    conversation, written by the seeker, and only the new buddy (and the seeker) can read it.
    """
    if old_match.seeker_id != seeker.id:
        raise NotAllowed("Only the person looking for help can ask for another buddy")
    summary = _check_summary(summary)
    handover = handover_for(session, old_match)
    if handover is None:
        raise DomainError("You are not looking for another buddy at the moment")
    match = rounds.ask_suggested(session, seeker, handover.request, profile_id, acting_carer)
    if summary is not None:
        session.add(
            BuddyMessage(match=match, sender_id=seeker.id, body=summary, created_at=utcnow())
        )
        match.seeker_read_at = utcnow()  # they wrote it: it is not unread for them
    return match


# --- the email, after the commit ------------------------------------------------------------------
# offer_handover runs inside someone else's transaction (ending a pairing, starting a break), so
# the email waits for the commit (marketplace/outbox.py).


def notices_waiting(session: Session) -> list[notices.Notice]:
    """Handover emails this transaction will send once it commits."""
    return list(outbox.waiting(session, notices.HANDOVER))
