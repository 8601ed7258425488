"""Demo pools and ULO membership offers, so those pages have something to show."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.memberships import services as memberships
from marketplace.memberships.models import Basis
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.organisations.models import Organisation
from marketplace.payments.gateway import PaymentError, get_gateway
from marketplace.places.models import Council
from marketplace.pools import quotes
from marketplace.pools import services as pools

LEEDS_FEE_PENCE = 700  # the £7 a month from the research
HOURS = 60


def seed_memberships(session: Session, ulo_staff: list[tuple[User, Organisation]]) -> int:
    """Each ULO offers giving time back; the first also a £7 monthly fee when Stripe is up.

    Returns how many offers have a fee. Without a Stripe endpoint (e.g. `flask seed-demo` with
    nothing on STRIPE_API_BASE) the fee is left out rather than failing the whole demo.
    """
    fees = 0
    for index, (staff, org) in enumerate(ulo_staff):
        kinds = ("buddy", "occasional_pa", "events") if index == 0 else ("peer_group", "other")
        time_back = memberships.OfferData(None, (2 + index) * HOURS, kinds)
        if index == 0:
            try:
                plan = get_gateway().create_plan(f"{org.name} membership", LEEDS_FEE_PENCE)
            except PaymentError:
                current_app.logger.warning("No Stripe endpoint: demo offers have no fee")
            else:
                memberships.set_offer(
                    session,
                    staff,
                    org,
                    memberships.OfferData(
                        LEEDS_FEE_PENCE, 2 * HOURS, kinds, pause_fee_on_break=True
                    ),
                    plan_id=plan,
                )
                fees += 1
                continue
        memberships.set_offer(session, staff, org, time_back)
    return fees


def seed_time_members(session: Session, org: Organisation, people: list[User]) -> None:
    """A few holders give time back to the first ULO."""
    for person in people:
        memberships.join(session, person, org, Basis.RECIPROCITY.value)


def seed_pools(
    session: Session,
    leeds: Council,
    proposer: User,
    members: list[User],
    provider: tuple[User, Organisation],
    moderator: User,
) -> int:
    """One open pool in Leeds with members paying by managed account and a provider's quote,
    and one waiting for the ULO to check it. Returns how many pools were made."""
    today = utcnow().date()
    open_pool = pools.propose(
        session,
        proposer,
        pools.PoolData(
            title="Evening art group for people who hear voices",
            description="A weekly art group in the evening, run by an artist who has heard voices "
            "too. Nothing like it runs in Leeds after 5pm, and several of us work in the day.",
            council_id=leeds.id,
            frequency="Weekly, 2 hours",
            min_members=4,
            max_members=8,
            cap_pence=3500,
            months=6,
            deadline=today + timedelta(days=28),
            area="LS6",
        ),
    )
    (item,) = moderation.open_entries_for(session, pools.ITEM_POOL, open_pool.id)
    moderation.decide(session, moderator, item, Decision.APPROVE, "")
    for person in [proposer, *members]:
        pools.join(
            session,
            person,
            open_pool,
            pools.Pledge(
                3500,
                "managed_account",
                invoice_to="Leeds Direct Payments Support (demo)",
                invoice_email="invoices@direct-payments.example.org",
                invoice_reference=f"DP-{person.id:05d}",
            ),
        )
    staff, org = provider
    quotes.submit_quote(
        session,
        staff,
        org,
        open_pool,
        quotes.QuoteData(
            start_date=today + timedelta(days=42),
            prices=quotes.even_split(16000, open_pool.min_members, open_pool.max_members),
            total_pence=16000,
            terms="Materials included. A month's notice to stop.",
        ),
    )
    pools.propose(
        session,
        members[0],
        pools.PoolData(
            title="Swimming with a personal assistant",
            description="Share one PA for a weekly swim, so each of us pays less than booking "
            "a PA alone.",
            council_id=leeds.id,
            frequency="Weekly, 90 minutes",
            min_members=3,
            max_members=4,
            cap_pence=2500,
            months=3,
            deadline=today + timedelta(days=21),
            area=None,
        ),
    )
    return 2
