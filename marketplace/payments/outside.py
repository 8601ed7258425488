"""Getting ready for a Stripe call that must answer the person at once, with nothing locked.

On SQLite every transaction takes the write lock at its first statement, and on PostgreSQL a
written row stays locked until the commit: a Stripe call inside either makes other requests
wait on Stripe. A page or job that must call Stripe before it writes (saving a card, starting
a subscription) checks first, then calls these, then calls Stripe, then writes and commits.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.payments import services
from marketplace.payments.gateway import PaymentGateway


def end_read(session: Session) -> None:
    """End the checks' read-only transaction. Refuses if anything is waiting to be written:
    committing it here would save half of a change."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a Stripe step would commit unsaved writes")
    session.commit()


def customer_ready(session: Session, user: User, gateway: PaymentGateway | None = None) -> str:
    """End the read, then return this person's Stripe customer, made (and its row committed on
    its own, kept even if a card is then refused) if they had none. No transaction is open
    when it returns."""
    customer_id = services.stored_customer_id(session, user)
    end_read(session)
    if customer_id is None:
        made = services.create_stripe_customer(user, gateway)
        customer_id = services.remember_customer(session, user, made)
        session.commit()
    return customer_id
