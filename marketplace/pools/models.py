"""Pools: holders jointly commissioning a service nobody offers them yet.

Lifecycle (DESIGN §4): pending (waiting for the ULO) -> open (joining and quoting) -> voting ->
funded (a quote chosen and the minimum met; month one held, then taken on its start date) -> running
(commissioned) -> closed; pending -> rejected; open/voting/funded -> lapsed (nobody pays for a
service that does not happen); running -> winding_down -> closed. Nothing is ever deleted: a pool
that lapses keeps its members, quotes, votes and money in and out readable by its members.

Money is an integer number of pence everywhere.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.auth.models import User
from marketplace.db import Base, as_utc, utcnow
from marketplace.organisations.models import Organisation
from marketplace.places.models import Council

MAX_CAP_PENCE = 500_000  # £5,000 a month each: above this it is not a personal-budget pool
MAX_MONTHS = 24
MAX_MEMBERS = 50
MAX_MESSAGE = 5000
GRACE_DAYS = 3  # to fix a card after a failed charge
OFFER_DAYS = 7  # to confirm a place offered from the waiting list


class PoolStatus(enum.StrEnum):
    PENDING = "pending"
    REJECTED = "rejected"
    OPEN = "open"
    VOTING = "voting"
    FUNDED = "funded"
    RUNNING = "running"
    WINDING_DOWN = "winding_down"
    CLOSED = "closed"
    LAPSED = "lapsed"
    CANCELLED = "cancelled"


# Before funding, members may join and leave freely and quotes may come in.
GATHERING = (PoolStatus.OPEN.value, PoolStatus.VOTING.value)


class PayBy(enum.StrEnum):
    CARD = "card"
    MANAGED_ACCOUNT = "managed_account"  # an invoice to the named account holder
    COUNCIL_ARRANGED = "council_arranged"  # an invoice to the council


class MemberStatus(enum.StrEnum):
    MEMBER = "member"
    WAITING = "waiting"  # beyond capacity: in line, in order of joining
    LEFT = "left"
    REMOVED = "removed"  # a payment was not put right in time
    # A place freed and the first person waiting was offered it: they hold the place (nobody
    # else is offered it) but are not a member, and pay nothing, until they confirm.
    OFFERED = "offered"


class QuoteStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    CHOSEN = "chosen"
    NOT_CHOSEN = "not_chosen"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"  # about to be charged
    PAID = "paid"
    ACTION_NEEDED = "action_needed"  # the bank wants the member to confirm
    FAILED = "failed"  # the member has until due_by to put it right
    INVOICED = "invoiced"  # waiting for a managed account or the council to pay
    REFUNDED = "refunded"
    CANCELLED = "cancelled"  # an invoice withdrawn because the pool lapsed
    # Month one is all or nothing: a card share is held (authorised, nothing taken) until the
    # charge date, then taken with every other share, or released with them.
    HELD = "held"
    RELEASED = "released"  # the hold was cancelled: nothing was taken
    # ULO staff confirmed that the managed account or council will pay this invoice: the
    # share counts as secured for month one (nothing is paid until the pool runs).
    ACCEPTED = "accepted"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Pool(Base):
    """A proposal to buy a service together, and everything that follows from it."""

    __tablename__ = "pools"
    __table_args__ = (
        CheckConstraint("min_members >= 2", name="min_members_at_least_two"),
        CheckConstraint("max_members >= min_members", name="max_not_below_min"),
        CheckConstraint(f"max_members <= {MAX_MEMBERS}", name="max_members_limit"),
        CheckConstraint(f"cap_pence > 0 AND cap_pence <= {MAX_CAP_PENCE}", name="cap_range"),
        CheckConstraint(f"months >= 1 AND months <= {MAX_MONTHS}", name="months_range"),
        CheckConstraint(_in("status", PoolStatus), name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)  # what and why
    # A postcode district like LS6; None means the service happens online.
    area: Mapped[str | None] = mapped_column(String(8))
    frequency: Mapped[str] = mapped_column(String(120))  # "weekly, 2 hours"
    min_members: Mapped[int] = mapped_column(Integer)
    max_members: Mapped[int] = mapped_column(Integer)
    cap_pence: Mapped[int] = mapped_column(Integer)  # the most each member pays a month
    months: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[date] = mapped_column(Date)  # to reach the minimum
    status: Mapped[str] = mapped_column(String(20), default=PoolStatus.PENDING.value, index=True)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    end_reason: Mapped[str | None] = mapped_column(Text)  # why it lapsed, closed or was cancelled
    vote_closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why the last vote chose what it chose (or nothing), written when it closed from the same
    # count the winner rule used (quotes.explain), so the page never re-counts a changed pool.
    vote_outcome: Mapped[str | None] = mapped_column(Text)
    # When the proposer was told the last moment to open a vote was near (once per pool).
    open_by_reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    chosen_quote_id: Mapped[int | None] = mapped_column(
        ForeignKey("pool_quotes.id", use_alter=True, ondelete="SET NULL")
    )
    # Bumped by every join and leave: the first write of the transaction, so that concurrent
    # joins queue behind each other on both PostgreSQL (row lock) and SQLite (write lock).
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    funded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    commissioned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    months_started: Mapped[int] = mapped_column(Integer, default=0)  # months charged so far
    # The last month whose "charged in 3 days" reminder was noted: one reminder per month.
    reminded_month: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    proposer: Mapped[User | None] = relationship()
    council: Mapped[Council] = relationship()
    members: Mapped[list[PoolMember]] = relationship(
        back_populates="pool", order_by="PoolMember.id"
    )
    quotes: Mapped[list[Quote]] = relationship(
        back_populates="pool", order_by="Quote.id", foreign_keys="Quote.pool_id"
    )
    messages: Mapped[list[PoolMessage]] = relationship(order_by="PoolMessage.id")
    loans: Mapped[list[PlaceLoan]] = relationship(order_by="PlaceLoan.id")

    @property
    def current_members(self) -> list[PoolMember]:
        return [m for m in self.members if m.status == MemberStatus.MEMBER.value]

    @property
    def waiting_list(self) -> list[PoolMember]:
        """The people waiting, first in line first (a rejoiner's row keeps its id but not its
        place, so the order is by when they joined)."""
        waiting = [m for m in self.members if m.status == MemberStatus.WAITING.value]
        return sorted(waiting, key=lambda m: (as_utc(m.joined_at), m.id))

    @property
    def offered(self) -> list[PoolMember]:
        """People offered a freed place who have not confirmed yet: they hold the place."""
        return [m for m in self.members if m.status == MemberStatus.OFFERED.value]

    @property
    def is_gathering(self) -> bool:
        return self.status in GATHERING


class PoolMember(Base):
    """Someone's pledge to a pool: the most they will pay a month, and how."""

    __tablename__ = "pool_members"
    __table_args__ = (
        UniqueConstraint("pool_id", "user_id"),
        CheckConstraint("max_pence > 0", name="max_positive"),
        CheckConstraint(_in("status", MemberStatus), name="status_known"),
        CheckConstraint(_in("pay_by", PayBy), name="pay_by_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    max_pence: Mapped[int] = mapped_column(Integer)
    pay_by: Mapped[str] = mapped_column(String(20))
    invoice_to: Mapped[str | None] = mapped_column(String(200))  # the account holder to invoice
    # Where the account holder's invoices go, and their reference for this person (optional).
    invoice_email: Mapped[str | None] = mapped_column(String(254))
    invoice_reference: Mapped[str | None] = mapped_column(String(60))
    payment_method_id: Mapped[str | None] = mapped_column(String(255))
    card_description: Mapped[str | None] = mapped_column(String(60))  # "Visa ending 4242"
    terms: Mapped[str] = mapped_column(Text, default="")  # exactly what they agreed to
    terms_agreed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    leave_after_month: Mapped[int | None] = mapped_column(Integer)  # running pools only
    # Until when an offered place can be confirmed (status OFFERED only).
    offer_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Someone who took an offered place in a funded or running pool pays from this month: the
    # first whose charge was at least `schedule.NOTICE_DAYS` after they were told their share.
    from_month: Mapped[int | None] = mapped_column(Integer)

    pool: Mapped[Pool] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class ShareNotice(Base):
    """What a member was told they will pay for one month of a running pool, and when: a rise
    is charged only `schedule.NOTICE_DAYS` after it was told (see rises.py)."""

    __tablename__ = "pool_share_notices"
    __table_args__ = (
        UniqueConstraint("pool_id", "user_id", "month"),
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint("month >= 1", name="month_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    month: Mapped[int] = mapped_column(Integer)
    amount_pence: Mapped[int] = mapped_column(Integer)
    told_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PlaceLoan(Base):
    """A member away on a break lends their place to the first person waiting, for the pool's
    months from `from_month` to `to_month` (None: until the member comes back). In those months
    the borrower pays the share and the lender does not."""

    __tablename__ = "pool_place_loans"
    __table_args__ = (CheckConstraint("from_month >= 1", name="from_month_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"), index=True)
    lender_id: Mapped[int] = mapped_column(ForeignKey("pool_members.id"), index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("pool_members.id"), index=True)
    from_month: Mapped[int] = mapped_column(Integer)
    to_month: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    lender: Mapped[PoolMember] = relationship(foreign_keys=[lender_id])
    borrower: Mapped[PoolMember] = relationship(foreign_keys=[borrower_id])

    def covers(self, month: int) -> bool:
        return self.from_month <= month and (self.to_month is None or month <= self.to_month)


class Quote(Base):
    """A provider's offer to run the pool's service, with a price per member at each size."""

    __tablename__ = "pool_quotes"
    __table_args__ = (CheckConstraint(_in("status", QuoteStatus), name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    start_date: Mapped[date] = mapped_column(Date)
    terms: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=QuoteStatus.SUBMITTED.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    pool: Mapped[Pool] = relationship(back_populates="quotes", foreign_keys=[pool_id])
    organisation: Mapped[Organisation] = relationship()
    prices: Mapped[list[QuotePrice]] = relationship(
        order_by="QuotePrice.members", cascade="all, delete-orphan"
    )

    def per_member_pence(self, members: int) -> int | None:
        """The most any member pays a month at this group size, if the quote covers it (what
        is checked against each member's maximum; `shares.split` says who pays what)."""
        price = self.price_at(members)
        return price.per_member_pence if price is not None else None

    def price_at(self, members: int) -> QuotePrice | None:
        """The quote's price for a group of this size, if it covers it."""
        for price in self.prices:
            if price.members == members:
                return price
        return None


class QuotePrice(Base):
    """Each member's monthly share when the group is this size."""

    __tablename__ = "pool_quote_prices"
    __table_args__ = (
        UniqueConstraint("quote_id", "members"),
        CheckConstraint("per_member_pence > 0", name="price_positive"),
        CheckConstraint("members >= 1", name="members_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("pool_quotes.id", ondelete="CASCADE"))
    members: Mapped[int] = mapped_column(Integer)
    # The most any member pays at this size (the group's total shared, rounded up).
    per_member_pence: Mapped[int] = mapped_column(Integer)
    # What the whole group pays a month at this size; shares add up to exactly this (see
    # shares.split). None for a price given per member: then it is per_member_pence x members.
    total_pence: Mapped[int | None] = mapped_column(Integer)

    @property
    def group_total(self) -> int:
        return (
            self.total_pence
            if self.total_pence is not None
            else (self.per_member_pence * self.members)
        )


class Vote(Base):
    """One member, one vote, per pool."""

    __tablename__ = "pool_votes"
    __table_args__ = (UniqueConstraint("pool_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    quote_id: Mapped[int] = mapped_column(ForeignKey("pool_quotes.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PoolPayment(Base):
    """One member's share for one month of a pool: charged to a card or invoiced.

    Unique per (pool, member, month): the monthly job may run twice or on two machines and
    still make one payment row, and its card charge uses a key made from the same three.
    """

    __tablename__ = "pool_payments"
    __table_args__ = (
        UniqueConstraint("pool_id", "user_id", "month"),
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint("month >= 1", name="month_positive"),
        CheckConstraint(_in("status", PaymentStatus), name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    month: Mapped[int] = mapped_column(Integer)
    amount_pence: Mapped[int] = mapped_column(Integer)
    pay_by: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.PENDING.value)
    charge_id: Mapped[int | None] = mapped_column(ForeignKey("payment_charges.id"))
    invoice_to: Mapped[str | None] = mapped_column(String(200))
    due_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message: Mapped[str | None] = mapped_column(String(300))  # the bank's answer, in our words
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # invoice paid
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the card hold was placed, on the job's clock: Stripe drops a hold after 7 days, so
    # an older one is placed again before it is counted on (`funding._renew_stale_holds`).
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    pool: Mapped[Pool] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class PoolMessage(Base):
    """The pool's discussion, visible to everyone who can see the pool."""

    __tablename__ = "pool_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Hidden after reports: only its author (and moderators) still see it, as "under review".
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    author: Mapped[User | None] = relationship()


class InvoiceStatus(enum.StrEnum):
    OPEN = "open"  # sent; not yet paid in full
    PAID = "paid"
    CANCELLED = "cancelled"  # the pool lapsed or was cancelled before it was due: nothing owed


class Invoice(Base):
    """The invoice for one invoiced share (a managed account or the council pays it).

    Numbered INV-<year>-<sequence> when it is raised, UNIQUE (year, sequence), never deleted or
    renumbered. Who it is to is copied from the member's pledge when it is raised, so the
    document reads the same for ever. `access_token` makes the link in the account holder's
    email: they have no account here, and the email itself carries nothing private.
    """

    __tablename__ = "pool_invoices"
    __table_args__ = (
        UniqueConstraint("year", "sequence"),
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint("sequence > 0", name="sequence_positive"),
        CheckConstraint("due_on >= raised_on", name="due_after_raised"),
        CheckConstraint("reminders_sent BETWEEN 0 AND 3", name="reminders_known"),
        CheckConstraint(_in("status", InvoiceStatus), name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    payment_id: Mapped[int] = mapped_column(ForeignKey("pool_payments.id"), unique=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount_pence: Mapped[int] = mapped_column(Integer)
    bill_to: Mapped[str] = mapped_column(String(200))
    bill_to_email: Mapped[str] = mapped_column(String(254))
    bill_to_reference: Mapped[str | None] = mapped_column(String(60))
    raised_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=InvoiceStatus.OPEN.value)
    # Reminders sent so far: 1 = 7 days before the due date, 2 = the day before, 3 = on it.
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    # Unpaid after its due date: the place goes if it is still unpaid when this grace ends.
    overdue_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the job acted on the end of that grace (the place ended, or there was none to end).
    grace_ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    access_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    payment: Mapped[PoolPayment] = relationship()
    pool: Mapped[Pool] = relationship()
    user: Mapped[User] = relationship()
    received: Mapped[list[InvoicePayment]] = relationship(
        back_populates="invoice", order_by="InvoicePayment.id"
    )

    @property
    def paid_pence(self) -> int:
        return sum(p.amount_pence for p in self.received)

    @property
    def balance_pence(self) -> int:
        return self.amount_pence - self.paid_pence


class InvoicePayment(Base):
    """Money received against an invoice, as ULO staff or an admin recorded it (part or all)."""

    __tablename__ = "pool_invoice_payments"
    __table_args__ = (CheckConstraint("amount_pence > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("pool_invoices.id"), index=True)
    amount_pence: Mapped[int] = mapped_column(Integer)
    received_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(60))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="received")
    recorded_by: Mapped[User | None] = relationship()
