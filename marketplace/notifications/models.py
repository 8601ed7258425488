"""How a person wants to be emailed, emails held back for them, and one-click action links."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, utcnow


class Frequency(enum.StrEnum):
    EACH = "each"  # every email as it happens (the default: no row needed)
    WEEKLY_DIGEST = "weekly_digest"  # one email a week; money that is due still goes at once


class HeldReason(enum.StrEnum):
    DIGEST = "digest"  # they chose a weekly digest
    BREAK = "break"  # they are on a break: kept until they come back


class EmailPreference(Base):
    """One row per person who changed how we email them."""

    __tablename__ = "email_preferences"
    __table_args__ = (CheckConstraint("frequency IN ('each', 'weekly_digest')", name="frequency"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    frequency: Mapped[str] = mapped_column(String(20), default=Frequency.EACH.value)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class DigestItem(Base):
    """An email not sent on its own: it goes out in the person's next digest."""

    __tablename__ = "digest_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ActionLink(Base):
    """A one-click link in an email: single use, expiring, acting as one person. Only the
    SHA-256 of the token is kept, so a copy of the database cannot be used to click them."""

    __tablename__ = "action_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(50))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
