"""Reconciliation finds every kind of gap, each planted for real: the Stripe object is made
through the SDK against localstripe, then our row is changed (or the reverse)."""

from __future__ import annotations

from datetime import date

import pytest
import stripe
from sqlalchemy import select

from marketplace.payments import reconciliation, services
from marketplace.payments.cli import payments_cli
from marketplace.payments.models import Charge, ChargeStatus, LedgerEntry, LedgerKind, Payout
from tests.factories import OrganisationFactory, UserFactory
from tests.payments.conftest import save_card


def paid(db_session, org_id: int, pence: int, on: date, reference: str) -> Payout:
    """A payout written down as it stands, without record_payout's checks."""
    payout = Payout(organisation_id=org_id, amount_pence=pence, paid_on=on, reference=reference)
    db_session.add(payout)
    return payout


def take(db_session, gateway, user, card, key, amount=2500):
    return services.charge_once(
        db_session,
        user=user,
        idempotency_key=key,
        amount_pence=amount,
        payment_method_id=card.payment_method_id,
        purpose="pool",
        reference=key,
        gateway=gateway,
    )


def hold(db_session, gateway, user, card, key, amount=2500):
    return services.hold_once(
        db_session,
        user=user,
        idempotency_key=key,
        amount_pence=amount,
        payment_method_id=card.payment_method_id,
        purpose="pool",
        reference=key,
        gateway=gateway,
    )


def subscribe(db_session, gateway, user, amount=700):
    """A real subscription at localstripe: its first invoice is paid at once; returns it."""
    customer_id = services.customer_for(db_session, user, gateway)
    plan = gateway.create_plan("Membership", amount)
    subscription = gateway.create_subscription(customer_id, plan, {}, f"sub:{user.id}:{plan}")
    (invoice,) = [i for i in gateway.paid_invoices() if i.subscription_id == subscription.id]
    return invoice


def deliver_invoice_webhook(stripe_app, db_session, invoice_id):
    """What the `invoice.payment_succeeded` webhook does, with localstripe's own invoice."""
    sdk = stripe.StripeClient(
        stripe_app.config["STRIPE_API_KEY"],
        base_addresses={"api": stripe_app.config["STRIPE_API_BASE"]},
    )
    invoice = sdk.v1.invoices.retrieve(invoice_id).to_dict()
    event = {
        "id": f"evt_{invoice_id}",
        "object": "event",
        "type": "invoice.payment_succeeded",
        "created": invoice["created"],
        "data": {"object": invoice},
    }
    assert services.handle_event(db_session, event)
    db_session.commit()


def stripe_state(gateway):
    """Everything reconciliation could read at Stripe, to show mending changed none of it."""
    return (
        sorted((p.id, p.status, p.amount_pence) for p in gateway.recent_payment_intents()),
        sorted((r.id, r.amount_pence) for r in gateway.recent_refunds()),
        sorted((i.id, i.amount_paid_pence) for i in gateway.paid_invoices()),
    )


def set_row(db_session, charge, **values):
    row = db_session.get(Charge, charge.id)
    for name, value in values.items():
        setattr(row, name, value)
    db_session.commit()


def refs(gaps):
    return [(g.reference, g.stripe_id, g.local_pence, g.remote_pence) for g in gaps]


@pytest.fixture
def world(stripe_app, db_session, gateway, holder, card):
    """A clean world with one of everything: a charge, a part refund, a hold taken, a hold
    released, a hold still held, a subscription paid and recorded, a payout owed and paid."""
    take(db_session, gateway, holder, card, "pool:1:member:1:month:1")
    refunded = take(db_session, gateway, holder, card, "pool:1:member:1:month:2")
    services.refund_charge(db_session, refunded, 500, gateway)
    taken = hold(db_session, gateway, holder, card, "pool:2:member:1:month:1")
    services.capture_hold(db_session, taken, gateway)
    released = hold(db_session, gateway, holder, card, "pool:3:member:1:month:1")
    services.release_hold(db_session, released, gateway)
    hold(db_session, gateway, holder, card, "pool:4:member:1:month:1")
    invoice = subscribe(db_session, gateway, holder)
    deliver_invoice_webhook(stripe_app, db_session, invoice.id)
    provider = OrganisationFactory()
    db_session.flush()
    services.record_payout_owed(db_session, provider.id, 4500, "pool 1 month 1")
    paid(db_session, provider.id, 4000, date(2027, 1, 5), "BACS 123")
    db_session.commit()
    return invoice


