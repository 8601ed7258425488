"""What a pool payment's status means, in words (the pool page lists each month's payments).

A person's statement, covering pools and membership fees, is in marketplace/statements.
"""

from __future__ import annotations

from marketplace.pools.models import PaymentStatus

STATUS_WORDS = {
    PaymentStatus.PENDING.value: "Being taken",
    PaymentStatus.PAID.value: "Paid",
    PaymentStatus.ACTION_NEEDED.value: "Waiting for you to confirm",
    PaymentStatus.FAILED.value: "Not paid yet",
    PaymentStatus.INVOICED.value: "Invoiced",
    PaymentStatus.REFUNDED.value: "Refunded",
    PaymentStatus.CANCELLED.value: "Cancelled, nothing taken",
    PaymentStatus.HELD.value: "Held on your card, not taken yet",
    PaymentStatus.RELEASED.value: "Hold released, nothing taken",
    PaymentStatus.ACCEPTED.value: "Invoice accepted, not paid yet",
}
