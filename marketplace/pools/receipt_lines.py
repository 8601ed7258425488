"""What a pool share's receipt says: registered with receipts by `marketplace.pools.init_app`.

The share is the PoolPayment whose charge it is. Its service period runs from the month's
charge date to the day before the next month's (`schedule.charge_date`, the one dating rule),
and the provider is the chosen quote's organisation.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.carers.models import CarerScope
from marketplace.payments.models import Charge
from marketplace.pools import invoices, schedule
from marketplace.pools.models import Invoice, PoolMember, PoolPayment, Quote
from marketplace.receipts.registry import Lines, Paid, register_describer

PURPOSE = "pool"  # funding.PURPOSE, the charges' purpose


def _payment(session: Session, charge: Charge) -> PoolPayment | None:
    return session.scalars(
        select(PoolPayment).where(PoolPayment.charge_id == charge.id).order_by(PoolPayment.id)
    ).first()


def _share_lines(session: Session, payment: PoolPayment, paid_by: str) -> Lines | None:
    """What any paid share's receipt says: the pool, the month's dates, the chosen provider."""
    pool = payment.pool
    quote = session.get(Quote, pool.chosen_quote_id) if pool.chosen_quote_id else None
    start, end = schedule.service_period(session, pool, payment.month)
    if quote is None or start is None or end is None:
        return None
    return Lines(
        what_for=f"Your share of {pool.title}, month {payment.month}",
        period_start=start,
        period_end=end,
        provider_name=quote.organisation.name,
        provider_address=quote.organisation.postal_address,
        paid_by=paid_by[:120],
    )


def describe(session: Session, paid: Paid) -> Lines | None:
    """Your share of <pool>, month n; None until the share's payment row names this charge."""
    if paid.charge is None:
        return None
    payment = _payment(session, paid.charge)
    if payment is None:
        return None
    member = session.scalars(
        select(PoolMember).where(
            PoolMember.pool_id == payment.pool_id, PoolMember.user_id == paid.user_id
        )
    ).first()
    card = member.card_description if member is not None else None
    return _share_lines(session, payment, f"Card ({card})" if card else "Card")


def describe_invoice(session: Session, paid: Paid) -> Lines | None:
    """A share paid by invoice: the same lines as a card share, paid by the account holder."""
    invoice = session.scalars(select(Invoice).where(Invoice.number == paid.reference)).first()
    if invoice is None:
        return None
    return _share_lines(
        session, invoice.payment, f"Invoice {invoice.number}, paid by {invoice.bill_to}"
    )


def register() -> None:
    """Pool shares' receipts; a carer with the pools grant (which covers paying) sees them."""
    register_describer(PURPOSE, describe, CarerScope.POOLS)
    register_describer(invoices.RECEIPT_PURPOSE, describe_invoice, CarerScope.POOLS)