def test_a_clean_world_reports_no_gaps(stripe_app, db_session, gateway, world):
    report = reconciliation.reconcile(db_session, gateway)

    assert report.ok and report.gaps == ()
    assert (report.charges_checked, report.refunds_checked, report.invoices_checked) == (3, 1, 1)
    assert (report.remote_invoices_checked, report.providers_checked) == (1, 1)
    result = stripe_app.test_cli_runner().invoke(payments_cli, ["reconcile"])
    assert result.exit_code == 0, result.output
    assert "Checked 1 subscription payments against 1 paid Stripe invoices." in result.output
    for kind in ("Charges:", "Holds and captures:", "Refunds:", "Subscription invoices:"):
        assert kind in result.output
    assert "Payouts:" in result.output and result.output.strip().endswith("No gaps.")


def test_the_issue_reported_no_gaps_with_a_paid_invoice_missing_from_the_ledger(
    stripe_app, db_session, gateway, holder, card
):
    """Issue 18: two paid invoices at Stripe, one in the ledger, and 'No gaps'."""
    recorded = subscribe(db_session, gateway, holder)
    deliver_invoice_webhook(stripe_app, db_session, recorded.id)
    lost = subscribe(db_session, gateway, holder, amount=900)  # its webhook never arrived

    report = reconciliation.reconcile(db_session, gateway)

    assert not report.ok
    assert refs(report.invoices_missing_local) == [(lost.subscription_id, lost.id, None, 900)]
    result = stripe_app.test_cli_runner().invoke(payments_cli, ["reconcile"])
    assert result.exit_code == 1
    assert "Paid at Stripe, not in our ledger: 1" in result.output
    assert lost.id in result.output and "Gaps found." in result.output


def test_charge_gaps_are_found(db_session, gateway, holder, card):
    taken_there = take(db_session, gateway, holder, card, "pool:1:member:1:month:1")
    set_row(db_session, taken_there, status=ChargeStatus.FAILED.value)
    only_held = hold(db_session, gateway, holder, card, "pool:2:member:1:month:1")
    set_row(db_session, only_held, status=ChargeStatus.SUCCEEDED.value)
    differs = take(db_session, gateway, holder, card, "pool:3:member:1:month:1")
    set_row(db_session, differs, amount_pence=2600)

    report = reconciliation.reconcile(db_session, gateway)

    assert refs(report.missing_local) == [
        ("pool:1:member:1:month:1", taken_there.stripe_payment_intent_id, 2500, 2500)
    ]
    (said,) = report.missing_remote
    assert (said.reference, said.detail) == (
        "pool:2:member:1:month:1",
        "Stripe says requires_capture",
    )
    assert refs(report.amount_mismatches) == [
        ("pool:3:member:1:month:1", differs.stripe_payment_intent_id, 2600, 2500)
    ]


