"""Being buddies: the private conversation, shared contact details, concerns and feedback.

Nobody outside the pair reads a conversation, except ULO staff who have taken on a concern
reported about it; each time they open it, the audit log records who and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.interfaces import ORMOption

from marketplace import audit
from marketplace.auth.models import Role, User
from marketplace.buddies import notices, services
from marketplace.buddies.models import (
    FEEDBACK_AFTER,
    MAX_CONTACT,
    MAX_MESSAGE,
    BuddyConcern,
    BuddyFeedback,
    BuddyMatch,
    BuddyMessage,
    BuddyProfile,
    ConcernStatus,
    Helpfulness,
    MatchStatus,
)
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import conversation_rules
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, ModerationItem, QueueState
from marketplace.places.models import Council

ITEM_BUDDY_CONCERN = "buddy_concern"
MESSAGES_PER_HOUR = conversation_rules.MESSAGES_PER_HOUR
SEEKER = "seeker"
BUDDY = "buddy"


def get_match_for(
    session: Session, user: User, match_id: int, options: Sequence[ORMOption] = ()
) -> BuddyMatch:
    """A pairing this person is in; NotAllowed for anyone else (the view answers 404)."""
    match = session.get(BuddyMatch, match_id, options=options)
    if match is None or user.id not in (match.seeker_id, match.buddy_user_id):
        raise NotAllowed("You are not in this pairing")
    return match


# What the conversation page shows besides the messages: both people (without the other's
# roles, which the page never reads), the request and the buddy's profile with its council.
# One query instead of five lazy ones on every read of a conversation.
CONVERSATION_LOADING = (
    joinedload(BuddyMatch.request),
    joinedload(BuddyMatch.profile).joinedload(BuddyProfile.council),
    joinedload(BuddyMatch.seeker).lazyload(User.roles),
    joinedload(BuddyMatch.buddy_user).lazyload(User.roles),
)


def get_conversation_for(session: Session, user: User, match_id: int) -> BuddyMatch:
    """As get_match_for, with what the conversation page shows loaded in the same query."""
    return get_match_for(session, user, match_id, CONVERSATION_LOADING)


def role_in(match: BuddyMatch, user: User) -> str:
    """Whether this person is the seeker or the buddy of the pairing."""
    if user.id == match.seeker_id:
        return SEEKER
    if user.id == match.buddy_user_id:
        return BUDDY
    raise NotAllowed("You are not in this pairing")


def resume_if_due(match: BuddyMatch, now: datetime | None = None) -> bool:
    """A pause with an end date is over once the date has passed."""
    now = now or utcnow()
    if (
        match.status == MatchStatus.PAUSED.value
        and match.paused_until is not None
        and as_utc(match.paused_until) <= as_utc(now)
    ):
        match.status = MatchStatus.ACTIVE.value
        match.paused_until = None
        return True
    return False


def resume_due(session: Session, now: datetime | None = None) -> int:
    """Resume every pairing whose pause has run out (the `flask buddies resume-due` job)."""
    now = now or utcnow()
    paused = session.scalars(
        select(BuddyMatch).where(
            BuddyMatch.status == MatchStatus.PAUSED.value,
            BuddyMatch.paused_until.is_not(None),
            BuddyMatch.paused_until <= now,
        )
    )
    return sum(resume_if_due(match, now) for match in paused)


# --- messages -------------------------------------------------------------------------------


def _read_at(match: BuddyMatch, user_id: int) -> datetime | None:
    return match.seeker_read_at if user_id == match.seeker_id else match.buddy_read_at


def _set_read_at(match: BuddyMatch, user_id: int, when: datetime) -> None:
    if user_id == match.seeker_id:
        match.seeker_read_at = when
    else:
        match.buddy_read_at = when


def unread_count(session: Session, match: BuddyMatch, user: User) -> int:
    """Messages from the other person this one has not opened yet."""
    return unread_counts(session, [match], user)[match.id]


def unread_counts(session: Session, matches: Sequence[BuddyMatch], user: User) -> dict[int, int]:
    """unread_count for each of this person's pairings, in one query (for the hub)."""
    if not matches:
        return {}
    unopened = [
        BuddyMessage.match_id == m.id
        if (read_at := _read_at(m, user.id)) is None
        else and_(BuddyMessage.match_id == m.id, BuddyMessage.created_at > read_at)
        for m in matches
    ]
    counts = session.execute(
        select(BuddyMessage.match_id.label("match_id"), func.count(BuddyMessage.id).label("n"))
        .where(
            or_(*unopened),
            BuddyMessage.sender_id != user.id,
            BuddyMessage.hidden_at.is_(None),
        )
        .group_by(BuddyMessage.match_id)
    )
    found = {row.match_id: row.n for row in counts}
    return {m.id: found.get(m.id, 0) for m in matches}


def mark_read(match: BuddyMatch, user: User, now: datetime | None = None) -> None:
    """Note that this person has opened the conversation (so new messages email them again)."""
    _set_read_at(match, user.id, now or utcnow())


def _check_message(body: str) -> str:
    return conversation_rules.check_message(body)  # the rule every conversation keeps


