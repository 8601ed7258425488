"""Starting a break as one unit of work, with no transaction open while Stripe is told.

A break may pause fee memberships (where the ULO allows it). Stripe must say yes before the
break is saved, since the page promises "takes no fee": so the break is checked (reads only),
the read is ended, Stripe pauses the fees (all or none), and only then is the break written
and committed. If that write fails, the fees are resumed again. The break's page and the job
call this; the rules are in breaks.py, which never commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from marketplace import outbox
from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.memberships import fee_pause
from marketplace.payments import outside
from marketplace.payments.gateway import PaymentGateway
from marketplace.wellbeing import breaks
from marketplace.wellbeing.models import Break


def start(
    session: Session,
    user: User,
    length: str,
    offer_pool_places: bool = False,
    acting_carer: User | None = None,
    now: datetime | None = None,
    gateway: PaymentGateway | None = None,
) -> Break:
    """Start a break now (see breaks.start_break), fees paused at Stripe first; committed."""
    now = now or utcnow()
    breaks.check_start(session, user, length, acting_carer, now)
    fees = breaks.fees_to_pause(session, user)
    stripe_ids = [fee.stripe_id for fee in fees]
    if fees:
        until = breaks.ends_at_for(breaks.length_of(length), now)
        outside.end_read(session)
        fee_pause.pause_at_stripe(stripe_ids, until, gateway)  # DomainError: nothing changed
    try:
        brk = breaks.start_break(
            session,
            user,
            length,
            offer_pool_places=offer_pool_places,
            acting_carer=acting_carer,
            now=now,
            fees_paused={fee.subscription_id for fee in fees},
        )
        outbox.commit(session)
    except BaseException:
        session.rollback()
        fee_pause.unpause_at_stripe(stripe_ids, gateway)
        raise
    return brk
