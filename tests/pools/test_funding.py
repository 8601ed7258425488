"""All-or-nothing funding and monthly charging, through the real Stripe SDK and localstripe."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import stripe
from sqlalchemy import select

from marketplace.db import utcnow
from marketplace.errors import DomainError
from marketplace.payments import reconciliation
from marketplace.payments import services as payments
from marketplace.payments.gateway import StripeGateway
from marketplace.payments.models import Charge, LedgerEntry
from marketplace.pools import funding, quotes, schedule, services
from marketplace.pools.models import MemberStatus, PoolPayment, PoolStatus
from marketplace.pools.services import Pledge
from marketplace.web.template_globals import format_date
from tests.factories import CouncilFactory, UserFactory
from tests.listing_helpers import ulo_moderator
from tests.pools.builders import (
    approved_pool,
    charge_time,
    go_ahead,
    hold_time,
    invoice_pledge,
    join_by_invoice,
    notice_time,
    pay_invoice,
    quote,
)

GOOD = "4242424242424242"
DECLINED_AT_CHARGE = "4000000000000341"  # saves fine, then every charge is declined
NEEDS_AUTHENTICATION = "4000002760003184"


def join_by_card(db_session, gateway, pool, number=GOOD, max_pence=4000):
    person = UserFactory()
    card = payments.save_card(
        db_session,
        person,
        payments.CardDetails(number, 12, 2034, "123"),
        {"pool": str(pool.id)},
        gateway,
    )
    services.join(
        db_session,
        person,
        pool,
        Pledge(
            max_pence=max_pence,
            pay_by="card",
            payment_method_id=card.payment_method_id,
            card_description=f"{card.brand} ending {card.last4}",
        ),
    )
    return person


def funded_pool(db_session, gateway, council, moderator, provider, cards, invoices=0, **kw):
    """A pool with these card numbers and invoice members, whose vote chose one quote."""
    pool = approved_pool(db_session, council, moderator, **kw)
    offer = quote(db_session, provider, pool, total_pence=9000)
    people = [join_by_card(db_session, gateway, pool, number) for number in cards]
    for _ in range(invoices):
        person = UserFactory()
        services.join(db_session, person, pool, invoice_pledge())
        people.append(person)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
    for person in people:
        quotes.vote(db_session, person, pool, offer)
    # The last member's vote closes the vote and chooses the quote.
    assert pool.chosen_quote_id == offer.id
    return pool, people


def intents(gateway, pool_id):
    return [
        p
        for p in gateway.recent_payment_intents(limit=1000)
        if p.metadata.get("pool") == str(pool_id)
    ]


def rows(db_session, pool, month=1):
    return {r.user_id: r for r in funding.payments_for(db_session, pool, month)}


def test_funding_charges_each_card_once_and_invoices_managed_accounts(
    db_session, gateway, council, moderator, provider
):
    pool, people = funded_pool(
        db_session, gateway, council, moderator, provider, [GOOD, GOOD, GOOD], invoices=1
    )
    # Before the hold date nothing happens at all: no hold, no invoice.
    assert funding.fund(db_session, pool) == PoolStatus.FUNDED.value
    assert rows(db_session, pool) == {} and intents(gateway, pool.id) == []
    assert funding.fund(db_session, pool, now=hold_time(db_session, pool)) == "funded"
    held = rows(db_session, pool)
    assert [held[p.id].status for p in people] == ["held", "held", "held", "invoiced"]
    assert {p.status for p in intents(gateway, pool.id)} == {"requires_capture"}
    assert payments.ledger_balance(db_session) == 0  # held, nothing taken
    # An invoice secures its share once the ULO accepts it; it cannot be "paid" before.
    with pytest.raises(DomainError):
        pay_invoice(db_session, moderator, held[people[3].id])
    funding.accept_invoice(db_session, moderator, held[people[3].id])
    assert funding.fund(db_session, pool, now=charge_time(db_session, pool)) == "running"
    share = 2250  # 9,000p between 4 members
    paid = rows(db_session, pool)
    assert [paid[p.id].status for p in people] == ["paid", "paid", "paid", "invoiced"]
    assert {r.amount_pence for r in paid.values()} == {share}
    assert paid[people[3].id].invoice_to == "Leeds Direct Pay Ltd"
    remote = intents(gateway, pool.id)
    assert len(remote) == 3 and {p.amount_pence for p in remote} == {share}
    assert all(p.status == "succeeded" for p in remote)
    owed = db_session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "payout_owed")).all()
    assert [e.amount_pence for e in owed] == [-3 * share]
    assert pool.commissioned_at is not None and pool.months_started == 1

    # Running the first month again changes nothing and charges nobody twice.
    funding.collect_month(db_session, pool, 1)
    funding.settle_month(db_session, pool, 1, now=charge_time(db_session, pool))
    assert len(intents(gateway, pool.id)) == 3
    assert [e.amount_pence for e in owed] == [-3 * share]

    # ULO staff record the managed account's payment; the provider is owed that too.
    pay_invoice(db_session, moderator, paid[people[3].id])
    assert paid[people[3].id].status == "paid"
    with pytest.raises(DomainError):
        pay_invoice(db_session, moderator, paid[people[3].id], pence=1)


def test_a_refused_card_has_until_the_charge_date_then_every_hold_is_released_and_nobody_pays(
    db_session, gateway, council, moderator, provider
):
    pool, people = funded_pool(
        db_session, gateway, council, moderator, provider, [GOOD, GOOD, DECLINED_AT_CHARGE]
    )
    assert funding.fund(db_session, pool, now=hold_time(db_session, pool)) == "funded"
    refused = rows(db_session, pool)[people[2].id]
    assert refused.status == "failed" and refused.message
    first = schedule.charge_date(db_session, pool, 1)
    assert refused.due_by is not None and refused.due_by.date() == first  # grace to that day
    # The day before the charge date nothing is decided yet: there is still time.
    day_before = charge_time(db_session, pool) - timedelta(days=1)
    assert funding.settle_month(db_session, pool, 1, now=day_before) == "funded"

    charge_day = charge_time(db_session, pool)
    assert funding.settle_month(db_session, pool, 1, now=charge_day) == PoolStatus.LAPSED.value
    assert pool.end_reason == (
        "Not every share could be secured by midnight at the end of "
        f"{format_date(first - timedelta(days=1))}, so nobody paid"
    )
    statuses = {uid: r.status for uid, r in rows(db_session, pool).items()}
    assert statuses == {
        people[0].id: "released",
        people[1].id: "released",
        people[2].id: "cancelled",  # refused: nothing was ever held on that card
    }
    remote = intents(gateway, pool.id)
    assert {p.status for p in remote if p.amount_pence} >= {"canceled"}
    assert not any(p.status == "succeeded" for p in remote)  # nothing taken from anyone
    assert payments.ledger_balance(db_session) == 0
    assert db_session.scalars(select(LedgerEntry)).all() == []  # and so no refunds either


def test_a_bank_asking_for_confirmation_is_put_right_with_another_card(
    db_session, gateway, council, moderator, provider
):
    pool, people = funded_pool(
        db_session, gateway, council, moderator, provider, [GOOD, GOOD, NEEDS_AUTHENTICATION]
    )
    funding.fund(db_session, pool, now=hold_time(db_session, pool))
    row = rows(db_session, pool)[people[2].id]
    assert row.status == "action_needed"
    assert row.message == "Your bank wants you to confirm this payment"
    stale = db_session.get(Charge, row.charge_id).stripe_payment_intent_id
    card = payments.save_card(
        db_session, people[2], payments.CardDetails(GOOD, 1, 2035, "321"), {}, gateway
    )
    funding.retry_payment(db_session, people[2], pool, 1, card.payment_method_id, "Visa 4242")
    assert rows(db_session, pool)[people[2].id].status == "held"
    assert gateway.get_payment_intent(stale).status == "canceled"  # not left open at Stripe
    assert go_ahead(db_session, pool) == PoolStatus.RUNNING.value
    assert rows(db_session, pool)[people[2].id].status == "paid"
    with pytest.raises(DomainError):
        funding.retry_payment(db_session, people[2], pool, 1)


def test_monthly_job_charges_each_member_once_per_month_even_run_twice(
    db_session, gateway, council, moderator, provider
):
    pool, people = funded_pool(db_session, gateway, council, moderator, provider, [GOOD] * 3)
    funding.charge_due(db_session)  # nothing is due yet
    assert intents(gateway, pool.id) == []
    funding.charge_due(db_session, now=hold_time(db_session, pool))  # holds month one
    funding.charge_due(db_session, now=hold_time(db_session, pool))
    assert len(intents(gateway, pool.id)) == 3
    funding.charge_due(db_session, now=charge_time(db_session, pool))  # takes it
    funding.charge_due(db_session, now=charge_time(db_session, pool))
    assert pool.status == PoolStatus.RUNNING.value and len(intents(gateway, pool.id)) == 3

    # Month two is never charged before its date, and on it once.
    funding.charge_due(db_session, now=charge_time(db_session, pool, 2) - timedelta(days=1))
    assert pool.months_started == 1 and len(intents(gateway, pool.id)) == 3
    next_month = funding.add_months(pool.commissioned_at, 1) + timedelta(hours=1)
    funding.charge_due(db_session, now=next_month)
    funding.charge_due(db_session, now=next_month)
    assert pool.months_started == 2
    remote = intents(gateway, pool.id)
    assert len(remote) == 6
    keys = {(p.metadata["charge_key"]) for p in remote}
    assert len(keys) == 6  # one per member per month
    assert {r.month for r in db_session.scalars(select(PoolPayment))} == {1, 2}


def test_a_member_leaves_at_the_end_of_a_paid_month_and_the_waiting_list_fills_it(
    db_session, gateway, council, moderator, provider
):
    pool, people = funded_pool(
        db_session, gateway, council, moderator, provider, [GOOD] * 3, max_members=3
    )
    waiting = join_by_card_when_funded(db_session, gateway, pool)
    go_ahead(db_session, pool)
    funding.leave_running(db_session, people[0], pool)
    # A week and a day before month two the leaver's place is offered; nothing is taken from
    # the person offered it until they say yes.
    told = notice_time(db_session, pool, 2)
    funding.charge_due(db_session, now=told)
    assert services.member_record(db_session, pool, people[0].id).status == "left"
    assert services.member_record(db_session, pool, waiting.id).status == "offered"
    services.accept_offer(db_session, waiting, pool, now=told + timedelta(days=1))
    assert services.member_record(db_session, pool, waiting.id).status == "member"
    funding.charge_due(db_session, now=charge_time(db_session, pool, 2))
    month_two = rows(db_session, pool, 2)
    assert people[0].id not in month_two and month_two[waiting.id].status == "paid"


def join_by_card_when_funded(db_session, gateway, pool):
    status = pool.status
    pool.status = PoolStatus.OPEN.value
    person = join_by_card(db_session, gateway, pool)
    pool.status = status
    assert services.member_record(db_session, pool, person.id).status == "waiting"
    return person


def test_a_pool_that_misses_its_deadline_lapses_and_charges_nobody(
    db_session, gateway, council, moderator
):
    pool = approved_pool(db_session, council, moderator)
    join_by_card(db_session, gateway, pool)
    report = funding.charge_due(db_session, now=utcnow() + timedelta(days=31))
    assert report.lapsed == 1 and pool.status == PoolStatus.LAPSED.value
    assert intents(gateway, pool.id) == []
    # Its history stays readable by its members.
    member = pool.members[0]
    assert member.status == MemberStatus.MEMBER.value
    assert services.can_see(db_session, member.user, pool)
    assert not services.can_see(db_session, ulo_moderator(CouncilFactory()), pool)


class DiesAfterStripeAnswers:
    """The real gateway, except that the process dies just after Stripe takes the money
    and before our database hears the answer."""

    def __init__(self, real: StripeGateway) -> None:
        self.real = real

    def __getattr__(self, name: str):
        return getattr(self.real, name)

    def charge_off_session(self, *args, **kwargs):
        self.real.charge_off_session(*args, **kwargs)
        raise KeyboardInterrupt("the worker was killed")

    def hold_off_session(self, *args, **kwargs):
        self.real.hold_off_session(*args, **kwargs)
        raise KeyboardInterrupt("the worker was killed")


def test_a_crash_after_stripe_answers_is_found_and_repaired_without_a_second_charge(
    db_session, gateway, council, moderator, provider
):
    pool, people = funded_pool(db_session, gateway, council, moderator, provider, [GOOD] * 3)
    holding = hold_time(db_session, pool)
    with pytest.raises(KeyboardInterrupt):
        funding.collect_month(db_session, pool, 1, holding, DiesAfterStripeAnswers(gateway))
    db_session.rollback()  # the process is gone; what was committed is all that is left
    assert len(intents(gateway, pool.id)) == 1  # Stripe holds the first member's share

    report = reconciliation.reconcile(db_session, gateway)
    assert not report.ok and len(report.out_of_date) == 1  # the gap is found

    # The next run of the job, once the claim is stale, adopts Stripe's hold.
    later = holding + funding.STALE_AFTER + timedelta(minutes=1)
    funding.charge_due(db_session, now=later)
    assert len(intents(gateway, pool.id)) == 3  # one each: nobody was held twice
    assert {r.status for r in rows(db_session, pool).values()} == {"held"}
    assert reconciliation.reconcile(db_session, gateway).ok
    funding.charge_due(db_session, now=charge_time(db_session, pool))
    assert {r.status for r in rows(db_session, pool).values()} == {"paid"}
    assert reconciliation.reconcile(db_session, gateway).ok
    assert pool.status == PoolStatus.RUNNING.value


class DiesAfterCapture(DiesAfterStripeAnswers):
    """Stripe takes a held share; the worker dies before our records say so."""

    def hold_off_session(self, *args, **kwargs):
        return self.real.hold_off_session(*args, **kwargs)

    def capture(self, *args, **kwargs):
        self.real.capture(*args, **kwargs)
        raise KeyboardInterrupt("the worker was killed")


def test_a_crash_between_taking_a_hold_and_recording_it_is_mended_and_counted_once(
    app, db_session, gateway, council, moderator, provider
):
    pool, people = funded_pool(db_session, gateway, council, moderator, provider, [GOOD] * 3)
    funding.fund(db_session, pool, now=hold_time(db_session, pool))
    with pytest.raises(KeyboardInterrupt):
        funding.settle_month(
            db_session, pool, 1, charge_time(db_session, pool), DiesAfterCapture(gateway)
        )
    db_session.rollback()
    # Committed: the decision to go ahead and the first capture's request; Stripe took it.
    assert [p.status for p in intents(gateway, pool.id)].count("succeeded") == 1
    assert pool.status == PoolStatus.RUNNING.value and pool.months_started == 0
    report = reconciliation.reconcile(db_session, gateway, mend=True)  # `flask payments reconcile`
    assert len(report.mended) == 1 and report.ok
    # The next run takes the other two holds and counts the first one once.
    funding.charge_due(db_session, now=charge_time(db_session, pool))
    assert {r.status for r in rows(db_session, pool).values()} == {"paid"}
    assert pool.months_started == 1
    assert {p.status for p in intents(gateway, pool.id)} == {"succeeded"}
    assert len(intents(gateway, pool.id)) == 3
    charges = db_session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "charge")).all()
    assert len(charges) == 3
    owed = db_session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "payout_owed")).all()
    assert [e.amount_pence for e in owed] == [-9000]


def signed_event(app, event_id, intent):
    body = json.dumps(
        {"id": event_id, "object": "event", "type": "payment_intent.succeeded",
         "data": {"object": intent}}
    )  # fmt: skip
    header = stripe.WebhookSignature.generate_signature_header(
        body, app.config["STRIPE_WEBHOOK_SECRET"]
    )
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


def test_a_confirmed_payment_arrives_by_webhook_once_however_often_it_is_sent(
    app, client, db_session, gateway, council, moderator, provider
):
    pool, people = funded_pool(
        db_session, gateway, council, moderator, provider, [GOOD, GOOD, NEEDS_AUTHENTICATION]
    )
    funding.fund(db_session, pool, now=hold_time(db_session, pool))
    # On session: now held (at the hold date, the clock these tests keep).
    funding.confirm_payment(db_session, people[2], pool, 1, now=hold_time(db_session, pool))
    assert go_ahead(db_session, pool) == PoolStatus.RUNNING.value
    month_two = charge_time(db_session, pool, 2)
    funding.charge_due(db_session, now=month_two)  # off-session again: the bank asks again
    row = rows(db_session, pool, 2)[people[2].id]
    assert row.status == "action_needed"
    charge = db_session.get(Charge, row.charge_id)
    intent = {
        "id": charge.stripe_payment_intent_id,
        "object": "payment_intent",
        "status": "succeeded",
        "amount": charge.amount_pence,
        "metadata": {"charge_key": charge.idempotency_key, "pool": str(pool.id)},
    }
    body, headers = signed_event(app, "evt_confirmed_1", intent)
    for _ in range(100):
        assert client.post("/payments/webhook", data=body, headers=headers).status_code == 200
    db_session.expire_all()
    assert rows(db_session, pool, 2)[people[2].id].status == "paid"
    ledger = db_session.scalars(select(LedgerEntry).where(LedgerEntry.charge_id == charge.id)).all()
    assert [e.amount_pence for e in ledger] == [charge.amount_pence]  # one effect
    assert funding.settle_month(db_session, pool, 2, now=month_two) == PoolStatus.RUNNING.value
    assert pool.months_started == 2


def test_members_and_the_provider_are_emailed_and_no_email_holds_card_details(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, people = funded_pool(
        db_session, gateway, council, moderator, provider, [GOOD, GOOD, DECLINED_AT_CHARGE]
    )
    funding.fund(db_session, pool, now=hold_time(db_session, pool))
    db_session.commit()  # emails go after the commit
    problem = mailbox.last_to(people[2].email)
    assert problem["Subject"] == "Please put your pool payment right"
    body = problem.get_payload(decode=True).decode()
    assert f"/pools/{pool.id}/payments/1/fix" in body and "0341" not in body

    text = " ".join(body.split())
    first = schedule.charge_date(db_session, pool, 1)
    last_day = format_date(first - timedelta(days=1))
    assert f"Please put it right by midnight at the end of {last_day}" in text
    assert "every hold is then released and nobody pays anything" in text

    funding.settle_month(db_session, pool, 1, now=charge_time(db_session, pool))
    db_session.commit()
    assert pool.status == PoolStatus.LAPSED.value
    lapsed = mailbox.last_to(people[0].email)
    assert lapsed["Subject"] == "Your pool will not go ahead"
    words = " ".join(lapsed.get_payload(decode=True).decode().split())
    assert "Nothing was taken from anyone for it: any hold on your card has been released" in words
    assert not [p for p in intents(gateway, pool.id) if p.status == "succeeded"]  # true


def test_the_provider_is_told_when_the_pool_goes_ahead(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, people = funded_pool(db_session, gateway, council, moderator, provider, [GOOD] * 3)
    go_ahead(db_session, pool)
    db_session.commit()  # emails go after the commit
    staff, _ = provider
    assert mailbox.last_to(staff.email)["Subject"] == "Your quote for a pool has been chosen"
    assert mailbox.last_to(people[1].email)["Subject"] == "Your pool is going ahead"


def test_fewer_members_raise_the_share_and_below_the_minimum_the_pool_winds_down(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, people = funded_pool(
        db_session, gateway, council, moderator, provider, [GOOD] * 4, min_members=3
    )
    go_ahead(db_session, pool)  # 4 members: 2,250p each
    funding.leave_running(db_session, people[0], pool)
    # The job first looks at month two on its charge date: the rise is told then and charged
    # a week later, never at once.
    month_two = charge_time(db_session, pool, 2)
    funding.charge_due(db_session, now=month_two)  # 3 members: 3,000p each
    db_session.commit()
    assert rows(db_session, pool, 2) == {}
    due = schedule.charge_date(db_session, pool, 2) + timedelta(days=schedule.NOTICE_DAYS + 1)
    assert schedule.due_date(db_session, pool, 2) == due  # told an hour into the day: round up
    rise = mailbox.last_to(people[1].email)
    assert rise["Subject"] == "Your share of a pool is going up"
    words = " ".join(rise.get_payload(decode=True).decode().split())
    assert "goes from £22.50 to £30." in words and f"charged on {format_date(due)}" in words
    funding.charge_due(db_session, now=schedule.start_of(due) - timedelta(minutes=1))
    assert rows(db_session, pool, 2) == {} and len(intents(gateway, pool.id)) == 4
    funding.charge_due(db_session, now=schedule.start_of(due) + timedelta(hours=1))
    assert {r.amount_pence for r in rows(db_session, pool, 2).values()} == {3000}

    funding.leave_running(db_session, people[1], pool)
    month_three = funding.add_months(pool.commissioned_at, 2) + timedelta(hours=1)
    report = funding.charge_due(db_session, now=month_three)  # 2 members: below the minimum
    db_session.commit()
    assert "ends after month 2" in pool.end_reason
    assert rows(db_session, pool, 3) == {}  # nobody pays for a month that will not run
    assert mailbox.last_to(people[2].email)["Subject"] == "Your pool is ending"
    # Month two, the last one paid, is over by now: the pool has wound down.
    assert report.closed == 1 and pool.status == PoolStatus.CLOSED.value
    assert len(intents(gateway, pool.id)) == 4 + 3  # months one and two, nothing for three


def test_leaving_while_a_charged_month_is_unsettled_stays_to_the_end_of_that_month(
    db_session, gateway, council, moderator, provider
):
    pool, people = funded_pool(db_session, gateway, council, moderator, provider, [GOOD] * 3)
    go_ahead(db_session, pool)
    next_month = funding.add_months(pool.commissioned_at, 1) + timedelta(hours=1)
    # Month two is charged but its grace period has not run out, so it is not settled yet.
    funding.collect_month(db_session, pool, 2, next_month, gateway)
    assert pool.months_started == 1 and len(rows(db_session, pool, 2)) == 3
    leaver = funding.leave_running(db_session, people[0], pool)
    assert leaver.leave_after_month == 2  # they paid for month two: it is theirs
    funding.charge_due(db_session, now=next_month)
    assert pool.months_started == 2
    assert services.member_record(db_session, pool, people[0].id).status == "member"
    assert len(funding.billable_members(pool, 2)) == 3
    assert people[0] not in [m.user for m in funding.billable_members(pool, 3)]


def test_each_charge_is_reminded_three_days_before_its_date_once(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, people = funded_pool(db_session, gateway, council, moderator, provider, [GOOD] * 3)
    first = schedule.charge_date(db_session, pool, 1)
    too_soon = charge_time(db_session, pool) - timedelta(days=4)
    assert funding.charge_due(db_session, now=too_soon).reminded == 0
    three_days = charge_time(db_session, pool) - timedelta(days=3)
    assert funding.charge_due(db_session, now=three_days).reminded == 1
    assert funding.charge_due(db_session, now=three_days).reminded == 0  # once
    db_session.commit()  # sent through the outbox, after the commit
    reminder = mailbox.last_to(people[0].email)
    assert reminder["Subject"] == "A pool payment is coming up"
    words = " ".join(reminder.get_payload(decode=True).decode().split())
    assert f"£30, will be taken on {first.day} {first:%B %Y}" in words
    assert "if not, nothing is taken from anyone" in words
    # What it says happens: held now, nothing taken before that date, taken on it.
    assert {p.status for p in intents(gateway, pool.id)} == {"requires_capture"}
    assert payments.ledger_balance(db_session) == 0
    funding.charge_due(db_session, now=charge_time(db_session, pool))
    assert {p.status for p in intents(gateway, pool.id)} == {"succeeded"}
    second = schedule.charge_date(db_session, pool, 2)
    before_two = charge_time(db_session, pool, 2) - timedelta(days=3)
    assert funding.charge_due(db_session, now=before_two).reminded == 1
    db_session.commit()
    words = " ".join(mailbox.last_to(people[1].email).get_payload(decode=True).decode().split())
    assert f"Month 2 of {pool.title}, your share of £30, will be taken on {second.day}" in words


def test_a_pool_past_its_deadline_lapses_with_the_true_reason(
    app, db_session, council, moderator, provider
):
    few = approved_pool(db_session, council, moderator)  # needs 3
    join_by_invoice(db_session, few, 2)
    unchosen = approved_pool(db_session, council, moderator)
    join_by_invoice(db_session, unchosen, 3)  # enough people, but no vote chose a quote
    after = utcnow() + timedelta(days=31)  # builders set the deadline 30 days out
    with app.app_context():  # the members are emailed
        funding.charge_due(db_session, now=after)
        db_session.commit()
    db_session.expire_all()
    few, unchosen = (db_session.get(type(p), p.id) for p in (few, unchosen))
    assert (few.status, unchosen.status) == (PoolStatus.LAPSED.value,) * 2
    assert few.end_reason == (
        "The pool did not reach its minimum of 3 members by the deadline, so nobody paid anything"
    )
    assert unchosen.end_reason == (
        "No quote was chosen by the deadline, so the pool did not go ahead and nobody paid"
    )
    assert db_session.scalars(select(PoolPayment)).all() == []


def test_the_money_promise_for_an_invoiced_member_and_a_visitor_is_what_funding_does(
    app, db_session, council, moderator, provider
):
    from marketplace.pools import notices
    from marketplace.web.template_globals import format_date

    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool)
    people = join_by_invoice(db_session, pool, 3)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
    with app.app_context():
        for person in people:
            quotes.vote(db_session, person, pool, offer)
        db_session.commit()
    assert pool.status == PoolStatus.FUNDED.value
    member = services.member_record(db_session, pool, people[0].id)
    hold_on = format_date(schedule.hold_date(db_session, pool))
    first = format_date(schedule.charge_date(db_session, pool, 1))
    assert notices.hold_words(db_session, pool, member) == (
        f"Nothing is paid yet. From {hold_on} your first share is invoiced to Leeds Direct Pay "
        f"Ltd; it is only due if every member's share is secured by {first}. If not, every hold "
        "is released, every invoice is cancelled and nobody pays anything."
    )
    assert notices.hold_words(db_session, pool, None).startswith(
        f"Nothing is taken from anyone yet. From {hold_on}, each card member's first share"
    )
    with app.app_context():
        funding.charge_due(db_session, now=hold_time(db_session, pool))
        db_session.commit()
    assert [r.status for r in funding.payments_for(db_session, pool, 1)] == ["invoiced"] * 3
    # Nobody accepts the invoices: on the start date every one is cancelled and nobody pays.
    with app.app_context():
        funding.charge_due(db_session, now=charge_time(db_session, pool))
        db_session.commit()
    db_session.expire_all()
    pool = db_session.get(type(pool), pool.id)  # leaving the app context ended its session
    assert pool.status == PoolStatus.LAPSED.value
    assert {r.status for r in funding.payments_for(db_session, pool, 1)} == {"cancelled"}


def test_going_ahead_tells_each_member_what_they_paid_and_how(
    app, db_session, council, moderator, provider, mailbox
):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool, total_pence=9000)
    people = join_by_invoice(db_session, pool, 3)
    with app.app_context():
        quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
        for person in people:
            quotes.vote(db_session, person, pool, offer)
        assert go_ahead(db_session, pool, staff=moderator) == PoolStatus.RUNNING.value
        db_session.commit()
    body = mailbox.last_to(people[0].email, "Your pool is going ahead")
    body = " ".join(body.get_payload(decode=True).decode().split())
    assert "Your first share of £30 is now due on the invoice to Leeds Direct Pay Ltd." in body
    assert "taken" not in body  # nothing was taken from an invoiced member
    (staff, _org) = provider
    to_provider = mailbox.last_to(staff.email, "Your quote for a pool has been chosen")
    said = " ".join(to_provider.get_payload(decode=True).decode().split())
    assert "Of its first month, £90 is invoiced to members' accounts." in said
    assert [r.status for r in funding.payments_for(db_session, pool, 1)] == ["invoiced"] * 3


def test_a_run_more_than_six_days_after_the_holds_places_them_again_and_takes_each_once(
    db_session, gateway, council, moderator, provider
):
    """Stripe drops a card hold after 7 days. If the job stopped for longer than that, the
    late run places each hold again (the old one cancelled) before taking it: all or nothing
    still, each share taken once."""
    pool, people = funded_pool(db_session, gateway, council, moderator, provider, [GOOD] * 3)
    funding.fund(db_session, pool, now=hold_time(db_session, pool))
    assert {r.status for r in rows(db_session, pool).values()} == {"held"}
    first = {p.id for p in intents(gateway, pool.id)}
    late = hold_time(db_session, pool) + payments.HOLD_LIFETIME  # the job was down 7 days
    assert funding.fund(db_session, pool, now=late) == PoolStatus.RUNNING.value
    remote = intents(gateway, pool.id)
    old = [p for p in remote if p.id in first]
    new = [p for p in remote if p.id not in first]
    assert {p.status for p in old} == {"canceled"}  # nothing was taken on the dropped holds
    assert len(new) == 3 and {p.status for p in new} == {"succeeded"}
    assert {p.metadata[payments.META_KEY] for p in new} == {
        funding.charge_key(pool.id, person.id, 1) for person in people
    }
    assert [r.status for r in rows(db_session, pool).values()] == ["paid"] * 3
    # Running again takes nothing more.
    funding.charge_due(db_session, now=late + timedelta(hours=1))
    assert len(intents(gateway, pool.id)) == 6


def test_a_renewed_hold_that_is_now_refused_lapses_the_pool_with_nothing_taken(
    db_session, gateway, council, moderator, provider
):
    pool, people = funded_pool(db_session, gateway, council, moderator, provider, [GOOD] * 3)
    funding.fund(db_session, pool, now=hold_time(db_session, pool))
    # The card is cancelled meanwhile: the new hold is refused.
    member = next(m for m in pool.current_members if m.user_id == people[0].id)
    refused = payments.save_card(
        db_session,
        people[0],
        payments.CardDetails(DECLINED_AT_CHARGE, 12, 2034, "123"),
        {},
        gateway,
    )
    member.payment_method_id = refused.payment_method_id
    late = hold_time(db_session, pool) + payments.HOLD_LIFETIME
    assert funding.fund(db_session, pool, now=late) == PoolStatus.LAPSED.value
    assert not [p for p in intents(gateway, pool.id) if p.status == "succeeded"]
    assert {r.status for r in rows(db_session, pool).values()} <= {"released", "cancelled"}


def test_a_renewal_stopped_between_cancelling_and_holding_again_is_finished_by_the_next_run(
    db_session, gateway, council, moderator, provider
):
    pool, people = funded_pool(db_session, gateway, council, moderator, provider, [GOOD] * 3)
    funding.fund(db_session, pool, now=hold_time(db_session, pool))
    # A worker cancelled the first hold and wrote that down, then died before the new hold.
    row = rows(db_session, pool)[people[0].id]
    charge = db_session.get(Charge, row.charge_id)
    gateway.cancel(charge.stripe_payment_intent_id)
    charge.status, charge.failure_message = "failed", payments.RENEWING
    db_session.commit()
    late = hold_time(db_session, pool) + payments.HOLD_LIFETIME
    assert funding.fund(db_session, pool, now=late) == PoolStatus.RUNNING.value
    taken = [p for p in intents(gateway, pool.id) if p.status == "succeeded"]
    assert sorted(p.metadata[payments.META_KEY] for p in taken) == sorted(
        funding.charge_key(pool.id, person.id, 1) for person in people
    )
