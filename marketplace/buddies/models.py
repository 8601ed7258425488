"""Budget buddies: offers to be a buddy, requests for one, pairings and blocks.

Small fixed sets (languages, ways of talking, times, help topics) are stored comma-separated,
as listings store their delivery modes; the `*_set` properties read them back.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.auth.models import User
from marketplace.db import Base, utcnow
from marketplace.moderation import conversation_rules
from marketplace.places.models import Council

MIN_MONTHS_HOLDING = 6
MAX_CAPACITY = 3
MAX_MESSAGE = conversation_rules.MAX_MESSAGE  # one limit for every conversation
MAX_CONTACT = 300
MAX_ABOUT_ME = 500
MAX_HELLO = 300
# Each person is asked how the pairing is going once it has been active this long.
FEEDBACK_AFTER = timedelta(weeks=4)


class Holding(enum.StrEnum):
    """How a personal budget is held."""

    DIRECT_PAYMENT = "direct_payment"
    MANAGED_ACCOUNT = "managed_account"
    COUNCIL_ARRANGED = "council_arranged"
    MIXED = "mixed"


class Topic(enum.StrEnum):
    """What a buddy can help with, and what a seeker wants help with."""

    ASSESSMENT = "assessment"
    CHOOSING_HOW_TO_HOLD = "choosing_how_to_hold"
    EMPLOYING_A_PA = "employing_a_pa"
    PAPERWORK_MONITORING = "paperwork_monitoring"
    IDEAS = "ideas"
    JOINING_A_POOL = "joining_a_pool"


class Way(enum.StrEnum):
    """How two people talk."""

    MESSAGES = "messages"
    PHONE = "phone"
    VIDEO = "video"
    IN_PERSON = "in_person"


class Time(enum.StrEnum):
    """When someone is free to talk."""

    WEEKDAY_DAYTIME = "weekday_daytime"
    EVENINGS = "evenings"
    WEEKENDS = "weekends"


class ProfileStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the local ULO's induction and confirmation
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    PAUSED = "paused"  # not suggested to anyone; existing pairings carry on
    WITHDRAWN = "withdrawn"


class RequestStatus(enum.StrEnum):
    WAITING = "waiting"
    MATCHED = "matched"
    WITHDRAWN = "withdrawn"


class MatchStatus(enum.StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"
    DECLINED = "declined"


class Helpfulness(enum.StrEnum):
    """The one question asked after four weeks: how helpful has this been?"""

    VERY = "very"
    SOMEWHAT = "somewhat"
    NOT_REALLY = "not_really"


class ConcernStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


# Pairings that take one of a buddy's places.
LIVE_MATCH_STATUSES = (
    MatchStatus.PROPOSED.value,
    MatchStatus.ACTIVE.value,
    MatchStatus.PAUSED.value,
)


def split(text: str | None) -> frozenset[str]:
    """A comma-separated column as a set."""
    return frozenset(part.strip() for part in (text or "").split(",") if part.strip())


def join(values: Iterable[str]) -> str:
    """A set of values as a sorted comma-separated column."""
    return ",".join(sorted({str(v) for v in values}))


class _TalkingPreferences:
    """Columns an offer and a request share: languages, ways and times to talk, a place, and
    private lived-experience topics (matching.LIVED_TOPICS codes), used for matching only when
    this person ticked `share_lived_experience` (and the other person did too); never shown."""

    lived_experience_topics: Mapped[str | None] = mapped_column(Text)
    share_lived_experience: Mapped[bool] = mapped_column(Boolean, default=False)

    languages: Mapped[str] = mapped_column(String(500), default="English")
    ways: Mapped[str] = mapped_column(String(100), default="")  # Way values
    times: Mapped[str] = mapped_column(String(100), default="")  # Time values
    postcode: Mapped[str | None] = mapped_column(String(8))
    easting: Mapped[int | None] = mapped_column(Integer)
    northing: Mapped[int | None] = mapped_column(Integer)

    @property
    def language_set(self) -> frozenset[str]:
        return split(self.languages)

    @property
    def way_set(self) -> frozenset[str]:
        return split(self.ways)

    @property
    def time_set(self) -> frozenset[str]:
        return split(self.times)

    @property
    def lived_for_matching(self) -> frozenset[str]:
        """The topics matching may use: none unless this person opted in."""
        return split(self.lived_experience_topics) if self.share_lived_experience else frozenset()

    @property
    def point(self) -> tuple[int, int] | None:
        if self.easting is None or self.northing is None:
            return None
        return (self.easting, self.northing)


class BuddyProfile(_TalkingPreferences, Base):
    """An experienced holder's offer to be a budget buddy. One per person."""

    __tablename__ = "buddy_profiles"
    __table_args__ = (
        CheckConstraint("capacity BETWEEN 1 AND 3", name="capacity_range"),
        CheckConstraint("months_holding >= 0", name="months_holding_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    council_id: Mapped[int] = mapped_column(
        ForeignKey("councils.id", ondelete="RESTRICT"), index=True
    )
    months_holding: Mapped[int] = mapped_column(Integer)
    holds: Mapped[str] = mapped_column(String(20))  # a Holding value
    experience: Mapped[str] = mapped_column(String(200), default="")  # Topic values
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    # Only be paired with people of this gender (self-described); None means anyone.
    only_gender: Mapped[str | None] = mapped_column(String(60))
    # Private and optional: used only for only_gender preferences, never shown to others.
    gender: Mapped[str | None] = mapped_column(String(60))
    # Directory category slugs the buddy has used their own budget for (shown once paired).
    used_for: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20), default=ProfileStatus.PENDING.value, index=True)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # "About me" in the buddy's own words: only words the local ULO has read are shown
    # (about_me); new or changed words wait in about_me_pending until it has (profiles.py).
    about_me: Mapped[str | None] = mapped_column(Text)
    about_me_pending: Mapped[str | None] = mapped_column(Text)
    about_me_refused: Mapped[str | None] = mapped_column(Text)  # the ULO's reason, if it did not

    user: Mapped[User] = relationship()
    council: Mapped[Council] = relationship()

    @property
    def experience_set(self) -> frozenset[str]:
        return split(self.experience)

    @property
    def used_for_set(self) -> frozenset[str]:
        return split(self.used_for)