def test_hold_gaps_are_found_and_only_what_stripe_did_is_mended(db_session, gateway, holder, card):
    captured_there = hold(db_session, gateway, holder, card, "pool:1:member:1:month:1")
    gateway.capture(captured_there.stripe_payment_intent_id, "capture-behind-our-back")
    cancelled_there = hold(db_session, gateway, holder, card, "pool:2:member:1:month:1")
    gateway.cancel(cancelled_there.stripe_payment_intent_id)
    released_here = hold(db_session, gateway, holder, card, "pool:3:member:1:month:1")
    set_row(db_session, released_here, status=ChargeStatus.RELEASED.value)
    in_step = hold(db_session, gateway, holder, card, "pool:4:member:1:month:1")  # held both

    report = reconciliation.reconcile(db_session, gateway)

    assert [(g.reference, g.detail) for g in report.out_of_date] == [
        ("pool:1:member:1:month:1", "ours is held, Stripe says succeeded"),
        ("pool:2:member:1:month:1", "ours is held, Stripe says canceled"),
    ]
    assert [g.reference for g in report.still_held] == ["pool:3:member:1:month:1"]
    assert in_step.reference not in [g.reference for g in report.gaps]

    before = stripe_state(gateway)
    mended = reconciliation.reconcile(db_session, gateway, mend=True)
    db_session.commit()

    assert [g.reference for g in mended.mended] == [
        "pool:1:member:1:month:1",
        "pool:2:member:1:month:1",
    ]
    assert mended.out_of_date == () and not mended.ok  # the hold still on the card is left
    assert [g.reference for g in mended.still_held] == ["pool:3:member:1:month:1"]
    assert stripe_state(gateway) == before  # nothing moved at Stripe
    statuses = {c.idempotency_key: c.status for c in db_session.scalars(select(Charge))}
    assert statuses["pool:1:member:1:month:1"] == ChargeStatus.SUCCEEDED
    assert statuses["pool:2:member:1:month:1"] == ChargeStatus.RELEASED
    assert statuses["pool:3:member:1:month:1"] == ChargeStatus.RELEASED  # left for a person
    entries = db_session.scalars(select(LedgerEntry)).all()
    assert [(e.kind, e.amount_pence) for e in entries] == [("charge", 2500)]  # the one taken


def test_refund_gaps_are_found_and_not_mended(db_session, gateway, holder, card):
    refunded_there = take(db_session, gateway, holder, card, "pool:1:member:1:month:1")
    # A crash after Stripe refunded, before we wrote it down.
    gateway.refund(refunded_there.stripe_payment_intent_id, 1000, "refund-lost-answer")
    differs = take(db_session, gateway, holder, card, "pool:2:member:1:month:1")
    services.refund_charge(db_session, differs, 500, gateway)
    set_row(db_session, differs, refunded_pence=700)
    refunded_here = take(db_session, gateway, holder, card, "pool:3:member:1:month:1")
    set_row(db_session, refunded_here, status=ChargeStatus.REFUNDED.value, refunded_pence=300)

    report = reconciliation.reconcile(db_session, gateway)

    assert refs(report.refunds_missing_local) == [
        ("pool:1:member:1:month:1", refunded_there.stripe_payment_intent_id, 0, 1000)
    ]
    assert refs(report.refund_mismatches) == [
        ("pool:2:member:1:month:1", differs.stripe_payment_intent_id, 700, 500)
    ]
    assert refs(report.refunds_missing_remote) == [
        ("pool:3:member:1:month:1", refunded_here.stripe_payment_intent_id, 300, 0)
    ]
    before = stripe_state(gateway)
    mended = reconciliation.reconcile(db_session, gateway, mend=True)
    assert mended.mended == () and len(mended.refund_mismatches) == 1
    assert stripe_state(gateway) == before


def test_a_refund_older_than_the_listed_page_is_asked_for_by_its_payment(
    db_session, gateway, holder, card
):
    first = take(db_session, gateway, holder, card, "pool:1:member:1:month:1")
    services.refund_charge(db_session, first, 400, gateway)
    second = take(db_session, gateway, holder, card, "pool:2:member:1:month:1")
    services.refund_charge(db_session, second, 600, gateway)

    # One refund listed: the other is found through its PaymentIntent.
    assert reconciliation.reconcile(db_session, gateway, remote_limit=1).ok


