"""Accounts, their roles and password-reset tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, utcnow


class Role(enum.StrEnum):
    """Roles are rows, not subclasses: one person can hold several."""

    HOLDER = "holder"
    CARER = "carer"
    PROVIDER_STAFF = "provider_staff"
    ULO_STAFF = "ulo_staff"
    ADMIN = "admin"


# Roles that reach moderation tools: they need a second factor and get a shorter idle timeout.
MODERATOR_ROLES = (Role.ADMIN, Role.ULO_STAFF)


class UsageIntent(enum.StrEnum):
    """What a person told us, on registering, about how they will use the site."""

    HOLDER = "holder"
    CARER = "carer"
    PROVIDER = "provider"
    ULO = "ulo"


class User(Base):
    """A person with an account. Only display_name is ever shown to other people."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(255))
    usage_intent: Mapped[str] = mapped_column(String(20))
    # Optional and private: never shown to anyone else; exported and erased with the account.
    support_needs: Mapped[str | None] = mapped_column(Text)
    # Bumped on sign-out and password change so that every earlier session cookie stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The 30-second time step of the last code accepted: a code is refused unless it is from a
    # later step, so one seen over someone's shoulder (or replayed) does not work twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by a moderator's suspension: no sign-in before this moment.
    suspended_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by a moderator's "silence": the person can sign in and read, but not post, until then.
    silenced_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.erased_at is None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """Identify the session by user and session version, so old cookies die on sign-out."""
        return f"{self.id}:{self.session_version}"

    def has_role(self, role: Role | str) -> bool:
        """True if this person holds the given role (templates may pass the plain string)."""
        return any(r.role == str(role) for r in self.roles)

    @property
    def has_second_factor(self) -> bool:
        """True once a time-based one-time code has been set up and confirmed."""
        return self.totp_enabled_at is not None


class UserRole(Base):
    """One role held by one person."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")


class PasswordResetToken(Base):
    """A single-use reset link. Only a hash of the token is stored."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EmailChange(Base):
    """A change of email address asked for but not yet (or no longer) in force.

    The address changes only when the link sent to the new one is followed; the old address is
    told, with a link that undoes the change, ends every session and sends a reset link there.
    Only hashes of the two links are stored."""

    __tablename__ = "email_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    old_email: Mapped[str] = mapped_column(String(254))
    new_email: Mapped[str] = mapped_column(String(254))
    confirm_hash: Mapped[str] = mapped_column(String(64), unique=True)
    undo_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirm_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    undo_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when the person said "this was not me", or when a newer change replaced this one.
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PendingRegistration(Base):
    """An account asked for but not yet opened: it opens when the link emailed to the address
    is followed, so that /register answers the same whether or not the address has an account.

    Only a hash of the link's token is kept, with the password already hashed; each new
    request for the same address spends the ones before it."""

    __tablename__ = "pending_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(255))
    usage_intent: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInLink(Base):
    """A single-use emailed sign-in link: the way in for the real person while someone else's
    wrong passwords hold their account's sign-in limit (auth/throttle.py). Only a hash of the
    token is kept."""

    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
