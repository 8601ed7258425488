"""Shortlists, enquiry threads between a holder and a provider, reviews and provider replies."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.auth.models import User
from marketplace.db import Base, utcnow
from marketplace.providers.models import Listing

MAX_MESSAGE = 5000
MAX_SUBJECT = 120
MAX_REVIEW = 2000
MAX_REPLY = 2000


class Side(enum.StrEnum):
    """Which side of an enquiry wrote a message."""

    HOLDER = "holder"  # the holder, or a carer writing for them
    PROVIDER = "provider"  # approved staff of the listing's organisation


class ReviewStatus(enum.StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    REJECTED = "rejected"


class ShortlistEntry(Base):
    """A service a person has saved to look at again. One row per (person, listing)."""

    __tablename__ = "shortlist_entries"
    # The unique constraint's index (user_id first) also serves "this person's shortlist".
    __table_args__ = (UniqueConstraint("user_id", "listing_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), index=True
    )
    # The carer who added it for the holder, if it was not the holder.
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    listing: Mapped[Listing] = relationship()


class Enquiry(Base):
    """A message thread between a holder (or their carer) and a provider's staff about a service."""

    __tablename__ = "enquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), index=True
    )
    # The person the enquiry is for; sent_by is who wrote it (a carer, or the holder themselves).
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sent_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str] = mapped_column(String(MAX_SUBJECT))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the latest message was written, for ordering the lists of threads.
    last_message_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    listing: Mapped[Listing] = relationship()
    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    sent_by: Mapped[User | None] = relationship(foreign_keys=[sent_by_id])
    messages: Mapped[list[EnquiryMessage]] = relationship(
        back_populates="enquiry",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="EnquiryMessage.id",
    )

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    @property
    def last_side(self) -> str | None:
        """Which side wrote last (to show "waiting for your reply")."""
        return self.messages[-1].side if self.messages else None


class EnquiryMessage(Base):
    """One message in an enquiry thread. Shown to the other side by display name only."""

    __tablename__ = "enquiry_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    enquiry_id: Mapped[int] = mapped_column(
        ForeignKey("enquiries.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    side: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    enquiry: Mapped[Enquiry] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship(lazy="joined")


class Review(Base):
    """A holder's rating and words about a service. Public only once a moderator approves it."""

    __tablename__ = "reviews"
    # The unique constraint's index (listing_id first) also serves "this service's reviews".
    __table_args__ = (
        UniqueConstraint("listing_id", "author_id"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ReviewStatus.PENDING.value, index=True)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Hidden after reports: only its author (and moderators) still see it, as "under review".
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    listing: Mapped[Listing] = relationship()
    author: Mapped[User] = relationship(lazy="joined")
    reply: Mapped[ReviewReply | None] = relationship(
        back_populates="review", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_published(self) -> bool:
        return self.status == ReviewStatus.PUBLISHED.value


class ReviewReply(Base):
    """The provider's one reply to a published review; moderated like the review."""

    __tablename__ = "review_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), unique=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ReviewStatus.PENDING.value)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    review: Mapped[Review] = relationship(back_populates="reply")

    @property
    def is_published(self) -> bool:
        return self.status == ReviewStatus.PUBLISHED.value
