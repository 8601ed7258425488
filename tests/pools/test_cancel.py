"""Cancelling a pool (issue 17, item 5): who may, the reason, what stops, who is told, and the
history that stays readable. Members pay by invoice, so no Stripe is needed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace import audit
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.pools import cancel, funding, quotes, services
from marketplace.pools.models import PaymentStatus, PoolPayment, PoolStatus
from tests.factories import CouncilFactory, UserFactory
from tests.listing_helpers import ulo_moderator
from tests.pools.builders import (
    approved_pool,
    invoice_pledge,
    join_by_invoice,
    pool_data,
    quote,
    running_pool,
)

REASON = "The venue has closed and no other room is free."


@pytest.fixture(autouse=True)
def _app_context(app):
    """Cancelling emails the members, which needs the app (for links)."""
    with app.app_context():
        yield


def body(message) -> str:
    return message.get_payload(decode=True).decode()


def payments(db_session, pool) -> list[PoolPayment]:
    return list(db_session.scalars(select(PoolPayment).where(PoolPayment.pool_id == pool.id)))


def test_the_proposer_cancels_before_funding_and_everyone_in_it_is_told(
    db_session, council, moderator, provider, mailbox
):
    pool = approved_pool(db_session, council, moderator, max_members=3)
    quote(db_session, provider, pool)
    members = join_by_invoice(db_session, pool, 3)
    (waiting,) = join_by_invoice(db_session, pool, 1)
    db_session.commit()
    mailbox.clear()
    cancel.cancel(db_session, pool.proposer, pool, f"  {REASON}  ")
    assert pool.status == PoolStatus.CANCELLED.value
    assert pool.end_reason == f"Cancelled by the person who proposed it. Reason: {REASON[:-1]}"
    assert pool.ended_at is not None
    (entry,) = [
        e for e in audit.entries_for(db_session, "pool", pool.id) if e.action == cancel.AUDIT_ACTION
    ]
    assert entry.actor_id == pool.proposer_id
    assert REASON in entry.detail and "while open" in entry.detail
    db_session.commit()
    for person in [*members, waiting]:
        text = body(mailbox.last_to(person.email, "A pool you are in has been cancelled"))
        assert f"/pools/{pool.id}" in text
        assert "venue" not in text  # nobody's words in an email
        assert "Nothing more will be taken for it" in text
    assert len(mailbox.messages) == 4


def test_the_proposer_cannot_cancel_once_funded_but_the_areas_ulo_and_admins_can(
    db_session, council, moderator, provider
):
    pool, members, _ = running_pool(db_session, council, moderator, provider)
    with pytest.raises(DomainError, match="only the local user-led organisation"):
        cancel.cancel(db_session, pool.proposer, pool, REASON)
    with pytest.raises(NotAllowed):
        cancel.cancel(db_session, members[0], pool, REASON)
    with pytest.raises(NotAllowed):
        cancel.cancel(db_session, ulo_moderator(CouncilFactory()), pool, REASON)
    assert cancel.role(db_session, moderator, pool) == cancel.STAFF
    cancel.cancel(db_session, moderator, pool, REASON)
    assert pool.status == PoolStatus.CANCELLED.value
    assert pool.end_reason.startswith("Cancelled by the local user-led organisation. Reason:")
    with pytest.raises(DomainError, match="already cancelled"):
        cancel.cancel(db_session, moderator, pool, REASON)

    other, _, _ = running_pool(db_session, council, moderator, provider)
    admin = UserFactory(roles=["admin"])
    cancel.cancel(db_session, admin, other, REASON)
    assert other.end_reason.startswith("Cancelled by the site's administrators.")


def test_a_reason_is_required(db_session, council, moderator):
    pool = approved_pool(db_session, council, moderator)
    for empty in ("", "   "):
        with pytest.raises(DomainError) as error:
            cancel.cancel(db_session, pool.proposer, pool, empty)
        assert error.value.field == "reason"
    with pytest.raises(DomainError, match="1,000 characters"):
        cancel.cancel(db_session, pool.proposer, pool, "x" * 1001)
    assert pool.status == PoolStatus.OPEN.value


def test_a_cancelled_pool_is_never_charged_again_and_open_invoices_are_cancelled(
    db_session, council, moderator, provider
):
    pool, _, _ = running_pool(db_session, council, moderator, provider)
    rows = payments(db_session, pool)
    assert {r.status for r in rows} == {PaymentStatus.INVOICED.value}
    preview = cancel.preview(db_session, moderator, pool)
    assert (preview.members, preview.waiting, preview.open_payments) == (3, 0, 3)
    cancel.cancel(db_session, moderator, pool, REASON)
    assert {r.status for r in payments(db_session, pool)} == {PaymentStatus.CANCELLED.value}
    # Month after month, the charging job leaves it alone.
    for months in range(1, 4):
        later = funding.add_months(pool.commissioned_at, months) + timedelta(hours=1)
        report = funding.charge_due(db_session, now=later)
        assert (report.collected, report.funded) == (0, 0)
    assert db_session.scalar(
        select(func.count(PoolPayment.id)).where(PoolPayment.pool_id == pool.id)
    ) == len(rows)
    assert pool.status == PoolStatus.CANCELLED.value
    # Nor can a cancelled payment be "put right".
    with pytest.raises(DomainError):
        funding.retry_payment(db_session, rows[0].user, pool, 1)


def test_a_cancelled_pool_takes_no_joins_votes_or_quotes(db_session, council, moderator, provider):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool)
    people = join_by_invoice(db_session, pool, 3)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
    cancel.cancel(db_session, pool.proposer, pool, REASON)
    assert pool.vote_closes_at is None
    with pytest.raises(DomainError):
        services.join(db_session, UserFactory(), pool, invoice_pledge())
    with pytest.raises(DomainError):
        quotes.vote(db_session, people[0], pool, offer)
    with pytest.raises(DomainError):
        quote(db_session, provider, pool, total_pence=8000)
    with pytest.raises(DomainError):
        quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
    assert list(quotes.close_due_votes(db_session, now=utcnow() + timedelta(days=8))) == []


def test_cancelling_a_pending_pool_takes_it_out_of_the_queue(db_session, council):
    proposer = UserFactory()
    pool = services.propose(db_session, proposer, pool_data(council))
    assert moderation.open_entries_for(db_session, services.ITEM_POOL, pool.id)
    cancel.cancel(db_session, proposer, pool, REASON)
    assert moderation.open_entries_for(db_session, services.ITEM_POOL, pool.id) == []
    assert pool.status == PoolStatus.CANCELLED.value


def test_history_stays_readable_by_members_and_their_carers_only(
    db_session, council, moderator, provider
):
    pool, members, _ = running_pool(db_session, council, moderator, provider)
    carer = UserFactory()
    _, token = carers.invite_carer(db_session, members[0], carer.email, [CarerScope.POOLS], 3600)
    carers.accept_invitation(db_session, carer, token)
    view_only = UserFactory()
    _, token = carers.invite_carer(db_session, members[1], view_only.email, [CarerScope.VIEW], 3600)
    carers.accept_invitation(db_session, view_only, token)
    cancel.cancel(db_session, moderator, pool, REASON)
    for person in [*members, carer, pool.proposer, moderator]:
        assert services.can_see(db_session, person, pool)
    for person in [None, UserFactory(), view_only, ulo_moderator(CouncilFactory())]:
        assert not services.can_see(db_session, person, pool)


def test_a_carer_cancels_for_the_proposer_and_the_proposer_can_see_it_was_them(
    db_session, council, moderator
):
    pool = approved_pool(db_session, council, moderator)
    join_by_invoice(db_session, pool, 2)
    carer = UserFactory()
    _, token = carers.invite_carer(db_session, pool.proposer, carer.email, [CarerScope.POOLS], 3600)
    carers.accept_invitation(db_session, carer, token)
    assert cancel.role(db_session, carer, pool) == cancel.PROPOSER
    cancel.cancel(db_session, carer, pool, REASON)
    assert pool.status == PoolStatus.CANCELLED.value
    assert pool.end_reason.startswith("Cancelled by someone acting for the person who proposed it")
    done = carers.actions_for_holder(db_session, pool.proposer)
    assert [a.description for a in done] == [f"Cancelled the pool {pool.title}"]