def _check_can_talk(session: Session, sender: User, match: BuddyMatch) -> None:
    if match.status == MatchStatus.PROPOSED.value:
        raise DomainError("You can send messages once the buddy has said yes", field="body")
    if match.status == MatchStatus.PAUSED.value:
        if not services.may_resume(session, sender, match):
            raise DomainError(
                "The pairing is paused while the other person takes a break. "
                "You can send messages again when they are back",
                field="body",
            )
        raise DomainError("This pairing is paused. Resume it to send messages", field="body")
    if match.status != MatchStatus.ACTIVE.value:
        raise DomainError("This pairing has ended, so no more messages can be sent", field="body")


def send_message(
    session: Session, sender: User, match: BuddyMatch, body: str, now: datetime | None = None
) -> tuple[BuddyMessage, notices.Notice | None]:
    """Write to the other person; they get one email per batch of unread messages (noted
    here, sent after the commit; the notice is returned for the caller to inspect)."""
    role_in(match, sender)
    now = now or utcnow()
    resume_if_due(match, now)
    _check_can_talk(session, sender, match)
    body = _check_message(body)
    conversation_rules.check_sender(session, sender, BuddyMessage, BuddyMessage.sender_id, now)
    other = session.get(User, match.other_id(sender.id))
    already_waiting = other is not None and unread_count(session, match, other) > 0
    message = BuddyMessage(match=match, sender_id=sender.id, body=body, created_at=now)
    session.add(message)
    _set_read_at(match, sender.id, now)
    notice = None
    if not already_waiting:
        notice = notices.notice_to(
            other,
            "You have a new message from your budget buddy",
            "There is a new message for you in your budget buddy conversation.",
            match.id,
        )
        notices.send(notice, session=session)  # after the commit, by their email choices
    return message, notice


# --- contact details --------------------------------------------------------------------------


def share_contact(session: Session, user: User, match: BuddyMatch, contact: str) -> None:
    """Show the other person how to reach you outside the site; blank stops sharing."""
    role = role_in(match, user)
    if match.status not in (MatchStatus.ACTIVE.value, MatchStatus.PAUSED.value):
        raise DomainError("You can share contact details once you are buddies", field="contact")
    contact = (contact or "").strip()
    if len(contact) > MAX_CONTACT:
        raise DomainError(f"Keep your contact details to {MAX_CONTACT} characters", field="contact")
    if role == SEEKER:
        match.seeker_contact = contact or None
    else:
        match.buddy_contact = contact or None


def contact_from_other(match: BuddyMatch, viewer: User) -> str | None:
    """What the other person chose to share with this one, if anything."""
    if match.status not in (MatchStatus.ACTIVE.value, MatchStatus.PAUSED.value):
        return None
    return match.buddy_contact if role_in(match, viewer) == SEEKER else match.seeker_contact


def own_contact(match: BuddyMatch, viewer: User) -> str | None:
    """What this person has shared with the other."""
    return match.seeker_contact if role_in(match, viewer) == SEEKER else match.buddy_contact


# --- concerns ---------------------------------------------------------------------------------


def areas_of(match: BuddyMatch) -> set[str]:
    """The council areas whose ULO looks after this pairing: the seeker's and the buddy's."""
    areas = set()
    if match.request is not None:
        areas.add(match.request.council.code)
    if match.profile is not None:
        areas.add(match.profile.council.code)
    return areas


def report_concern(session: Session, reporter: User, match: BuddyMatch, body: str) -> BuddyConcern:
    """Tell the local ULO about a worry; it becomes a safeguarding item in their queue."""
    role_in(match, reporter)
    body = (body or "").strip()
    if not body:
        raise DomainError("Tell us what worries you", field="body")
    if len(body) > MAX_MESSAGE:
        raise DomainError(f"Keep it to {MAX_MESSAGE:,} characters", field="body")
    concern = BuddyConcern(match_id=match.id, reporter_id=reporter.id, body=body)
    session.add(concern)
    session.flush()  # the queue item names the concern
    moderation.submit(
        session,
        ITEM_BUDDY_CONCERN,
        concern.id,
        "Concern about a budget buddy pairing",
        reporter,
        areas_of(match),
    )
    return concern


def _decide_concern(
    session: Session, item: ModerationItem, decision: Decision, reason: str
) -> None:
    concern = session.get(BuddyConcern, item.item_id)
    if concern is None:
        raise DomainError("This concern no longer exists")
    concern.status = ConcernStatus.CLOSED.value
    concern.outcome = reason or (
        "Dealt with" if decision is Decision.APPROVE else "No further action"
    )


def concern_for_item(session: Session, item: ModerationItem) -> BuddyConcern | None:
    """The concern a queue item is about."""
    if item.item_type != ITEM_BUDDY_CONCERN:
        return None
    return session.get(BuddyConcern, item.item_id)


