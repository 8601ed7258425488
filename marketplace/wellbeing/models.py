"""A break: a person steps back from every commitment at once without losing their place."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.auth.models import User
from marketplace.db import Base, as_utc, utcnow


class BreakLength(enum.StrEnum):
    WEEK = "week"
    MONTH = "month"
    OPEN = "open"  # until I come back


class PausedKind(enum.StrEnum):
    """What a break paused, so coming back resumes exactly that and nothing else."""

    MATCH = "match"
    MEMBERSHIP = "membership"
    BUDDY_PROFILE = "buddy_profile"
    BUDDY_REQUEST = "buddy_request"
    FEE = "fee"  # a fee membership's fee (ref_id: the membership), when the ULO allows it


class Break(Base):
    """One break. Live while ended_at is null and (ends_at is null or still ahead)."""

    __tablename__ = "wellbeing_breaks"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    length: Mapped[str] = mapped_column(String(10))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # None: until I come back.
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # A carer who started it for the person; None when the person did.
    started_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    ended_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    offer_pool_places: Mapped[bool] = mapped_column(Boolean, default=False)
    # False when the person's crisis plan asked for emails to keep coming during a break.
    hold_emails: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    paused: Mapped[list[BreakPaused]] = relationship(
        back_populates="brk", cascade="all, delete-orphan", order_by="BreakPaused.id"
    )

    def live_at(self, now: datetime) -> bool:
        if self.ended_at is not None or as_utc(self.starts_at) > now:
            return False
        return self.ends_at is None or as_utc(self.ends_at) > now


class BreakPaused(Base):
    """One thing this break paused (a pairing, a membership, ...): kind + id."""

    __tablename__ = "wellbeing_break_paused"
    __table_args__ = (UniqueConstraint("break_id", "kind", "ref_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    break_id: Mapped[int] = mapped_column(
        ForeignKey("wellbeing_breaks.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[int] = mapped_column(Integer)

    brk: Mapped[Break] = relationship(back_populates="paused")