def test_invoice_gaps_are_found(stripe_app, db_session, gateway, holder, card):
    missing_here = subscribe(db_session, gateway, holder)
    differs = subscribe(db_session, gateway, holder, amount=900)
    deliver_invoice_webhook(stripe_app, db_session, differs.id)
    entry = db_session.scalars(select(LedgerEntry).where(LedgerEntry.stripe_id == differs.id)).one()
    entry.amount_pence = 950
    db_session.add(
        LedgerEntry(
            kind=LedgerKind.SUBSCRIPTION_PAYMENT.value,
            amount_pence=700,
            user_id=holder.id,
            reference="subscription:sub_gone",
            stripe_id="in_nosuchinvoice",
        )
    )
    # Someone else's customer at the same Stripe account: not ours to match.
    stranger = gateway.create_customer("x@example.org", "X", {})
    setup = gateway.create_setup_intent(stranger, {})
    gateway.save_test_card(setup.id, stranger, "4242424242424242", 12, 2034, "123")
    gateway.create_subscription(stranger, gateway.create_plan("Other", 500), {}, "stranger")
    db_session.commit()

    report = reconciliation.reconcile(db_session, gateway)

    assert refs(report.invoices_missing_local) == [
        (missing_here.subscription_id, missing_here.id, None, 700)
    ]
    assert refs(report.invoice_mismatches) == [(differs.subscription_id, differs.id, 950, 900)]
    (gone,) = report.invoices_missing_remote
    assert (gone.stripe_id, gone.local_pence, gone.detail) == (
        "in_nosuchinvoice",
        700,
        "no such invoice at Stripe",
    )
    assert report.remote_invoices_checked == 2  # the stranger's invoice is not counted
    assert len(report.gaps) == 3


def test_an_invoice_older_than_the_listed_page_is_asked_for_by_id(
    stripe_app, db_session, gateway, holder, card
):
    for amount in (700, 800):
        deliver_invoice_webhook(
            stripe_app, db_session, subscribe(db_session, gateway, holder, amount).id
        )

    report = reconciliation.reconcile(db_session, gateway, remote_limit=1)

    assert report.ok and report.invoices_checked == 2


def test_payout_gaps_are_found(db_session, gateway):
    # payouts.record_payout refuses these; a hand-edited or imported record need not.
    first, second, third = OrganisationFactory(), OrganisationFactory(), OrganisationFactory()
    db_session.flush()
    services.record_payout_owed(db_session, first.id, 2000, "pool 1 month 1")
    paid(db_session, first.id, 1500, date(2027, 1, 5), "BACS 1")
    paid(db_session, first.id, 1000, date(2027, 2, 5), "BACS 2")  # 2500 > 2000
    services.record_payout_owed(db_session, second.id, 1000, "pool 2 month 1")
    paid(db_session, second.id, 400, date(2027, 1, 5), "BACS 3")  # part: fine
    paid(db_session, third.id, 100, date(2027, 1, 5), "BACS 4")  # nothing owed
    db_session.commit()

    report = reconciliation.reconcile(db_session, gateway)

    assert refs(report.overpaid) == [(f"provider:{first.id}", None, 2000, 2500)]
    assert refs(report.paid_not_owed) == [(f"provider:{third.id}", None, 0, 100)]
    assert report.providers_checked == 3 and len(report.gaps) == 2
    lines = "\n".join(report.lines())
    assert "Paid out more than owed: 1" in lines
    assert f"provider:{first.id} - owed=2000 paid=2500: paid 2500p against 2000p owed" in lines


def test_every_kind_is_listed_by_the_command(stripe_app, db_session, gateway, holder, card):
    other = UserFactory()
    db_session.commit()
    take(db_session, gateway, other, save_card(db_session, gateway, other, "4242424242424242"), "k")
    subscribe(db_session, gateway, holder)
    refunded = take(db_session, gateway, holder, card, "pool:1:member:1:month:1")
    gateway.refund(refunded.stripe_payment_intent_id, 100, "lost")
    released = hold(db_session, gateway, holder, card, "pool:2:member:1:month:1")
    set_row(db_session, released, status=ChargeStatus.RELEASED.value)
    nobody = OrganisationFactory()
    db_session.flush()
    paid(db_session, nobody.id, 100, date(2027, 1, 5), "BACS")
    db_session.commit()

    result = stripe_app.test_cli_runner().invoke(payments_cli, ["reconcile", "--no-mend"])

    assert result.exit_code == 1
    for line in (
        "  Released here, still held at Stripe: 1",
        "  Refunded at Stripe, not here: 1",
        "  Paid at Stripe, not in our ledger: 1",
        "  Paid out with nothing owed: 1",
    ):
        assert line in result.output
    assert result.output.strip().endswith("Gaps found.")
