"""Invoices for managed accounts and councils: raised, numbered, sent, chased, paid in parts,
overdue under the card's grace rule, cancelled when the pool does not go ahead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace import outbox
from marketplace.audit import entries_for
from marketplace.carers.models import CarerScope
from marketplace.errors import DomainError, NotAllowed
from marketplace.payments.models import LedgerEntry, LedgerKind
from marketplace.pools import funding, invoices, schedule
from marketplace.pools.models import (
    GRACE_DAYS,
    InvoiceStatus,
    MemberStatus,
    PaymentStatus,
    PoolMember,
    PoolStatus,
)
from marketplace.receipts import jobs as receipt_jobs
from marketplace.receipts.models import Receipt
from marketplace.web.template_globals import format_date
from tests.factories import CouncilFactory, UserFactory
from tests.listing_helpers import ulo_moderator
from tests.pools.builders import go_ahead, hold_time
from tests.pools.test_funding import GOOD, funded_pool

HOLDER = "invoices@leeds-direct-pay.example"


@pytest.fixture(autouse=True)
def _app_context(app):
    with app.app_context():
        yield


def sent(db_session, mailbox):
    outbox.commit(db_session)  # emails go once the change is committed
    return mailbox


def running_with_invoices(db_session, gateway, council, moderator, provider, count=2):
    pool, people = funded_pool(
        db_session, gateway, council, moderator, provider, [GOOD], invoices=count
    )
    assert go_ahead(db_session, pool, gateway, staff=moderator) == PoolStatus.RUNNING.value
    found = invoices.for_pool(db_session, pool)
    assert len(found) == count
    return pool, people, found


def test_each_invoiced_share_gets_a_numbered_invoice_sent_that_day_with_nothing_private(
    app, db_session, gateway, council, moderator, provider, mailbox
):
    pool, people = funded_pool(
        db_session, gateway, council, moderator, provider, [GOOD], invoices=2
    )
    mailbox.clear()
    now = hold_time(db_session, pool)
    funding.fund(db_session, pool, now=now, gateway=gateway)
    first, second = invoices.for_pool(db_session, pool)
    year = now.year
    assert (first.number, second.number) == (f"INV-{year}-000001", f"INV-{year}-000002")
    assert first.raised_on == now.date()
    assert first.due_on == now.date() + timedelta(days=invoices.INVOICE_DAYS)
    assert (first.bill_to, first.bill_to_email, first.bill_to_reference) == (
        "Leeds Direct Pay Ltd",
        HOLDER,
        "LDP-1234",
    )
    # Raising again (the job ran twice) makes no second invoice and sends nothing more.
    row = first.payment
    assert invoices.raise_for(db_session, row, pool.members[1], now) is first
    sent(db_session, mailbox)
    seller = app.config["SELLER_NAME"]
    message = mailbox.last_to(HOLDER, f"Invoice {first.number} from {seller}")
    body = message.get_payload(decode=True).decode()
    for promised in (
        f"Amount: £{first.amount_pence // 100}",
        f"Due by: {format_date(first.due_on)}",
        f"quoting {first.number} as the reference",
        f"/invoices/shared/{first.access_token}",
    ):
        assert promised in body
    for private in (pool.title, people[1].display_name, provider[1].name):
        assert private not in body and private not in message["Subject"]
    assert len([m for m in mailbox.messages if m["To"] == HOLDER]) == 2
    # The member is told it went, and to whom.
    member_mail = mailbox.last_to(
        people[1].email, f"Invoice {first.number} has been sent for your share"
    )
    assert "Leeds Direct Pay Ltd" in member_mail.get_payload(decode=True).decode()


def test_numbers_run_on_across_pools_and_never_repeat(
    db_session, gateway, council, moderator, provider
):
    numbers = []
    for _ in range(2):
        _pool, _people, found = running_with_invoices(
            db_session, gateway, council, moderator, provider
        )
        numbers += [i.number for i in found]
    assert len(set(numbers)) == 4
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == [1, 2, 3, 4]


def test_money_is_recorded_in_parts_and_the_share_is_paid_when_nothing_is_left(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, people, (invoice, _other) = running_with_invoices(
        db_session, gateway, council, moderator, provider
    )
    row = invoice.payment
    today = invoice.raised_on
    now = schedule.start_of(today) + timedelta(hours=12)
    whole = invoice.amount_pence

    def record(pence, reference="BACS 1", on=today, by=moderator):
        return invoices.record_payment(
            db_session, by, invoice, invoices.Received(pence, on, reference), now
        )

    for pence, reference, on, message in [
        (0, "R", today, "more than £0"),
        (whole + 1, "R", today, "still to pay"),
        (1000, "", today, "Enter the reference"),
        (1000, "<b>x</b>", today, "letters, numbers"),
        (1000, "R", today + timedelta(days=1), "today or in the past"),
    ]:
        with pytest.raises(DomainError, match=message):
            record(pence, reference, on)
    assert invoice.received == []
    with pytest.raises(NotAllowed):
        record(1000, by=ulo_moderator(CouncilFactory()))
    with pytest.raises(NotAllowed):
        record(1000, by=UserFactory())

    record(1000, "BACS 1")
    assert (invoice.status, invoice.balance_pence, row.status) == ("open", whole - 1000, "invoiced")
    mailbox.clear()
    record(whole - 1000, "BACS 2")
    assert (invoice.status, invoice.balance_pence) == (InvoiceStatus.PAID.value, 0)
    assert row.status == PaymentStatus.PAID.value
    assert row.paid_at == schedule.start_of(today)
    with pytest.raises(DomainError, match="nothing more can be recorded"):
        record(1)
    actions = entries_for(db_session, "pool_invoice", invoice.id)
    assert [e.actor_id for e in actions] == [moderator.id, moderator.id]
    assert "reference BACS 2" in actions[-1].detail
    sent(db_session, mailbox)
    assert mailbox.last_to(people[1].email, f"Invoice {invoice.number} has been paid")
    # Paid in full is money in, like a card share: the member gets a numbered receipt.
    (entry,) = db_session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.INVOICE_PAYMENT.value)
    ).all()
    assert (entry.amount_pence, entry.user_id) == (whole, people[1].id)
    receipt_jobs.issue_due(db_session)  # the card member's receipt too
    receipt = db_session.scalars(select(Receipt).where(Receipt.ledger_entry_id == entry.id)).one()
    number = receipt.number
    assert receipt.amount_pence == whole and receipt.user_id == people[1].id
    assert receipt.paid_by == f"Invoice {invoice.number}, paid by Leeds Direct Pay Ltd"
    assert receipt.what_for == f"Your share of {pool.title}, month 1"
    assert receipt.provider_name == provider[1].name
    assert receipt_jobs.issue_due(db_session) == []  # once
    assert any(
        m["To"] == people[1].email and m["Subject"].startswith(f"Receipt {number}: ")
        for m in mailbox.messages
    )


def test_reminders_go_7_days_and_1_day_before_and_on_the_due_date_once_each(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, _people, (invoice, other) = running_with_invoices(
        db_session, gateway, council, moderator, provider
    )
    invoices.record_payment(
        db_session,
        moderator,
        other,
        invoices.Received(other.amount_pence, other.raised_on, "PAID"),
        schedule.start_of(other.raised_on),
    )
    sent(db_session, mailbox)
    mailbox.clear()

    def on(days_before: int) -> int:
        when = schedule.start_of(invoice.due_on - timedelta(days=days_before)) + timedelta(hours=9)
        reminded = invoices.chase(db_session, when).reminded
        assert invoices.chase(db_session, when).reminded == 0  # a second run sends nothing
        return reminded

    assert on(8) == 0
    assert on(7) == 1 and invoice.reminders_sent == 1
    assert on(3) == 0
    assert on(1) == 1 and invoice.reminders_sent == 2
    assert on(0) == 1 and invoice.reminders_sent == 3
    sent(db_session, mailbox)
    subjects = [m["Subject"] for m in mailbox.messages if m["To"] == HOLDER]
    due = format_date(invoice.due_on)
    assert subjects == [
        f"Reminder: invoice {invoice.number} is due on {due}",
        f"Reminder: invoice {invoice.number} is due on {due}",
        f"Invoice {invoice.number} is due today",
    ]  # the paid invoice is not chased


def test_an_unpaid_invoice_follows_the_card_grace_rule_then_the_place_ends(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, people, (invoice, _other) = running_with_invoices(
        db_session, gateway, council, moderator, provider
    )
    member = db_session.scalars(
        select(PoolMember).where(
            PoolMember.pool_id == pool.id, PoolMember.user_id == invoice.user_id
        )
    ).one()
    after_due = schedule.start_of(invoice.due_on + timedelta(days=1)) + timedelta(hours=1)
    mailbox.clear()
    assert invoices.chase(db_session, after_due).overdue == 2
    assert invoice.overdue_until == schedule.start_of(invoice.due_on) + timedelta(
        days=1 + GRACE_DAYS
    )
    sent(db_session, mailbox)
    told = mailbox.last_to(people[1].email, f"Invoice {invoice.number} for your share is overdue")
    assert "your place in the pool ends" in told.get_payload(decode=True).decode()
    assert mailbox.last_to(HOLDER, f"Invoice {invoice.number} is overdue")
    # Within the grace nothing more happens; at its end the place goes, the invoice stays owed.
    assert (
        invoices.chase(db_session, invoice.overdue_until - timedelta(minutes=1)).places_ended == 0
    )
    assert member.status == MemberStatus.MEMBER.value
    grace_ends = invoice.overdue_until
    assert invoices.chase(db_session, grace_ends).places_ended == 2
    assert member.status == MemberStatus.REMOVED.value
    assert invoice.status == InvoiceStatus.OPEN.value and invoice.balance_pence > 0
    assert invoices.chase(db_session, grace_ends + timedelta(days=1)).places_ended == 0
    sent(db_session, mailbox)
    assert mailbox.last_to(people[1].email, "Your place in a pool has ended")
    # The job runs every hour for as long as the invoice is owed: once the grace was acted on,
    # a run a week or a month later sends no second "overdue" and ends nothing again.
    mailbox.clear()
    for later in (timedelta(days=7), timedelta(days=30)):
        again = invoices.chase(db_session, grace_ends + later)
        assert (again.overdue, again.places_ended, again.reminded) == (0, 0, 0)
    sent(db_session, mailbox)
    assert mailbox.messages == []


def test_a_pool_that_lapses_cancels_its_invoices_and_tells_each_account_holder(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, _people = funded_pool(
        db_session, gateway, council, moderator, provider, [GOOD, GOOD], invoices=1
    )
    funding.fund(db_session, pool, now=hold_time(db_session, pool), gateway=gateway)
    (invoice,) = invoices.for_pool(db_session, pool)
    mailbox.clear()
    # Not accepted by the account holder in time: at the start date the pool lapses.
    assert go_ahead(db_session, pool, gateway) == PoolStatus.LAPSED.value
    assert invoice.status == InvoiceStatus.CANCELLED.value
    sent(db_session, mailbox)
    body = (
        mailbox.last_to(HOLDER, f"Invoice {invoice.number} is cancelled: there is nothing to pay")
        .get_payload(decode=True)
        .decode()
    )
    assert "there is nothing to pay" in body and pool.title not in body
    assert invoices.chase(db_session, schedule.start_of(invoice.due_on)).reminded == 0


def test_who_may_see_an_invoice(db_session, gateway, council, moderator, provider):
    from marketplace.carers.models import CarerGrant, GrantStatus

    pool, people, (invoice, other) = running_with_invoices(
        db_session, gateway, council, moderator, provider
    )
    owner = people[1]
    assert invoices.access(db_session, owner, invoice) == invoices.MEMBER
    assert invoices.access(db_session, owner, other) is None  # another member's
    assert invoices.access(db_session, moderator, invoice) == invoices.STAFF
    assert invoices.access(db_session, ulo_moderator(CouncilFactory()), invoice) is None
    assert invoices.access(db_session, UserFactory(), invoice) is None
    carer = UserFactory()
    for scope, expected in [
        (CarerScope.BUDDYING, None),
        (CarerScope.VIEW, invoices.CARER),
        (CarerScope.POOLS, invoices.CARER),
    ]:
        grant = CarerGrant(
            holder_id=owner.id,
            carer_id=carer.id,
            invited_email=carer.email,
            scopes=scope.value,
            status=GrantStatus.ACTIVE.value,
        )
        db_session.add(grant)
        db_session.flush()
        assert invoices.access(db_session, carer, invoice) == expected
        db_session.delete(grant)
        db_session.flush()
    assert invoices.by_token(db_session, invoice.access_token) is invoice
    assert invoices.by_token(db_session, "not-a-token") is None
