"""A person's statement, without HTTP: pool shares by card and invoice, refunds on their own
dates, fees from webhooks, date ranges to the day, running totals, CSV, and where the money
went before and after a payout is recorded."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from marketplace.db import as_utc
from marketplace.errors import DomainError
from marketplace.payments import payouts
from marketplace.payments import services as payments
from marketplace.payments.models import Charge
from marketplace.pools import funding, invoices, schedule
from marketplace.pools.models import GRACE_DAYS, PoolStatus
from marketplace.statements import services
from marketplace.statements.services import DateRange
from tests.factories import UserFactory
from tests.pools.builders import charge_time, go_ahead, pay_invoice
from tests.pools.test_funding import DECLINED_AT_CHARGE, GOOD, funded_pool
from tests.statements.builders import fee_member, pay_fee, refunds, rows

EVERYTHING = DateRange(None, date(2100, 1, 1))


def where(line) -> str:
    return line.where_money_went


def test_a_card_share_is_listed_with_its_service_period_provider_and_reference(
    db_session, gateway, council, moderator, provider
):
    staff, org = provider
    org.postal_address = "2 Mill Street\nLeeds LS6 1AA"
    pool, people = funded_pool(
        db_session, gateway, council, moderator, provider, [GOOD] * 3, title="Art group"
    )
    assert go_ahead(db_session, pool) == PoolStatus.RUNNING.value
    statement = services.statement_for(db_session, people[0], EVERYTHING)
    (line,) = statement.lines
    row = rows(db_session, pool, 1)[people[0].id]
    charge = db_session.get(Charge, row.charge_id)
    first = schedule.charge_date(db_session, pool, 1)
    second = schedule.charge_date(db_session, pool, 2)
    assert line.on == as_utc(row.paid_at).date() == first
    assert (line.service_from, line.service_to) == (first, second - timedelta(days=1))
    assert line.what_for == "Art group: month 1 of 3 (pool)"
    assert line.provider == services.Provider(org.name, "2 Mill Street\nLeeds LS6 1AA")
    assert line.amount_pence == 3000 and line.how_paid == "Card"
    assert line.reference == charge.idempotency_key
    assert line.stripe_id == charge.stripe_payment_intent_id
    assert line.running_total_pence == 3000
    assert statement.paid_pence == statement.net_pence == 3000
    assert services.statement_for(db_session, UserFactory(), EVERYTHING).lines == []


def test_where_the_money_went_changes_only_once_a_payout_covering_it_is_recorded(
    db_session, gateway, council, moderator, provider
):
    staff, org = provider
    pool, people = funded_pool(db_session, gateway, council, moderator, provider, [GOOD] * 3)
    go_ahead(db_session, pool)

    def said() -> str:
        return where(services.statement_for(db_session, people[0], EVERYTHING).lines[0])

    # Month one was owed to the provider when it was taken; nothing is paid on yet.
    assert said() == f"Held by Budget Marketplace and owed to {org.name}: not paid on yet"
    assert payouts.balance_owed(db_session, org.id) == 9000
    payouts.record_payout(db_session, None, org, 5000, "BACS 1", date(2026, 1, 5))
    assert said() == f"Held by Budget Marketplace and owed to {org.name}: not paid on yet"
    payouts.record_payout(db_session, None, org, 4000, "BACS 2", date(2026, 1, 9))
    assert said() == f"Held by Budget Marketplace and paid on to {org.name} on 9 January 2026"
    assert payouts.balance_owed(db_session, org.id) == 0


def test_invoice_shares_are_matched_to_their_own_owed_amounts(
    db_session, gateway, council, moderator, provider
):
    staff, org = provider
    pool, members = funded_pool(db_session, gateway, council, moderator, provider, [], invoices=3)
    assert go_ahead(db_session, pool, staff=moderator) == PoolStatus.RUNNING.value
    month_one = rows(db_session, pool, 1)
    pay_invoice(db_session, moderator, month_one[members[0].id])
    pay_invoice(db_session, moderator, month_one[members[1].id])

    first = services.statement_for(db_session, members[0], EVERYTHING).lines[0]
    assert first.how_paid == "Invoice to managed account (Leeds Direct Pay Ltd)"
    number = invoices.invoice_of(db_session, month_one[members[0].id]).number
    assert first.reference == f"{number} (paid with BACS 0001)"  # the invoice and the transfer
    assert first.stripe_id == ""
    # Staff recorded it paid today (not the test's simulated month): that is the payment date.
    assert first.on == as_utc(month_one[members[0].id].paid_at).date()
    assert where(first) == f"Held by Budget Marketplace and owed to {org.name}: not paid on yet"
    # A payout of one invoice's worth settles the invoice owed first, not the second.
    payouts.record_payout(db_session, None, org, 3000, "BACS 7", date(2026, 2, 2))
    line_0 = services.statement_for(db_session, members[0], EVERYTHING).lines[0]
    line_1 = services.statement_for(db_session, members[1], EVERYTHING).lines[0]
    assert (
        where(line_0) == f"Held by Budget Marketplace and paid on to {org.name} on 2 February 2026"
    )
    assert where(line_1) == f"Held by Budget Marketplace and owed to {org.name}: not paid on yet"
    # The third member's invoice is not paid: not a payment, so not on the statement.
    assert services.statement_for(db_session, members[2], EVERYTHING).lines == []


def test_a_refund_is_its_own_line_on_its_own_date_and_the_totals_run(
    db_session, gateway, council, moderator, provider
):
    staff, org = provider
    pool, people = funded_pool(db_session, gateway, council, moderator, provider, [GOOD] * 3)
    go_ahead(db_session, pool)
    # The third member's new card is refused in month two, and never put right in time.
    declining = payments.save_card(
        db_session, people[2], payments.CardDetails(DECLINED_AT_CHARGE, 12, 2034, "123"), {},
        gateway,
    )  # fmt: skip
    member = next(m for m in pool.members if m.user_id == people[2].id)
    member.payment_method_id = declining.payment_method_id
    month_two = charge_time(db_session, pool, 2)
    funding.charge_due(db_session, now=month_two)
    assert rows(db_session, pool, 2)[people[2].id].status == "failed"
    # Grace over: their place goes, the pool is below its minimum, month two is given back.
    funding.charge_due(db_session, now=month_two + timedelta(days=GRACE_DAYS, hours=1))
    assert pool.status in (PoolStatus.WINDING_DOWN.value, PoolStatus.CLOSED.value)
    row = rows(db_session, pool, 2)[people[0].id]
    assert row.status == "refunded"
    (refund,) = refunds(db_session, row.charge_id)
    # The ledger writes the refund with the real clock; move it to the simulated day after.
    refund.created_at = month_two + timedelta(days=1)
    db_session.flush()

    statement = services.statement_for(db_session, people[0], EVERYTHING)
    month_1, month_2, back = statement.lines
    assert [(x.kind, x.amount_pence, x.running_total_pence) for x in statement.lines] == [
        ("payment", 3000, 3000),
        ("payment", 3000, 6000),
        ("refund", -3000, 3000),
    ]
    assert month_2.on == month_two.date()
    assert back.on == month_two.date() + timedelta(days=1)  # not the payment's date
    assert back.what_for.startswith("Refund: ") and back.how_paid == "Refund to card"
    assert back.stripe_id == db_session.get(Charge, row.charge_id).stripe_refund_id
    assert where(month_2) == (
        f"Held by Budget Marketplace, then refunded to you on {services.format_date(back.on)}"
    )
    assert (
        where(back)
        == f"Refunded to your card by Budget Marketplace on {services.format_date(back.on)}"
    )
    assert (statement.paid_pence, statement.refunded_pence, statement.net_pence) == (
        6000,
        -3000,
        3000,
    )
    assert where(month_1).startswith("Held by Budget Marketplace and owed to")


def test_fees_arrive_from_webhooks_with_their_subscription_period(app, client, db_session):
    person = UserFactory()
    ulo = fee_member(db_session, person)
    pay_fee(app, client, "in_jan", date(2026, 1, 3), (date(2026, 1, 3), date(2026, 2, 3)))
    pay_fee(app, client, "in_feb", date(2026, 2, 3))  # a payload without its period
    statement = services.statement_for(db_session, person, EVERYTHING)
    jan, feb = statement.lines
    assert (jan.on, jan.amount_pence, jan.source) == (date(2026, 1, 3), 700, "fee")
    assert (jan.service_from, jan.service_to) == (date(2026, 1, 3), date(2026, 2, 2))
    assert jan.service_period == "3 January 2026 to 2 February 2026"
    assert feb.service_period == "Not known"
    assert jan.what_for == f"Membership fee: {ulo.name}"
    assert jan.provider.address == "1 Park Row\nLeeds LS1 5AB"
    assert jan.how_paid == "Card (monthly subscription)"
    assert jan.reference == jan.stripe_id == "in_jan"
    assert where(jan) == (
        f"Held by Budget Marketplace for {ulo.name}: no payout of membership fees is recorded yet"
    )
    assert [line.running_total_pence for line in statement.lines] == [700, 1400]
    # Another person's fees are never on it.
    assert services.statement_for(db_session, UserFactory(), EVERYTHING).lines == []


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 2, 3), date(2026, 3, 3), ["in_feb", "in_mar"]),  # both ends included
        (date(2026, 2, 4), date(2026, 3, 3), ["in_mar"]),  # the day after: not included
        (date(2026, 2, 3), date(2026, 3, 2), ["in_feb"]),  # the day before: not included
        (None, date(2026, 1, 3), ["in_jan"]),  # from the first payment
        (date(2026, 3, 4), date(2026, 4, 1), []),
    ],
)
def test_a_date_range_includes_both_of_its_days_and_nothing_outside(
    app, client, db_session, start, end, expected
):
    person = UserFactory()
    fee_member(db_session, person)
    for invoice, day in (("in_jan", 3), ("in_feb", 3), ("in_mar", 3)):
        month = {"in_jan": 1, "in_feb": 2, "in_mar": 3}[invoice]
        pay_fee(app, client, invoice, date(2026, month, day))
    statement = services.statement_for(db_session, person, DateRange(start, end))
    assert [line.reference for line in statement.lines] == expected
    # The running total starts again at the range's first line.
    assert [line.running_total_pence for line in statement.lines] == [
        700 * (i + 1) for i in range(len(expected))
    ]


def test_the_csv_has_the_holders_details_and_every_column(app, client, db_session):
    person = UserFactory(display_name="Sam")
    ulo = fee_member(db_session, person)
    services.save_details(db_session, person, "=Samantha Jones", None, "DP-12345")
    pay_fee(app, client, "in_jan", date(2026, 1, 3), (date(2026, 1, 3), date(2026, 2, 3)))
    statement = services.statement_for(
        db_session, person, DateRange(date(2026, 1, 1), date(2026, 1, 31))
    )
    found = list(csv.reader(io.StringIO(services.as_csv(statement))))
    assert found[0] == ["Statement for", "'=Samantha Jones"]  # never a spreadsheet formula
    assert found[1] == ["Council", "Not given"]
    assert found[2] == ["Direct-payment reference", "DP-12345"]
    assert found[3] == ["Dates", "1 January 2026 to 31 January 2026"]
    header = found.index(services.CSV_COLUMNS)
    assert dict(zip(services.CSV_COLUMNS, found[header + 1], strict=True)) == {
        "Date": "2026-01-03",
        "Type": "Payment",
        "What for": f"Membership fee: {ulo.name}",
        "Service from": "2026-01-03",
        "Service to": "2026-02-02",
        "Provider": ulo.name,
        "Provider address": "1 Park Row, Leeds LS1 5AB",
        "Amount (pounds)": "£7",
        "Amount (pence)": "700",
        "How paid": "Card (monthly subscription)",
        "Reference": "in_jan",
        "Stripe reference": "in_jan",
        "Where the money went": services.fee_held(ulo.name),
        "Running total (pence)": "700",
    }
    assert ["Net total (pence)", "700"] in found


def test_the_holders_details_are_theirs_to_set_and_clear(db_session, council):
    person = UserFactory(display_name="Sam")
    services.save_details(db_session, person, "  Samantha   Jones ", council.id, " DP 1 ")
    statement = services.statement_for(db_session, person, EVERYTHING)
    assert (statement.holder_name, statement.council, statement.direct_payment_reference) == (
        "Samantha Jones",
        council.name,
        "DP 1",
    )
    services.save_details(db_session, person, "", None, "")
    statement = services.statement_for(db_session, person, EVERYTHING)
    assert (statement.holder_name, statement.council, statement.direct_payment_reference) == (
        "Sam",
        None,
        None,
    )
    with pytest.raises(DomainError) as refused:
        services.save_details(db_session, person, None, 999999, None)
    assert refused.value.field == "council_id"


def test_a_range_may_not_end_before_it_starts_nor_start_in_the_future():
    today = date(2026, 11, 25)
    assert services.check_range(None, None, today) == DateRange(None, today)
    with pytest.raises(DomainError) as refused:
        services.check_range(date(2026, 5, 2), date(2026, 5, 1), today)
    assert refused.value.field == "end"
    with pytest.raises(DomainError) as refused:
        services.check_range(date(2026, 11, 26), None, today)
    assert refused.value.field == "start"
    # A range may end in the future: it shows everything so far.
    assert services.check_range(None, date(2026, 12, 31), today) == DateRange(
        None, date(2026, 12, 31)
    )


def test_the_quick_choices_are_the_councils_usual_periods():
    weeks, quarter, year = services.quick_choices(date(2026, 11, 25))
    assert weeks.range == DateRange(date(2026, 10, 29), date(2026, 11, 25))  # 28 days
    assert quarter.range == DateRange(date(2026, 7, 1), date(2026, 9, 30))
    assert year.range == DateRange(date(2025, 4, 1), date(2026, 3, 31))
    _, quarter, year = services.quick_choices(date(2026, 2, 10))
    assert quarter.range == DateRange(date(2025, 10, 1), date(2025, 12, 31))
    assert year.range == DateRange(date(2024, 4, 1), date(2025, 3, 31))
    _, _, year = services.quick_choices(date(2026, 4, 1))
    assert year.range == DateRange(date(2025, 4, 1), date(2026, 3, 31))
