"""A crisis plan: what a person, when well, wants to happen if they become unwell.

Private: only the person and the people they named in it may see it (see crisis_plans.py).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.auth.models import User
from marketplace.carers.models import CarerGrant
from marketplace.db import Base, utcnow

MESSAGE_MAX = 5000
DAYS_MAX = 90


class ContactRelation(enum.StrEnum):
    """Why the person can name someone: only people they already have."""

    CARER = "carer"
    BUDDY = "buddy"
    ULO = "ulo"  # a staff contact at a user-led organisation they are a member of


class CrisisPlan(Base):
    """One per person. The delegate's grant stays dormant (expired) until a break starts."""

    __tablename__ = "wellbeing_crisis_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True, index=True
    )
    # What a break pauses (marketplace/wellbeing/breaks.py): what is left unticked carries on.
    pause_buddies: Mapped[bool] = mapped_column(Boolean, default=True)
    pause_emails: Mapped[bool] = mapped_column(Boolean, default=True)
    # Who may act for them during a break: the grant is the plan's own, time-limited one.
    grant_id: Mapped[int | None] = mapped_column(
        ForeignKey("carer_grants.id", ondelete="SET NULL"), index=True
    )
    delegate_days: Mapped[int] = mapped_column(Integer, default=7)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    grant: Mapped[CarerGrant | None] = relationship(foreign_keys=[grant_id])
    contacts: Mapped[list[CrisisPlanContact]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="CrisisPlanContact.id"
    )


class CrisisPlanContact(Base):
    """One person to tell when a break starts; they may also read the plan."""

    __tablename__ = "wellbeing_crisis_plan_contacts"
    __table_args__ = (UniqueConstraint("plan_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("wellbeing_crisis_plans.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(String(10))

    plan: Mapped[CrisisPlan] = relationship(back_populates="contacts")
    user: Mapped[User] = relationship()