class BuddyRequest(_TalkingPreferences, Base):
    """Someone asking for a buddy. Waiting time counts from created_at and is never reset."""

    __tablename__ = "buddy_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    seeker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    council_id: Mapped[int] = mapped_column(
        ForeignKey("councils.id", ondelete="RESTRICT"), index=True
    )
    wants: Mapped[str] = mapped_column(String(200), default="")  # Topic values
    holds: Mapped[str | None] = mapped_column(String(20))  # a Holding value, if they have one
    only_gender: Mapped[str | None] = mapped_column(String(60))
    gender: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.WAITING.value, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # "Tell me when a buddy who fits becomes free": asked at, and when we told them (once).
    tell_when_free_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    told_free_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    seeker: Mapped[User] = relationship()
    council: Mapped[Council] = relationship()

    @property
    def want_set(self) -> frozenset[str]:
        return split(self.wants)


class BuddyMatch(Base):
    """A pairing of a seeker with a buddy: proposed -> active <-> paused -> ended, or declined.

    The request and profile links go to NULL if either is erased; the two people stay recorded.
    """

    __tablename__ = "buddy_matches"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("buddy_requests.id", ondelete="SET NULL"), index=True
    )
    buddy_profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("buddy_profiles.id", ondelete="SET NULL"), index=True
    )
    seeker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    buddy_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=MatchStatus.PROPOSED.value, index=True)
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paused_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(Text)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # What each person chose to share with the other (a phone number, an email), if anything.
    seeker_contact: Mapped[str | None] = mapped_column(String(MAX_CONTACT))
    buddy_contact: Mapped[str | None] = mapped_column(String(MAX_CONTACT))
    # When each person last opened the conversation: one email per batch of unread messages.
    seeker_read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    buddy_read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    request: Mapped[BuddyRequest | None] = relationship()
    profile: Mapped[BuddyProfile | None] = relationship()
    seeker: Mapped[User] = relationship(foreign_keys=[seeker_id])
    buddy_user: Mapped[User] = relationship(foreign_keys=[buddy_user_id])

    messages: Mapped[list[BuddyMessage]] = relationship(
        back_populates="match", order_by="BuddyMessage.id", cascade="all, delete-orphan"
    )

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_MATCH_STATUSES

    def other_id(self, user_id: int) -> int:
        """The other person in the pairing."""
        return self.buddy_user_id if user_id == self.seeker_id else self.seeker_id


class BuddyMessage(Base):
    """One message in a pairing's private conversation."""

    __tablename__ = "buddy_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(
        ForeignKey("buddy_matches.id", ondelete="CASCADE"), index=True
    )
    sender_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Hidden after reports: only its sender (and moderators) still see it, as "under review".
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Written by the site about the sender (a break's neutral message), not by them: shown as a
    # notice, never as their words, and nobody can report it.
    is_notice: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    match: Mapped[BuddyMatch] = relationship(back_populates="messages")
    sender: Mapped[User | None] = relationship()


class BuddyFeedback(Base):
    """One person's answer, four weeks in. Staff only ever see totals per council area."""

    __tablename__ = "buddy_feedback"
    __table_args__ = (UniqueConstraint("match_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int | None] = mapped_column(
        ForeignKey("buddy_matches.id", ondelete="SET NULL"), index=True
    )
    # Kept (unlinked) when the person erases their account, so the area's totals stay right.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(10))  # "seeker" | "buddy"
    council_code: Mapped[str] = mapped_column(String(12), index=True)  # the seeker's council
    helpfulness: Mapped[str] = mapped_column(String(20))  # a Helpfulness value
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BuddyConcern(Base):
    """A concern one person reported about a pairing: a safeguarding item for the local ULO."""

    __tablename__ = "buddy_concerns"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int | None] = mapped_column(
        ForeignKey("buddy_matches.id", ondelete="SET NULL"), index=True
    )
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=ConcernStatus.OPEN.value)
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    match: Mapped[BuddyMatch | None] = relationship()


class BuddyBlock(Base):
    """One person never wants to be paired with another again."""

    __tablename__ = "buddy_blocks"
    __table_args__ = (UniqueConstraint("blocker_id", "blocked_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    blocker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    blocked_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BuddyHello(Base):
    """One short hello a seeker sent a suggested buddy before asking, and the buddy's one answer.

    One per seeker and buddy. Either text can be reported and hidden, as messages can.
    """

    __tablename__ = "buddy_hellos"
    __table_args__ = (UniqueConstraint("seeker_id", "buddy_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seeker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    buddy_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("buddy_requests.id", ondelete="SET NULL"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Hidden after reports: only its writer (and moderators) still see it.
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reply_hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    seeker: Mapped[User] = relationship(foreign_keys=[seeker_id])
    buddy_user: Mapped[User] = relationship(foreign_keys=[buddy_user_id])
    request: Mapped[BuddyRequest | None] = relationship()
