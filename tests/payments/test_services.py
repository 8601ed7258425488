"""Customers, exactly-once charges, refunds, payouts owed, reconciliation (real localstripe)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketplace.errors import DomainError
from marketplace.payments import reconciliation, services
from marketplace.payments.cli import payments_cli
from marketplace.payments.models import (
    Charge,
    ChargeStatus,
    LedgerEntry,
    LedgerKind,
    PaymentCustomer,
)
from tests.factories import UserFactory
from tests.payments.conftest import DECLINED_CARD, GOOD_CARD, NEEDS_AUTHENTICATION_CARD, save_card

KEY = "pool:12:member:34:period:2027-01"


def charge(db_session, gateway, user, card, key=KEY, amount=2500):
    return services.charge_once(
        db_session,
        user=user,
        idempotency_key=key,
        amount_pence=amount,
        payment_method_id=card.payment_method_id,
        purpose="pool",
        reference="pool:12",
        metadata={"pool_id": "12"},
        gateway=gateway,
    )


def intents_for(gateway, key):
    return [
        p for p in gateway.recent_payment_intents(limit=1000) if p.metadata.get("charge_key") == key
    ]


def ledger(db_session):
    return list(db_session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)))


def test_a_customer_is_created_once_and_reused(db_session, gateway, holder):
    first = services.customer_for(db_session, holder, gateway)
    again = services.customer_for(db_session, holder, gateway)

    assert first == again and first.startswith("cus_")
    count = db_session.scalar(select(func.count()).select_from(PaymentCustomer))
    assert count == 1


def test_a_successful_charge_writes_the_charge_and_a_ledger_entry(
    db_session, gateway, holder, card
):
    result = charge(db_session, gateway, holder, card)

    assert result.status == ChargeStatus.SUCCEEDED
    assert result.stripe_payment_intent_id and result.attempts == 1
    [entry] = ledger(db_session)
    assert (entry.kind, entry.amount_pence, entry.charge_id, entry.user_id) == (
        LedgerKind.CHARGE,
        2500,
        result.id,
        holder.id,
    )
    assert entry.stripe_id == result.stripe_payment_intent_id
    [remote] = intents_for(gateway, KEY)
    assert remote.metadata == {
        "pool_id": "12",
        "charge_key": KEY,
        "charge_attempt": "1",
        "purpose": "pool",
        "reference": "pool:12",
    }


def test_charging_the_same_key_twice_makes_one_payment(db_session, gateway, holder, card):
    first = charge(db_session, gateway, holder, card)
    second = charge(db_session, gateway, holder, card)

    assert second.id == first.id
    assert second.stripe_payment_intent_id == first.stripe_payment_intent_id
    # localstripe ignores Idempotency-Key, so this is our database's doing alone.
    assert len(intents_for(gateway, KEY)) == 1
    assert db_session.scalar(select(func.count()).select_from(Charge)) == 1
    assert len(ledger(db_session)) == 1


def test_the_same_key_for_a_different_amount_is_refused(db_session, gateway, holder, card):
    charge(db_session, gateway, holder, card)

    with pytest.raises(services.ChargeKeyConflict):
        charge(db_session, gateway, holder, card, amount=9999)
    assert len(intents_for(gateway, KEY)) == 1


def test_a_card_needing_authentication_is_recorded_as_requires_action(db_session, gateway, holder):
    card = save_card(db_session, gateway, holder, NEEDS_AUTHENTICATION_CARD)

    result = charge(db_session, gateway, holder, card)

    assert result.status == ChargeStatus.REQUIRES_ACTION
    assert result.stripe_payment_intent_id
    assert "confirm this payment" in (result.failure_message or "")
    assert ledger(db_session) == []


def test_after_requires_action_a_new_card_is_tried_as_a_new_attempt(db_session, gateway, holder):
    bad = save_card(db_session, gateway, holder, NEEDS_AUTHENTICATION_CARD)
    charge(db_session, gateway, holder, bad)
    good = save_card(db_session, gateway, holder, GOOD_CARD)

    result = charge(db_session, gateway, holder, good)

    assert (result.status, result.attempts) == (ChargeStatus.SUCCEEDED, 2)
    attempts = sorted(p.metadata["charge_attempt"] for p in intents_for(gateway, KEY))
    assert attempts == ["1", "2"]
    assert [e.amount_pence for e in ledger(db_session)] == [2500]


def test_a_crash_after_stripe_answered_does_not_charge_again(db_session, gateway, holder, card):
    """The row was committed and Stripe took the money, but the answer was never recorded."""
    customer_id = services.customer_for(db_session, holder, gateway)
    gateway.charge_off_session(
        customer_id,
        card.payment_method_id,
        2500,
        f"{KEY}:attempt:1",
        {"charge_key": KEY, "charge_attempt": "1"},
    )
    db_session.add(
        Charge(
            idempotency_key=KEY,
            purpose="pool",
            reference="pool:12",
            user_id=holder.id,
            amount_pence=2500,
            status=ChargeStatus.PENDING.value,
            attempts=1,
        )
    )
    db_session.commit()

    result = charge(db_session, gateway, holder, card)

    assert result.status == ChargeStatus.SUCCEEDED
    [remote] = intents_for(gateway, KEY)
    assert result.stripe_payment_intent_id == remote.id
    assert [e.amount_pence for e in ledger(db_session)] == [2500]


def test_refund_happens_exactly_once_with_a_negative_ledger_entry(
    db_session, gateway, holder, card
):
    paid = charge(db_session, gateway, holder, card)

    refunded = services.refund_charge(db_session, paid, gateway=gateway)
    again = services.refund_charge(db_session, paid, gateway=gateway)

    assert refunded.status == again.status == ChargeStatus.REFUNDED
    assert refunded.refunded_pence == 2500
    assert again.stripe_refund_id == refunded.stripe_refund_id
    assert [(e.kind, e.amount_pence) for e in ledger(db_session)] == [
        (LedgerKind.CHARGE, 2500),
        (LedgerKind.REFUND, -2500),
    ]
    assert services.ledger_balance(db_session) == 0


def test_a_partial_refund_and_refusals(db_session, gateway, holder, card):
    paid = charge(db_session, gateway, holder, card)
    with pytest.raises(DomainError):
        services.refund_charge(db_session, paid, amount_pence=2501, gateway=gateway)

    services.refund_charge(db_session, paid, amount_pence=1000, gateway=gateway)

    assert services.ledger_balance(db_session) == 1500
    other = UserFactory()
    bad = save_card(db_session, gateway, other, NEEDS_AUTHENTICATION_CARD)
    unpaid = charge(db_session, gateway, other, bad, key="membership:1:2027-01")
    with pytest.raises(DomainError):
        services.refund_charge(db_session, unpaid, gateway=gateway)


def test_a_provider_payout_is_recorded_as_owed(db_session, gateway, holder, card):
    charge(db_session, gateway, holder, card)

    entry = services.record_payout_owed(db_session, 7, 2000, "pool:12:settlement")
    db_session.flush()

    assert (entry.kind, entry.amount_pence, entry.reference) == (
        LedgerKind.PAYOUT_OWED,
        -2000,
        "provider:7:pool:12:settlement",
    )
    assert services.ledger_balance(db_session) == 500


def test_reconcile_finds_injected_gaps(stripe_app, db_session, gateway, holder, card):
    charge(db_session, gateway, holder, card)  # matches: not a gap
    assert reconciliation.reconcile(db_session, gateway).ok

    # 1. We say it succeeded; Stripe has no such payment.
    db_session.add(
        Charge(
            idempotency_key="pool:1:member:1:period:2027-01",
            purpose="pool",
            reference="pool:1",
            user_id=holder.id,
            amount_pence=500,
            status=ChargeStatus.SUCCEEDED.value,
            attempts=1,
            stripe_payment_intent_id="pi_missingatstripe",
        )
    )
    # 2. Stripe took a payment with our metadata that we have no record of.
    customer_id = services.customer_for(db_session, holder, gateway)
    orphan = gateway.charge_off_session(
        customer_id, card.payment_method_id, 800, "orphan", {"charge_key": "pool:2:member:9"}
    )
    # 3. The amounts differ.
    other = gateway.charge_off_session(
        customer_id, card.payment_method_id, 300, "other", {"charge_key": "pool:3:member:9"}
    )
    db_session.add(
        Charge(
            idempotency_key="pool:3:member:9",
            purpose="pool",
            reference="pool:3",
            user_id=holder.id,
            amount_pence=350,
            status=ChargeStatus.SUCCEEDED.value,
            attempts=1,
            stripe_payment_intent_id=other.payment_intent_id,
        )
    )
    # Stripe payments without our metadata (e.g. subscription invoices) are not ours to match.
    gateway.charge_off_session(customer_id, card.payment_method_id, 111, "foreign", {})
    db_session.commit()

    report = reconciliation.reconcile(db_session, gateway)

    assert not report.ok
    assert [(g.reference, g.stripe_id) for g in report.missing_remote] == [
        ("pool:1:member:1:period:2027-01", "pi_missingatstripe")
    ]
    assert [(g.reference, g.stripe_id, g.remote_pence) for g in report.missing_local] == [
        ("pool:2:member:9", orphan.payment_intent_id, 800)
    ]
    assert [(g.reference, g.local_pence, g.remote_pence) for g in report.amount_mismatches] == [
        ("pool:3:member:9", 350, 300)
    ]

    result = stripe_app.test_cli_runner().invoke(payments_cli, ["reconcile"])
    assert result.exit_code == 1, result.output
    assert "Succeeded here, missing at Stripe: 1" in result.output
    assert "pi_missingatstripe" in result.output
    assert orphan.payment_intent_id in result.output
    assert "Amounts differ: 1" in result.output
    assert "Gaps found." in result.output


def test_reconcile_command_with_no_gaps(stripe_app, db_session, gateway, holder, card):
    charge(db_session, gateway, holder, card)

    result = stripe_app.test_cli_runner().invoke(payments_cli, ["reconcile"])

    assert result.exit_code == 0, result.output
    assert "Checked 1 charges" in result.output
    assert "No gaps." in result.output


def test_declined_at_charge_time_is_recorded_as_failed(db_session, gateway, holder):
    # 4000000000000341 attaches fine but every charge on it is declined.
    card = save_card(db_session, gateway, holder, "4000000000000341")

    result = charge(db_session, gateway, holder, card)

    assert result.status == ChargeStatus.FAILED
    assert result.failure_message and "declined" in result.failure_message
    assert ledger(db_session) == []
    assert DECLINED_CARD  # the attach-time decline is covered in test_gateway


@pytest.mark.parametrize(
    ("kind", "amount", "with_charge"),
    [
        (LedgerKind.REFUND, 500, True),  # a refund is money out: negative
        (LedgerKind.CHARGE, -500, True),
        (LedgerKind.CHARGE, 500, False),  # a charge entry names its charge
        (LedgerKind.PAYOUT_OWED, 0, False),
    ],
)
def test_the_database_refuses_a_ledger_entry_that_makes_no_sense(
    db_session, gateway, holder, card, kind, amount, with_charge
):
    paid = charge(db_session, gateway, holder, card)
    entry = LedgerEntry(
        kind=kind.value,
        amount_pence=amount,
        charge_id=paid.id if with_charge else None,
        reference="x",
    )
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.add(entry)
