"""Provider organisations and user-led organisations (ULOs), and the staff of each."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.auth.models import User
from marketplace.db import Base, utcnow
from marketplace.places.models import Council


class OrganisationKind(enum.StrEnum):
    PROVIDER = "provider"
    ULO = "ulo"


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class StaffRole(enum.StrEnum):
    OWNER = "owner"
    STAFF = "staff"


organisation_councils = Table(
    "organisation_councils",
    Base.metadata,
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("council_id", ForeignKey("councils.id", ondelete="CASCADE"), primary_key=True),
)


class Organisation(Base):
    """A provider or a ULO. New ones wait for an admin to approve them."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ApprovalStatus.PENDING.value)
    description: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str | None] = mapped_column(String(255))
    public_email: Mapped[str | None] = mapped_column(String(254))
    public_phone: Mapped[str | None] = mapped_column(String(40))
    # Where invoices and members' statements say the provider is (councils ask for it).
    postal_address: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    councils: Mapped[list[Council]] = relationship(
        secondary=organisation_councils, lazy="selectin", order_by=Council.name
    )
    staff: Mapped[list[OrganisationStaff]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )

    @property
    def is_approved(self) -> bool:
        return self.status == ApprovalStatus.APPROVED.value

    @property
    def kind_label(self) -> str:
        return "User-led organisation" if self.kind == OrganisationKind.ULO.value else "Provider"


class OrganisationStaff(Base):
    """A person working for an organisation. Owners approve the staff who ask to join."""

    __tablename__ = "organisation_staff"
    __table_args__ = (UniqueConstraint("organisation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default=StaffRole.STAFF.value)
    status: Mapped[str] = mapped_column(String(20), default=ApprovalStatus.PENDING.value)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organisation: Mapped[Organisation] = relationship(back_populates="staff")
    user: Mapped[User] = relationship()

    @property
    def is_approved(self) -> bool:
        return self.status == ApprovalStatus.APPROVED.value