def conversation_for_moderator(
    session: Session, moderator: User, item: ModerationItem
) -> BuddyMatch:
    """Let the moderator handling a concern read the pairing's conversation, and audit it.

    Only while the concern is open and only by the moderator who took it on ("I will deal
    with this"): nobody else outside the pair ever reads it.
    """
    concern = concern_for_item(session, item)
    if (
        concern is None
        or concern.match is None
        or item.state != QueueState.OPEN.value
        or moderation.claim_holder(item) != moderator.id
        or not moderation.can_moderate(session, moderator, item)
    ):
        raise NotAllowed("Only the moderator dealing with an open concern can read this")
    audit.record(
        session,
        moderator.id,
        "buddies.conversation_read",
        "buddy_match",
        concern.match.id,
        f"handling concern {concern.id}",
    )
    return concern.match


# --- why pairings ended: for the local ULO only ----------------------------------------------

# Reasons the site itself writes, not a person: nothing private to show.
_SITE_REASONS = ("account closed", "request withdrawn")


def private_end_reasons(session: Session, staff: User, limit: int = 50) -> list[BuddyMatch]:
    """Ended pairings in this person's areas with the private reason someone gave, newest
    first. The form promises "Only the local user-led organisation sees this": so only ULO
    staff, only for pairings whose seeker or buddy is in an area their ULO covers (admins
    and everyone else see none)."""
    areas = moderation.moderated_council_codes(session, staff)
    if areas is None or not areas or not staff.has_role(Role.ULO_STAFF):
        return []
    ended = session.scalars(
        select(BuddyMatch)
        .where(
            BuddyMatch.status == MatchStatus.ENDED.value,
            BuddyMatch.end_reason.is_not(None),
            BuddyMatch.end_reason.not_in(_SITE_REASONS),
        )
        .order_by(BuddyMatch.ended_at.desc(), BuddyMatch.id.desc())
        .options(*CONVERSATION_LOADING)
    )
    found = []
    for match in ended:
        if areas_of(match) & areas:
            found.append(match)
            if len(found) >= limit:
                break
    return found


# --- feedback after four weeks ----------------------------------------------------------------


def feedback_due(
    session: Session, user: User, match: BuddyMatch, now: datetime | None = None
) -> bool:
    """Whether to ask this person how the pairing is going: four weeks in, asked once."""
    return match.id in feedback_due_in(session, user, [match], now)


def feedback_due_in(
    session: Session, user: User, matches: Sequence[BuddyMatch], now: datetime | None = None
) -> set[int]:
    """The ids of the pairings, of these, where feedback_due is true: one query (for the hub).
    Only pairings still going are asked: an ended one is not asked how it is going."""
    now = as_utc(now or utcnow())
    old_enough = {
        m.id
        for m in matches
        if m.accepted_at is not None
        and m.status in (MatchStatus.ACTIVE.value, MatchStatus.PAUSED.value)
        and user.id in (m.seeker_id, m.buddy_user_id)
        and now - as_utc(m.accepted_at) >= FEEDBACK_AFTER
    }
    if not old_enough:
        return set()
    given = session.scalars(
        select(BuddyFeedback.match_id).where(
            BuddyFeedback.match_id.in_(old_enough), BuddyFeedback.user_id == user.id
        )
    )
    return old_enough - set(given)


def give_feedback(
    session: Session, user: User, match: BuddyMatch, helpfulness: str, now: datetime | None = None
) -> BuddyFeedback:
    """Record one answer. Only the totals per council area are ever shown to staff."""
    role = role_in(match, user)
    if not feedback_due(session, user, match, now):
        raise DomainError("We are not asking for feedback on this pairing now")
    if helpfulness not in {h.value for h in Helpfulness}:
        raise DomainError("Choose how helpful it has been", field="helpfulness")
    if match.request is not None:
        council_code = match.request.council.code
    elif match.profile is not None:
        council_code = match.profile.council.code
    else:
        raise DomainError("This pairing has closed")
    feedback = BuddyFeedback(
        match_id=match.id,
        user_id=user.id,
        role=role,
        council_code=council_code,
        helpfulness=helpfulness,
    )
    session.add(feedback)
    return feedback


@dataclass(frozen=True)
class AreaFeedback:
    """How many people in one council area gave each answer."""

    council_name: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def feedback_totals(session: Session, staff: User) -> list[AreaFeedback]:
    """Totals per council area that this person looks after; never who said what."""
    areas = moderation.moderated_council_codes(session, staff)
    rows = session.execute(
        select(BuddyFeedback.council_code, BuddyFeedback.helpfulness, func.count())
        .group_by(BuddyFeedback.council_code, BuddyFeedback.helpfulness)
        .order_by(BuddyFeedback.council_code)
    )
    per_area: dict[str, Counter[str]] = {}
    for code, helpfulness, count in rows:
        if areas is None or code in areas:
            per_area.setdefault(code, Counter())[helpfulness] = count
    names = dict(
        session.execute(select(Council.code, Council.name).where(Council.code.in_(per_area))).all()
    )
    return sorted(
        (
            AreaFeedback(names.get(code, code), {h.value: counts[h.value] for h in Helpfulness})
            for code, counts in per_area.items()
        ),
        key=lambda area: area.council_name,
    )
