"""Issuing receipts: one per successful payment, however often or on how many workers the job
runs; each emailed as money (never held back by a break or a digest); what each one says comes
from the payment's own records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

import pytest
from sqlalchemy import func, select

from marketplace.email import MONEY
from marketplace.jobs.schedule import SCHEDULE
from marketplace.notifications import preferences
from marketplace.notifications.models import DigestItem, Frequency
from marketplace.payments import services as payments
from marketplace.payments.models import Charge
from marketplace.pools import schedule
from marketplace.pools.models import PoolPayment
from marketplace.receipts import jobs, services
from marketplace.receipts.models import Receipt
from marketplace.wellbeing import breaks
from tests.notifications.helpers import body_of
from tests.receipts.conftest import (
    PROVIDER_ADDRESS,
    PROVIDER_NAME,
    ULO_ADDRESS,
    ULO_NAME,
    captured_pool,
    paid_invoice,
    post_event,
)

pytestmark = pytest.mark.usefixtures("ctx")


def receipts(db_session) -> list[Receipt]:
    return list(db_session.scalars(select(Receipt).order_by(Receipt.id)))


def subject_of(email) -> str:
    return str(make_header(decode_header(email["Subject"])))


def receipt_emails(mailbox, person) -> list:
    return [
        m
        for m in mailbox.messages
        if m["To"] == person.email and m["Subject"].startswith("Receipt")
    ]


def test_each_captured_pool_share_gets_one_receipt_and_one_email_however_often_the_job_runs(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, members = captured_pool(db_session, gateway, council, moderator, provider)
    assert receipts(db_session) == []  # nothing until the job runs
    first = jobs.issue_due(db_session)
    assert jobs.issue_due(db_session) == []  # a second run issues nothing more
    assert len(first) == 3
    found = receipts(db_session)
    assert sorted(r.user_id for r in found) == sorted(m.id for m in members)
    start = schedule.charge_date(db_session, pool, 1)
    following = schedule.charge_date(db_session, pool, 2)
    for receipt in found:
        payment = db_session.scalars(
            select(PoolPayment).where(PoolPayment.charge_id == receipt.charge_id)
        ).one()
        assert receipt.user_id == payment.user_id and receipt.amount_pence == payment.amount_pence
        assert receipt.what_for == f"Your share of {pool.title}, month 1"
        assert (receipt.period_start, receipt.period_end) == (
            start,
            following - timedelta(days=1),
        )
        assert receipt.provider_name == PROVIDER_NAME
        assert receipt.provider_address == PROVIDER_ADDRESS
        assert receipt.paid_by == "Card (Visa ending 4242)"
        assert receipt.seller_name == "Budget Marketplace (demonstration site)"
        assert "demonstration" in receipt.seller_address
    for person in members:
        (email,) = receipt_emails(mailbox, person)
        (mine,) = [r for r in found if r.user_id == person.id]
        assert subject_of(email) == f"Receipt {mine.number}: £30 paid"
        body = body_of(email)
        assert "We have received your payment of £30 on " in body
        assert f"for: Your share of {pool.title}, month 1." in body
        assert f"http://localhost/receipts/{mine.number}" in body
        assert "4242" not in body  # no card details in an email


def test_numbers_are_sequential_within_the_year_and_never_reused(
    db_session, gateway, council, moderator, provider
):
    captured_pool(db_session, gateway, council, moderator, provider)
    year = datetime.now(UTC).year
    jobs.issue_due(db_session)
    numbers = [r.number for r in receipts(db_session)]
    assert numbers == [f"R-{year}-{n:06d}" for n in (1, 2, 3)]
    # The next year starts again at 1; this year's numbers stay as they were.
    later = datetime(year + 1, 1, 1, 0, 5, tzinfo=UTC)
    charge = db_session.scalars(select(Charge)).first()
    fresh = payments.Charge(
        idempotency_key="other:1",
        purpose="other",
        reference="x1",
        user_id=charge.user_id,
        amount_pence=500,
        status="succeeded",
    )
    db_session.add(fresh)
    db_session.flush()
    assert jobs.issue_due(db_session, now=later) == [f"R-{year + 1}-000001"]
    assert [r.number for r in receipts(db_session)][:3] == numbers


def test_a_refunded_charge_keeps_its_receipt_and_the_page_says_when_it_was_refunded(
    db_session, gateway, council, moderator, provider
):
    captured_pool(db_session, gateway, council, moderator, provider)
    jobs.issue_due(db_session)
    receipt = receipts(db_session)[0]
    payments.refund_charge(db_session, receipt.charge, gateway=gateway)
    assert jobs.issue_due(db_session) == []  # still the one receipt
    page = services.page_for(db_session, receipt)
    today = services.format_date(datetime.now(UTC))
    assert page.refunded == f"Refunded in full on {today}."


def test_a_payment_refunded_before_the_job_ran_still_gets_its_receipt(
    db_session, gateway, council, moderator, provider
):
    captured_pool(db_session, gateway, council, moderator, provider)
    charge = db_session.scalars(select(Charge).order_by(Charge.id)).first()
    payments.refund_charge(db_session, charge, 1000, gateway=gateway)
    jobs.issue_due(db_session)
    (receipt,) = [r for r in receipts(db_session) if r.charge_id == charge.id]
    assert services.page_for(db_session, receipt).refunded.startswith("Refunded £10 on ")


def test_a_held_or_released_share_gets_no_receipt(
    db_session, gateway, council, moderator, provider
):
    from marketplace.pools import funding, quotes
    from tests.pools.builders import approved_pool, hold_time, quote
    from tests.receipts.conftest import join_by_card

    pool = approved_pool(db_session, council, moderator, max_members=3)
    offer = quote(db_session, provider, pool, total_pence=9000)
    members = [join_by_card(db_session, gateway, pool) for _ in range(3)]
    quotes.open_vote(db_session, pool.proposer, pool, services.utcnow() + timedelta(days=7))
    for person in members:
        quotes.vote(db_session, person, pool, offer)
    funding.fund(db_session, pool, now=hold_time(db_session, pool), gateway=gateway)
    assert {c.status for c in db_session.scalars(select(Charge))} == {"held"}
    assert jobs.issue_due(db_session) == []


def test_a_paid_fee_invoice_gets_one_receipt_for_the_period_it_paid(
    app, client, db_session, fee_member, mailbox
):
    start = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    end = datetime(2027, 1, 1, 9, 30, tzinfo=UTC)
    invoice = paid_invoice(period=(int(start.timestamp()), int(end.timestamp())))
    post_event(app, client, "evt_paid", "invoice.payment_succeeded", invoice)
    post_event(app, client, "evt_paid", "invoice.payment_succeeded", invoice)  # Stripe retried
    db_session.expire_all()
    (number,) = jobs.issue_due(db_session)
    assert jobs.issue_due(db_session) == []
    (receipt,) = receipts(db_session)
    assert receipt.number == number and receipt.source_kind == "invoice"
    assert receipt.user_id == fee_member.id and receipt.amount_pence == 700
    assert receipt.what_for == f"Membership of {ULO_NAME}: the membership fee"
    assert (receipt.period_start.isoformat(), receipt.period_end.isoformat()) == (
        "2026-12-01",
        "2026-12-31",
    )
    assert (receipt.provider_name, receipt.provider_address) == (ULO_NAME, ULO_ADDRESS)
    assert receipt.paid_by == "Card, by monthly subscription"
    (email,) = receipt_emails(mailbox, fee_member)
    assert f"for: Membership of {ULO_NAME}: the membership fee." in body_of(email)


def test_a_fee_invoice_without_lines_is_for_the_day_it_was_paid(
    app, client, db_session, fee_member
):
    post_event(app, client, "evt_plain", "invoice.payment_succeeded", paid_invoice("in_plain"))
    db_session.expire_all()
    jobs.issue_due(db_session)
    (receipt,) = receipts(db_session)
    assert receipt.period_start == receipt.period_end == receipt.paid_at.date()
    page = services.page_for(db_session, receipt)
    assert page.period == services.format_date(receipt.paid_at)


def test_an_invoice_for_someone_we_do_not_know_gets_no_receipt(app, client, db_session):
    invoice = {**paid_invoice("in_stranger"), "customer": "cus_nobody"}
    post_event(app, client, "evt_stranger", "invoice.payment_succeeded", invoice)
    db_session.expire_all()
    assert jobs.issue_due(db_session) == []


def test_the_receipt_email_goes_during_a_break_and_in_digest_mode(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, members = captured_pool(db_session, gateway, council, moderator, provider)
    on_break, digest = members[0], members[1]
    breaks.start_break(db_session, on_break, "open")
    preferences.set_frequency(db_session, digest, Frequency.WEEKLY_DIGEST.value)
    db_session.commit()
    assert breaks.is_holding_emails(db_session, on_break.id)
    assert preferences.frequency_of(db_session, digest.id) is Frequency.WEEKLY_DIGEST
    mailbox.clear()
    jobs.issue_due(db_session)
    for person in (on_break, digest):
        assert len(receipt_emails(mailbox, person)) == 1  # sent at once
    held = db_session.scalars(select(DigestItem).where(DigestItem.subject.like("Receipt%"))).all()
    assert held == []  # nothing kept back for later


def test_the_email_is_a_money_email(db_session, gateway, council, moderator, provider, monkeypatch):
    kinds = []
    monkeypatch.setattr(
        services, "send_email_or_log", lambda *a, **kw: kinds.append(kw["kind"]) or True
    )
    captured_pool(db_session, gateway, council, moderator, provider)
    jobs.issue_due(db_session)
    assert kinds == [MONEY] * 3


def test_the_job_runs_every_five_minutes_as_the_receipts_page_says():
    (periodic,) = [p for p in SCHEDULE if p.kind == services.JOB]
    assert periodic.every == timedelta(minutes=5) == services.EVERY
    assert "usually within 5 minutes" in services.READY_WITHIN


def test_the_command_issues_what_is_due(app, db_session, gateway, council, moderator, provider):
    captured_pool(db_session, gateway, council, moderator, provider)
    result = app.test_cli_runner().invoke(args=["receipts", "issue"])
    assert result.exit_code == 0, result.output
    assert "Issued 3 receipt(s)" in result.output
    assert db_session.scalar(select(func.count()).select_from(Receipt)) == 3
    again = app.test_cli_runner().invoke(args=["receipts", "issue"])
    assert "Issued 0 receipt(s)." in again.output
