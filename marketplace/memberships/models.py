"""Membership records: each ULO's offer, memberships and their Stripe subscriptions, pauses,
forgiven months, time logs, the time ledger, clearances and help requests.

Money is integer pence; time is integer MINUTES (never floats). Months are stored as the date of
their first day. Users are never deleted (erasure anonymises the row), so foreign keys to `users`
are plain, or SET NULL where the eraser unlinks a record from the person.

Lifecycle (DESIGN §4): a membership is created on a basis (fee | reciprocity) and is then
active ⇄ paused (reciprocity only), active → payment_due (fee: a payment failed) → active (paid)
or → lapsed (14 days unpaid) → active (a later retry paid) ; any live state → ended (left, or the
subscription was deleted at Stripe). `live` is True for every state but ended, and NULL once
ended, so UNIQUE(organisation_id, user_id, live) allows one live membership per person per ULO
(NULLs never collide) on SQLite and PostgreSQL alike, without a partial index.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
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
from marketplace.organisations.models import Organisation

MAX_FEE_PENCE = 10_000  # £100 a month: above this it is not a ULO membership fee
MAX_COMMITMENT_MINUTES = 80 * 60  # 80 hours a month
MAX_ENTRY_MINUTES = 24 * 60  # one log entry covers at most one day
PAYMENT_GRACE_DAYS = 14
STRIPE_ID = 255
MAX_WHAT = 2000
MAX_PLACE = 200


class Basis(enum.StrEnum):
    FEE = "fee"
    RECIPROCITY = "reciprocity"


class MembershipStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    PAYMENT_DUE = "payment_due"
    LAPSED = "lapsed"
    ENDED = "ended"


class GivingKind(enum.StrEnum):
    """The kinds of giving back a ULO may accept."""

    BUDDY = "buddy"
    OCCASIONAL_PA = "occasional_pa"
    EVENTS = "events"
    PEER_GROUP = "peer_group"
    OTHER = "other"


# Kinds of task only members that staff have cleared (e.g. after a DBS check) may take on.
NEEDS_CLEARANCE = frozenset({GivingKind.OCCASIONAL_PA.value})


class Standing(enum.StrEnum):
    """A reciprocity member's standing for one month."""

    GOOD = "good"
    SHORT = "short"  # the month is over and fell short
    SO_FAR = "so_far"  # the month is still going and the hours are not all given yet
    PAUSED = "paused"
    FORGIVEN = "forgiven"
    NOT_APPLICABLE = "not_applicable"  # fee basis, or before the member joined


class LogStatus(enum.StrEnum):
    LOGGED = "logged"  # waiting for the person helped or staff to confirm
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class AccountKind(enum.StrEnum):
    GIVEN = "given"  # a member's hours given (credited)
    RECEIVED = "received"  # a person's, or the ULO's, hours received (debited)


