"""Receipts: one numbered receipt for every successful payment, written once and never changed.

A receipt is a financial record, like the payments it is for: it must outlive the payer's
account, so the foreign key to `users` is plain (erasure keeps the user row, anonymised) and no
eraser removes it. What the receipt says (what for, the service period, who provides it, how it
was paid, the seller of record) is copied onto the row when it is issued, so the document the
payer was sent reads the same for ever, whatever later happens to the pool, the provider's
details or the platform's configuration. Only a later refund is read live from the payment.

One receipt per source, by UNIQUE constraints: a payments Charge (a pool share or any card
charge) or a payments LedgerEntry for a paid subscription invoice (a membership fee). The
number is "R-<year>-<sequence>", the sequence counting up within the year of issue; UNIQUE
(year, sequence) keeps two workers from giving out the same number, and receipts are never
deleted, so a number is never reused.
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
from marketplace.db import Base, utcnow
from marketplace.payments.models import Charge, LedgerEntry

MAX_NUMBER = 20
MAX_WHAT_FOR = 300
MAX_NAME = 200
MAX_ADDRESS = 500
MAX_PAID_BY = 120


class SourceKind(enum.StrEnum):
    """What a receipt is for, at the payments level."""

    CHARGE = "charge"  # a card charge (payments Charge), e.g. a pool share
    INVOICE = "invoice"  # a paid Stripe subscription invoice (payments LedgerEntry), a fee


def receipt_number(year: int, sequence: int) -> str:
    """R-2026-000123: the year it was issued and its place in that year."""
    return f"R-{year}-{sequence:06d}"


class Receipt(Base):
    """One successful payment's receipt, as it was issued."""

    __tablename__ = "receipts"
    __table_args__ = (
        UniqueConstraint("year", "sequence"),
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint("sequence > 0", name="sequence_positive"),
        CheckConstraint("period_end >= period_start", name="period_in_order"),
        CheckConstraint(
            "(source_kind = 'charge' AND charge_id IS NOT NULL AND ledger_entry_id IS NULL)"
            " OR (source_kind = 'invoice' AND ledger_entry_id IS NOT NULL AND charge_id IS NULL)",
            name="one_source",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(MAX_NUMBER), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    source_kind: Mapped[str] = mapped_column(String(20))
    # The guards of "exactly once": a payment can have one receipt, however many workers run.
    charge_id: Mapped[int | None] = mapped_column(ForeignKey("payment_charges.id"), unique=True)
    ledger_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_ledger_entries.id"), unique=True
    )
    purpose: Mapped[str] = mapped_column(String(40))  # "pool", "membership", ...
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount_pence: Mapped[int] = mapped_column(Integer)
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    what_for: Mapped[str] = mapped_column(String(MAX_WHAT_FOR))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # the last day of the service, inclusive
    provider_name: Mapped[str] = mapped_column(String(MAX_NAME))
    provider_address: Mapped[str | None] = mapped_column(String(MAX_ADDRESS))
    paid_by: Mapped[str] = mapped_column(String(MAX_PAID_BY))
    seller_name: Mapped[str] = mapped_column(String(MAX_NAME))
    seller_address: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship()
    charge: Mapped[Charge | None] = relationship()
    ledger_entry: Mapped[LedgerEntry | None] = relationship()
