"""The moderation queue: one row per thing waiting for (or given) a moderator's decision."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, utcnow


class QueueState(enum.StrEnum):
    OPEN = "open"
    DECIDED = "decided"
    WITHDRAWN = "withdrawn"


class ReportReason(enum.StrEnum):
    """Why someone reported something (labels in reports.py)."""

    SPAM = "spam"
    ABUSE = "abuse"
    FALSE = "false"
    PRIVACY = "privacy"
    OTHER = "other"
    ILLEGAL = "illegal"
    RISK_TO_PERSON = "risk_to_person"
    RISK_FROM_OTHER = "risk_from_other"
    MONEY_MISUSE = "money_misuse"


class Decision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    # Actions on the thing reported, or on the person who wrote it (see decisions.py).
    HIDE = "hide"
    ASK_EDIT = "ask_edit"
    WARN = "warn"
    SUSPEND = "suspend"
    # Read-only for some days: can sign in, read and leave, cannot post.
    SILENCE = "silence"
    REMOVE = "remove"
    # An appeal's outcome.
    UPHOLD = "uphold"
    OVERTURN = "overturn"


class ModerationItem(Base):
    """Something submitted for moderation: a listing, an edit, later reviews, pools, buddies."""

    __tablename__ = "moderation_items"
    __table_args__ = (Index("ix_moderation_items_subject", "item_type", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_type: Mapped[str] = mapped_column(String(40))
    item_id: Mapped[int] = mapped_column(Integer)
    # Comma-separated ONS council codes, so ULO staff see only their areas' items.
    council_codes: Mapped[str] = mapped_column(String(500), default="")
    summary: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(20), default=QueueState.OPEN.value, index=True)
    decision: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # When the claim was made or last renewed: it lapses if nothing is decided for a while.
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When an urgent item nobody took on was sent to the admins.
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Organisations the item is about (comma-separated ids): their staff may not handle it.
    conflict_org_ids: Mapped[str] = mapped_column(String(200), default="", server_default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A safeguarding report: shown first in the queue, highlighted after a day.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def councils(self) -> list[str]:
        return [c for c in self.council_codes.split(",") if c]

    @property
    def conflict_orgs(self) -> set[int]:
        return {int(o) for o in self.conflict_org_ids.split(",") if o}


class Report(Base):
    """Someone's "Report this" about a listing, review, pool, message or organisation.

    Each report is also a queue item (kind "report"); it is open until a moderator decides it.
    """

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))
    details: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when three people's reports hid the thing while no moderator had acted.
    auto_hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Sanction(Base):
    """A moderator's decision that affects a person: their content hidden, edited, removed,
    or a warning or suspension. The person is told, and can appeal it once."""

    __tablename__ = "sanctions"

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("moderation_items.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(20))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    overturned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Appeal(Base):
    """The affected person's one appeal against a sanction; a queue item (kind "appeal")."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    sanction_id: Mapped[int] = mapped_column(
        ForeignKey("sanctions.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    outcome: Mapped[str | None] = mapped_column(String(20))


class SafeguardingContact(Base):
    """A council's adult safeguarding team, as a ULO or admin recorded it, for moderators."""

    __tablename__ = "safeguarding_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    council_code: Mapped[str] = mapped_column(String(9), unique=True)
    phone: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(255))
    hours: Mapped[str] = mapped_column(String(255))
    out_of_hours: Mapped[str] = mapped_column(String(255), default="", server_default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
