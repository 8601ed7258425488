"""A member's statement: what they paid, to whom, for what, month by month.

Councils monitoring a direct payment ask for exactly this, so it comes as a page and as CSV.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.money import format_pence
from marketplace.organisations.models import Organisation
from marketplace.pools.models import PaymentStatus, Pool, PoolPayment, Quote
from marketplace.providers.csv_io import safe_cell

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
PAY_BY_WORDS = {
    "card": "Card",
    "managed_account": "Managed account (invoice)",
    "council_arranged": "Council (invoice)",
}


@dataclass(frozen=True)
class StatementLine:
    pool_id: int
    pool: str
    provider: str
    month: int
    amount_pence: int
    how: str
    status: str
    paid_on: datetime | None

    @property
    def counts(self) -> bool:
        """Whether this money was actually paid (and not given back)."""
        return self.status == STATUS_WORDS[PaymentStatus.PAID.value]


def statement_for(session: Session, user: User, pool_id: int | None = None) -> list[StatementLine]:
    """Every payment this person made or was asked to make for pools, oldest first."""
    query = (
        select(PoolPayment, Pool, Organisation)
        .join(Pool, Pool.id == PoolPayment.pool_id)
        .outerjoin(Quote, Quote.id == Pool.chosen_quote_id)
        .outerjoin(Organisation, Organisation.id == Quote.organisation_id)
        .where(PoolPayment.user_id == user.id)
        .order_by(Pool.id, PoolPayment.month)
    )
    if pool_id is not None:
        query = query.where(Pool.id == pool_id)
    return [
        StatementLine(
            pool_id=pool.id,
            pool=pool.title,
            provider=org.name if org else "",
            month=payment.month,
            amount_pence=payment.amount_pence,
            how=PAY_BY_WORDS.get(payment.pay_by, payment.pay_by),
            status=STATUS_WORDS.get(payment.status, payment.status),
            paid_on=payment.paid_at,
        )
        for payment, pool, org in session.execute(query).all()
    ]


def total_paid(lines: list[StatementLine]) -> int:
    """Pence actually paid (not refunded, not still owed)."""
    return sum(line.amount_pence for line in lines if line.counts)


def as_csv(lines: list[StatementLine]) -> str:
    """The statement as CSV, amounts in pounds as people write them (and in pence, exactly)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["Pool", "Paid to", "Month of service", "Amount", "Amount (pence)", "How", "Status",
         "Date paid"]
    )  # fmt: skip
    for line in lines:
        writer.writerow(
            [
                safe_cell(line.pool),
                safe_cell(line.provider),
                line.month,
                format_pence(line.amount_pence),
                line.amount_pence,
                line.how,
                line.status,
                line.paid_on.date().isoformat() if line.paid_on else "",
            ]
        )
    return out.getvalue()
