"""Payment records: Stripe customers, charges (the exactly-once record), the ledger, webhooks.

Money is an integer number of pence. These are financial records: they must outlive a person's
account, so foreign keys to `users` are plain (no cascade). Erasure keeps the user row,
anonymised, so the records stay valid; the Stripe ids here hold no personal data of ours.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, utcnow

MAX_KEY = 200
MAX_REFERENCE = 200
STRIPE_ID = 255


class ChargeStatus(enum.StrEnum):
    """Where an off-session charge stands."""

    PENDING = "pending"  # row written; Stripe not yet answered (or the money is processing)
    SUCCEEDED = "succeeded"
    REQUIRES_ACTION = "requires_action"  # the bank wants the holder present to approve it
    FAILED = "failed"
    REFUNDED = "refunded"
    # A hold (capture_method=manual): Stripe's requires_capture. The card is authorised for
    # the amount and nothing is taken until it is captured (then SUCCEEDED) or released.
    HELD = "held"
    RELEASED = "released"  # a hold cancelled at Stripe (canceled): nothing was ever taken


class LedgerKind(enum.StrEnum):
    """What kind of money movement a ledger entry records."""

    CHARGE = "charge"
    REFUND = "refund"
    SUBSCRIPTION_PAYMENT = "subscription_payment"
    PAYOUT_OWED = "payout_owed"
    # Money an account holder paid against an invoice we sent (a bank transfer, recorded by
    # staff when it arrived): no Stripe object; the reference is "<purpose>:<invoice number>".
    INVOICE_PAYMENT = "invoice_payment"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class PaymentCustomer(Base):
    """A person's Stripe customer: created once and reused for every card and charge."""

    __tablename__ = "payment_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(STRIPE_ID), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Charge(Base):
    """One charge we mean to make exactly once, keyed by a unique idempotency key.

    The row is written (and committed) before Stripe is called, so a crash cannot lose it;
    the Stripe PaymentIntent id is filled in from the answer.
    """

    __tablename__ = "payment_charges"
    __table_args__ = (
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint("refunded_pence >= 0 AND refunded_pence <= amount_pence", name="refund"),
        CheckConstraint("attempts >= 0", name="attempts_positive"),
        CheckConstraint(_in("status", ChargeStatus), name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "pool:12:member:34:period:2027-01": the same key can never be charged twice.
    idempotency_key: Mapped[str] = mapped_column(String(MAX_KEY), unique=True)
    purpose: Mapped[str] = mapped_column(String(40), index=True)  # "pool", "membership", ...
    reference: Mapped[str] = mapped_column(String(MAX_REFERENCE))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount_pence: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=ChargeStatus.PENDING.value, index=True)
    # How many times Stripe has been asked; each attempt sends its own Stripe idempotency key,
    # because Stripe replays a declined answer for a reused key.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(STRIPE_ID), index=True)
    failure_message: Mapped[str | None] = mapped_column(Text)
    refunded_pence: Mapped[int] = mapped_column(Integer, default=0)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    # Set (and committed) before asking Stripe for a refund, like the charge row itself.
    refund_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A hold rather than a charge: authorised now, captured (or released) later.
    manual_capture: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Set (and committed) before asking Stripe to capture or release the hold, like a refund.
    capture_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    release_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    ledger_entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="charge", order_by="LedgerEntry.id"
    )


class LedgerEntry(Base):
    """One money movement in pence: positive is money in, negative is money out (refunds)."""

    __tablename__ = "payment_ledger_entries"
    __table_args__ = (
        CheckConstraint(_in("kind", LedgerKind), name="kind_known"),
        # Money in is positive, money out (or owed out) negative; never zero.
        CheckConstraint(
            "(kind IN ('charge', 'subscription_payment', 'invoice_payment') AND amount_pence > 0)"
            " OR (kind IN ('refund', 'payout_owed') AND amount_pence < 0)",
            name="sign_matches_kind",
        ),
        CheckConstraint(
            "kind NOT IN ('charge', 'refund') OR charge_id IS NOT NULL", name="charge_has_charge"
        ),
        # One entry per Stripe object and kind: a second webhook or retry cannot count it twice.
        UniqueConstraint("kind", "stripe_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    amount_pence: Mapped[int] = mapped_column(Integer)
    charge_id: Mapped[int | None] = mapped_column(ForeignKey("payment_charges.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reference: Mapped[str] = mapped_column(String(MAX_REFERENCE))
    # The PaymentIntent, refund or invoice at Stripe; none for a payout we only owe.
    stripe_id: Mapped[str | None] = mapped_column(String(STRIPE_ID))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    charge: Mapped[Charge | None] = relationship(back_populates="ledger_entries")


class WebhookEvent(Base):
    """A Stripe event we received, stored by its id so that it is processed only once."""

    __tablename__ = "payment_webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_event_id: Mapped[str] = mapped_column(String(STRIPE_ID), unique=True)
    type: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[str] = mapped_column(Text)  # the event as JSON, as Stripe sent it
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Payout(Base):
    """Money paid on to an organisation, outside Stripe (a bank transfer), as an admin recorded it.

    localstripe has no Connect, so nothing here moves money: a payout is written down once a
    person has paid it, with the bank's reference. What is owed comes from the ledger's
    `payout_owed` entries (payments/payouts.py sets one against the other, oldest first).
    A reference is unique per organisation, so recording the same transfer twice is refused.
    """

    __tablename__ = "payment_payouts"
    __table_args__ = (
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        UniqueConstraint("organisation_id", "reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Plain foreign keys: a financial record outlives the account that recorded it.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    amount_pence: Mapped[int] = mapped_column(Integer)
    paid_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(MAX_REFERENCE))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
