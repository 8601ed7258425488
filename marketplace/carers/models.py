"""Carer grants: a holder lets someone act for them within scopes they choose."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.auth.models import User
from marketplace.db import Base, as_utc, utcnow


class CarerScope(enum.StrEnum):
    VIEW = "view"
    SERVICES = "services"
    POOLS = "pools"
    BUDDYING = "buddying"
    MEMBERSHIPS = "memberships"
    WELLBEING = "wellbeing"


SCOPE_LABELS = {
    CarerScope.VIEW: "See my account and what I have joined",
    # Not part of "view": seeing is not acting. Grants made before this scope existed keep
    # what their label said (view only); the holder adds this one if they want it.
    CarerScope.SERVICES: "Act for me on services (shortlist, send enquiries and replies)",
    CarerScope.POOLS: "Act for me on pools (join, leave, vote, pay)",
    CarerScope.BUDDYING: "Act for me on budget buddying",
    CarerScope.MEMBERSHIPS: "Act for me on memberships of user-led organisations",
    CarerScope.WELLBEING: "Start or end a break from everything for me",
}


class GrantStatus(enum.StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    REVOKED = "revoked"


class CarerGrant(Base):
    """Permission from a holder to one carer. Revocable at any time by the holder."""

    __tablename__ = "carer_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    carer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    invited_email: Mapped[str] = mapped_column(String(254))
    # Comma-separated CarerScope values: a small fixed set, read far more often than written.
    scopes: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default=GrantStatus.INVITED.value)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set for a time-limited grant (a crisis plan's): it acts only until then. None: no limit.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    carer: Mapped[User | None] = relationship(foreign_keys=[carer_id])

    @property
    def scope_set(self) -> frozenset[CarerScope]:
        return frozenset(CarerScope(s) for s in self.scopes.split(",") if s)

    def is_live(self, now: datetime | None = None) -> bool:
        """Active and, if time-limited, not yet expired."""
        if self.status != GrantStatus.ACTIVE.value:
            return False
        return self.expires_at is None or as_utc(self.expires_at) > (now or utcnow())

    def allows(self, scope: CarerScope, now: datetime | None = None) -> bool:
        """True if the grant is live and covers this scope."""
        return self.is_live(now) and scope in self.scope_set


class CarerAction(Base):
    """One thing a carer did for a holder, shown to the holder as "by <carer> for you"."""

    __tablename__ = "carer_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int | None] = mapped_column(
        ForeignKey("carer_grants.id", ondelete="SET NULL"), index=True
    )
    carer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    carer: Mapped[User | None] = relationship(foreign_keys=[carer_id])