class HelpRequestStatus(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"  # the requester chose an offer
    DONE = "done"  # the hours were logged and confirmed
    CANCELLED = "cancelled"


class OfferStatus(enum.StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"  # another offer was accepted
    WITHDRAWN = "withdrawn"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class MembershipOffer(Base):
    """What one ULO asks of its members: a monthly fee, reciprocity hours, or both."""

    __tablename__ = "membership_offers"
    __table_args__ = (
        CheckConstraint(
            f"fee_pence IS NULL OR (fee_pence > 0 AND fee_pence <= {MAX_FEE_PENCE})",
            name="fee_range",
        ),
        CheckConstraint(
            "reciprocity_minutes IS NULL OR "
            f"(reciprocity_minutes > 0 AND reciprocity_minutes <= {MAX_COMMITMENT_MINUTES})",
            name="reciprocity_range",
        ),
        CheckConstraint(
            "fee_pence IS NOT NULL OR reciprocity_minutes IS NOT NULL", name="some_basis"
        ),
        CheckConstraint("fee_pence IS NULL OR stripe_plan_id IS NOT NULL", name="fee_has_plan"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), unique=True
    )
    fee_pence: Mapped[int | None] = mapped_column(Integer)
    # The Stripe Plan new subscriptions use; a changed fee makes a new plan.
    stripe_plan_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    reciprocity_minutes: Mapped[int | None] = mapped_column(Integer)
    # Comma-separated GivingKind values.
    reciprocity_kinds: Mapped[str] = mapped_column(String(200), default="")
    # The ULO's choice: no fee is taken while a fee member is on a wellbeing break.
    pause_fee_on_break: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    organisation: Mapped[Organisation] = relationship()

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in self.reciprocity_kinds.split(",") if k)


class Membership(Base):
    """One person's membership of one ULO."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("organisation_id", "user_id", "live"),
        CheckConstraint(_in("basis", Basis), name="basis_known"),
        CheckConstraint(
            "pending_basis IS NULL OR " + _in("pending_basis", Basis), name="pending_known"
        ),
        CheckConstraint(_in("status", MembershipStatus), name="status_known"),
        CheckConstraint(
            "(status = 'ended' AND live IS NULL) OR (status <> 'ended' AND live IS NOT NULL)",
            name="live_matches_status",
        ),
        CheckConstraint(
            f"commitment_minutes >= 0 AND commitment_minutes <= {MAX_COMMITMENT_MINUTES}",
            name="commitment_range",
        ),
        CheckConstraint(
            "(pending_basis IS NULL) = (pending_from IS NULL)", name="pending_has_month"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    basis: Mapped[str] = mapped_column(String(20))
    # The first month the current basis applies to (standing is only owed from then).
    basis_from: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=MembershipStatus.ACTIVE.value)
    live: Mapped[bool | None] = mapped_column(Boolean, default=True)
    # Reciprocity: minutes a month the member committed to (copied from the offer on joining).
    commitment_minutes: Mapped[int] = mapped_column(Integer, default=0)
    # A switch of basis waiting for the month it takes effect.
    pending_basis: Mapped[str | None] = mapped_column(String(20))
    pending_from: Mapped[date | None] = mapped_column(Date)
    # Fee: a failed payment must be put right by this time, or the membership lapses.
    payment_due_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminder_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Fee: the member left; the subscription ends at the end of the period paid for.
    leaving: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    organisation: Mapped[Organisation] = relationship()
    user: Mapped[User] = relationship()
    subscriptions: Mapped[list[MembershipSubscription]] = relationship(
        back_populates="membership", order_by="MembershipSubscription.id"
    )
    pauses: Mapped[list[MembershipPause]] = relationship(
        back_populates="membership", order_by="MembershipPause.id"
    )

    @property
    def is_live(self) -> bool:
        return self.status != MembershipStatus.ENDED.value


class MembershipSubscription(Base):
    """A Stripe subscription paying a membership fee. A membership that switches back to the fee
    gets a new one, so fee income stays traceable by subscription id."""

    __tablename__ = "membership_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), index=True)
    stripe_subscription_id: Mapped[str] = mapped_column(String(STRIPE_ID), unique=True)
    stripe_plan_id: Mapped[str] = mapped_column(String(STRIPE_ID))
    fee_pence: Mapped[int] = mapped_column(Integer)
    current_period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The `created` time of the last Stripe event applied: older events are stale and ignored.
    last_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set while Stripe is told to take nothing (pause_collection, during a break).
    collection_paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    membership: Mapped[Membership] = relationship(back_populates="subscriptions")


class MembershipPause(Base):
    """A member paused their commitment (for their health; no reason asked). ends_on NULL: until
    they resume."""

    __tablename__ = "membership_pauses"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    membership: Mapped[Membership] = relationship(back_populates="pauses")


class ForgivenMonth(Base):
    """Staff forgave a member's shortfall for one month."""

    __tablename__ = "membership_forgiven_months"
    __table_args__ = (UniqueConstraint("membership_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    month: Mapped[date] = mapped_column(Date)
    forgiven_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    forgiven_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TimeLog(Base):
    """Time a reciprocity member says they gave. It counts once confirmed, when it is posted to
    the time ledger. Erasure unlinks the people (giver, recipient, membership) and keeps the
    minutes, so the ULO's totals and the ledger stay right."""

    __tablename__ = "membership_time_logs"
    __table_args__ = (
        CheckConstraint(f"minutes > 0 AND minutes <= {MAX_ENTRY_MINUTES}", name="minutes_range"),
        CheckConstraint(_in("kind", GivingKind), name="kind_known"),
        CheckConstraint(_in("status", LogStatus), name="status_known"),
        CheckConstraint(
            "status <> 'confirmed' OR confirmed_at IS NOT NULL", name="confirmed_has_time"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    membership_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL"), index=True
    )
    giver_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # The person helped; NULL with for_ulo true means the ULO itself.
    recipient_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    for_ulo: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(20))
    given_on: Mapped[date] = mapped_column(Date, index=True)
    minutes: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=LogStatus.LOGGED.value, index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    giver: Mapped[User | None] = relationship(foreign_keys=[giver_id])
    recipient: Mapped[User | None] = relationship(foreign_keys=[recipient_id])


class TimeAccount(Base):
    """An account in the time ledger: a member's hours given, a person's or a ULO's received.

    `key` names it uniquely ("org:3:given:user:7", "org:3:received:ulo"); erasure renames a
    person's accounts to "org:3:given:erased:<account id>" and drops the user link."""

    __tablename__ = "membership_time_accounts"
    __table_args__ = (CheckConstraint(_in("kind", AccountKind), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TimeEntry(Base):
    """One leg of a time-ledger transaction, in minutes: the giver's account is credited
    (negative), the recipient's debited (positive); each confirmed log's legs sum to zero."""

    __tablename__ = "membership_time_entries"
    __table_args__ = (
        CheckConstraint("minutes <> 0", name="minutes_not_zero"),
        UniqueConstraint("time_log_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    time_log_id: Mapped[int] = mapped_column(ForeignKey("membership_time_logs.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("membership_time_accounts.id"), index=True)
    minutes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Clearance(Base):
    """Staff cleared a member for a kind of task (e.g. occasional PA work after a DBS check)."""

    __tablename__ = "membership_clearances"
    __table_args__ = (
        UniqueConstraint("organisation_id", "user_id", "kind"),
        CheckConstraint(_in("kind", GivingKind), name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cleared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HelpRequest(Base):
    """Someone asked a ULO for help; a reciprocity member may take it on."""

    __tablename__ = "membership_help_requests"
    __table_args__ = (
        CheckConstraint(_in("kind", GivingKind), name="kind_known"),
        CheckConstraint(_in("status", HelpRequestStatus), name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    requester_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    what: Mapped[str] = mapped_column(Text)
    needed_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    place: Mapped[str | None] = mapped_column(String(MAX_PLACE))
    status: Mapped[str] = mapped_column(
        String(20), default=HelpRequestStatus.OPEN.value, index=True
    )
    time_log_id: Mapped[int | None] = mapped_column(ForeignKey("membership_time_logs.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The thread between the requester and the helper: when each last opened it (so a new
    # message emails the other once per batch), and whether each chose to show the other
    # their email address (contact details are only ever shared by choice).
    requester_read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    helper_read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    requester_shares_email: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    helper_shares_email: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    organisation: Mapped[Organisation] = relationship()
    requester: Mapped[User | None] = relationship()
    offers: Mapped[list[HelpOffer]] = relationship(
        back_populates="help_request", order_by="HelpOffer.id", cascade="all, delete-orphan"
    )
    messages: Mapped[list[HelpMessage]] = relationship(
        back_populates="help_request", order_by="HelpMessage.id", cascade="all, delete-orphan"
    )


class HelpOffer(Base):
    """A reciprocity member offered to take a help request."""

    __tablename__ = "membership_help_offers"
    __table_args__ = (
        UniqueConstraint("help_request_id", "user_id"),
        CheckConstraint(_in("status", OfferStatus), name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    help_request_id: Mapped[int] = mapped_column(
        ForeignKey("membership_help_requests.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=OfferStatus.OFFERED.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    help_request: Mapped[HelpRequest] = relationship(back_populates="offers")
    user: Mapped[User | None] = relationship()


class HelpMessage(Base):
    """A message in the private thread between the requester and the helper they accepted.
    Nobody else reads it unless it is reported; moderators can hide it."""

    __tablename__ = "membership_help_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    help_request_id: Mapped[int] = mapped_column(
        ForeignKey("membership_help_requests.id", ondelete="CASCADE"), index=True
    )
    sender_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    help_request: Mapped[HelpRequest] = relationship(back_populates="messages")
    sender: Mapped[User | None] = relationship()
