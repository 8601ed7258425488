"""Holds (capture_method=manual): placed once, taken once, released once, through the real SDK
against localstripe; a crash between authorising and recording is found and mended."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.errors import DomainError
from marketplace.payments import reconciliation, services
from marketplace.payments.models import Charge, ChargeStatus, LedgerEntry
from tests.payments.conftest import GOOD_CARD, NEEDS_AUTHENTICATION_CARD, save_card

KEY = "pool:7:member:8:month:1"
DECLINED_AT_CHARGE = "4000000000000341"


def hold(db_session, gateway, user, card, key=KEY, amount=2500):
    return services.hold_once(
        db_session,
        user=user,
        idempotency_key=key,
        amount_pence=amount,
        payment_method_id=card.payment_method_id,
        purpose="pool",
        reference="7:1",
        metadata={"pool": "7"},
        gateway=gateway,
    )


def remote(gateway, key=KEY):
    return [p for p in gateway.recent_payment_intents() if p.metadata.get("charge_key") == key]


def ledger(db_session):
    return list(db_session.scalars(select(LedgerEntry)))


def test_a_hold_takes_nothing_until_captured_and_each_step_happens_once(
    db_session, gateway, holder, card
):
    held = hold(db_session, gateway, holder, card)
    assert held.status == ChargeStatus.HELD and held.manual_capture
    (intent,) = remote(gateway)
    assert intent.status == "requires_capture"  # the SDK's manual capture, as localstripe has it
    assert ledger(db_session) == []  # authorised only: nothing taken

    assert hold(db_session, gateway, holder, card) is held  # re-run: no second hold
    assert len(remote(gateway)) == 1

    taken = services.capture_hold(db_session, held, gateway)
    assert taken.status == ChargeStatus.SUCCEEDED
    assert gateway.get_payment_intent(intent.id).status == "succeeded"
    assert services.capture_hold(db_session, held, gateway).status == ChargeStatus.SUCCEEDED
    assert [e.amount_pence for e in ledger(db_session)] == [2500]  # taken once
    # A hold that was taken is never released (that would need a refund).
    assert services.release_hold(db_session, held, gateway).status == ChargeStatus.SUCCEEDED


def test_a_released_hold_is_cancelled_at_stripe_and_nothing_is_taken(
    db_session, gateway, holder, card
):
    held = hold(db_session, gateway, holder, card)
    released = services.release_hold(db_session, held, gateway)
    assert released.status == ChargeStatus.RELEASED
    assert remote(gateway)[0].status == "canceled"
    assert services.release_hold(db_session, held, gateway).status == ChargeStatus.RELEASED
    with pytest.raises(DomainError):
        services.capture_hold(db_session, held, gateway)
    assert hold(db_session, gateway, holder, card).status == ChargeStatus.RELEASED  # final
    assert len(remote(gateway)) == 1 and ledger(db_session) == []


def test_a_refused_card_is_a_failed_hold(db_session, gateway, holder):
    card = save_card(db_session, gateway, holder, DECLINED_AT_CHARGE)
    assert hold(db_session, gateway, holder, card).status == ChargeStatus.FAILED


def test_a_hold_the_bank_wants_confirmed_is_confirmed_on_session_then_held(
    db_session, gateway, holder
):
    card = save_card(db_session, gateway, holder, NEEDS_AUTHENTICATION_CARD)
    waiting = hold(db_session, gateway, holder, card)
    assert waiting.status == ChargeStatus.REQUIRES_ACTION
    confirmed = services.authenticate(db_session, waiting, True, gateway)
    assert confirmed.status == ChargeStatus.HELD
    assert remote(gateway)[0].status == "requires_capture"


def test_a_refused_confirmation_then_a_new_card_cancels_the_stale_intent(
    db_session, gateway, holder
):
    card = save_card(db_session, gateway, holder, NEEDS_AUTHENTICATION_CARD)
    waiting = hold(db_session, gateway, holder, card)
    stale = waiting.stripe_payment_intent_id
    good = save_card(db_session, gateway, holder, GOOD_CARD)
    again = hold(db_session, gateway, holder, good)
    assert again.status == ChargeStatus.HELD and again.attempts == 2
    assert gateway.get_payment_intent(stale).status == "canceled"  # never left open
    assert services.authenticate(db_session, again, False, gateway).status == ChargeStatus.HELD


class LosesTheAnswer:
    """The real gateway, except that the process dies after Stripe acts, before we record it."""

    def __init__(self, real, method: str) -> None:
        self.real, self.method = real, method

    def __getattr__(self, name):
        attribute = getattr(self.real, name)
        if name != self.method:
            return attribute

        def dies(*args, **kwargs):
            attribute(*args, **kwargs)
            raise KeyboardInterrupt("the worker was killed")

        return dies


def test_a_crash_after_the_hold_is_placed_is_mended_by_reconcile(db_session, gateway, holder, card):
    with pytest.raises(KeyboardInterrupt):
        services.hold_once(
            db_session,
            user=holder,
            idempotency_key=KEY,
            amount_pence=2500,
            payment_method_id=card.payment_method_id,
            purpose="pool",
            reference="7:1",
            gateway=LosesTheAnswer(gateway, "hold_off_session"),
        )
    db_session.rollback()
    (charge,) = reconciliation.reconcile(db_session, gateway).out_of_date  # found
    assert charge.reference == KEY
    report = reconciliation.reconcile(db_session, gateway, mend=True)
    assert len(report.mended) == 1 and report.ok
    held = db_session.scalars(select(services.Charge)).one()
    assert held.status == ChargeStatus.HELD and len(remote(gateway)) == 1


def test_a_crash_after_the_capture_is_mended_by_reconcile_and_counted_once(
    db_session, gateway, holder, card, stripe_app
):
    held = hold(db_session, gateway, holder, card)
    with pytest.raises(KeyboardInterrupt):
        services.capture_hold(db_session, held, LosesTheAnswer(gateway, "capture"))
    db_session.rollback()
    assert db_session.get(services.Charge, held.id).status == ChargeStatus.HELD  # ours is behind
    assert remote(gateway)[0].status == "succeeded"
    report = reconciliation.reconcile(db_session, gateway)
    assert not report.ok and len(report.out_of_date) == 1

    # `flask payments reconcile` mends it (and commits), then finds nothing.
    runner = stripe_app.test_cli_runner()
    result = runner.invoke(args=["payments", "reconcile"])
    assert "Mended to match Stripe: 1" in result.output
    db_session.expire_all()
    mended = db_session.get(services.Charge, held.id)
    assert mended.status == ChargeStatus.SUCCEEDED
    assert [e.amount_pence for e in ledger(db_session)] == [2500]
    assert reconciliation.reconcile(db_session, gateway).ok
    # A capture re-run now changes nothing.
    assert services.capture_hold(db_session, mended, gateway).status == ChargeStatus.SUCCEEDED
    assert [e.amount_pence for e in ledger(db_session)] == [2500]


def test_the_claim_is_committed_before_stripe_hears_of_the_hold(
    db_session, gateway, holder, card, monkeypatch
):
    # The order of events: each commit (with the key's row as it stands just before it), and
    # the Stripe call. Exactly once needs the pending claim committed before the call.
    steps: list[tuple[str, str | None]] = []
    real_commit, real_hold = db_session.commit, gateway.hold_off_session

    def commit():
        status = db_session.scalar(select(Charge.status).where(Charge.idempotency_key == KEY))
        steps.append(("commit", status))
        real_commit()

    def hold_off_session(*args, **kwargs):
        steps.append(("stripe", None))
        return real_hold(*args, **kwargs)

    monkeypatch.setattr(db_session, "commit", commit)
    monkeypatch.setattr(gateway, "hold_off_session", hold_off_session)
    assert hold(db_session, gateway, holder, card).status == ChargeStatus.HELD
    called = steps.index(("stripe", None))
    assert ("commit", ChargeStatus.PENDING.value) in steps[:called]
    assert steps[called + 1 :] == [("commit", ChargeStatus.HELD.value)]

    steps.clear()
    assert hold(db_session, gateway, holder, card).status == ChargeStatus.HELD  # a re-run
    assert ("stripe", None) not in steps


def test_a_batch_of_captures_commits_every_claim_before_stripe_hears_of_any(
    db_session, gateway, holder, card, monkeypatch
):
    # A pool's month is taken as one batch (two commits for the lot): every capture request is
    # durable before the first call, every answer is recorded in the commit after the last one.
    keys = [f"pool:7:member:8:month:{month}" for month in (1, 2, 3)]
    held = [hold(db_session, gateway, holder, card, key=key) for key in keys]
    steps: list[tuple[str, object]] = []
    real_commit, real_capture = db_session.commit, gateway.capture

    def commit():
        claims = db_session.execute(
            select(Charge.capture_requested_at.is_not(None), Charge.status).order_by(Charge.id)
        ).all()
        steps.append(("commit", tuple(tuple(claim) for claim in claims)))
        real_commit()

    def capture(*args, **kwargs):
        steps.append(("stripe", None))
        return real_capture(*args, **kwargs)

    monkeypatch.setattr(db_session, "commit", commit)
    monkeypatch.setattr(gateway, "capture", capture)
    taken = services.capture_holds(db_session, [c.id for c in held], gateway)
    assert [charge.status for charge in taken] == [ChargeStatus.SUCCEEDED] * 3
    assert [kind for kind, _ in steps] == ["commit", "stripe", "stripe", "stripe", "commit"]
    assert steps[0][1] == ((True, ChargeStatus.HELD.value),) * 3  # all claimed, none taken yet
    assert steps[-1][1] == ((True, ChargeStatus.SUCCEEDED.value),) * 3
    assert [p.status for p in gateway.recent_payment_intents()] == ["succeeded"] * 3
    assert sorted(e.amount_pence for e in ledger(db_session)) == [2500] * 3

    steps.clear()  # a re-run returns them as taken and asks Stripe nothing
    again = services.capture_holds(db_session, [c.id for c in held], gateway)
    assert [charge.status for charge in again] == [ChargeStatus.SUCCEEDED] * 3
    assert ("stripe", None) not in steps
    assert len(ledger(db_session)) == 3


def test_a_crash_half_way_through_a_batch_of_captures_takes_each_once_on_the_rerun(
    db_session, gateway, holder, card
):
    keys = [f"pool:7:member:8:month:{month}" for month in (1, 2)]
    held = [hold(db_session, gateway, holder, card, key=key) for key in keys]
    with pytest.raises(KeyboardInterrupt):
        # Stripe takes the first hold; the process dies before anything is recorded.
        services.capture_holds(db_session, [c.id for c in held], LosesTheAnswer(gateway, "capture"))
    db_session.rollback()
    assert [db_session.get(Charge, c.id).status for c in held] == [ChargeStatus.HELD] * 2
    assert sorted(p.status for p in gateway.recent_payment_intents()) == [
        "requires_capture",
        "succeeded",
    ]
    # The re-run asks Stripe again with the same keys: the first is answered as taken, the
    # second is taken now; each is in the ledger once.
    taken = services.capture_holds(db_session, [c.id for c in held], gateway)
    assert [charge.status for charge in taken] == [ChargeStatus.SUCCEEDED] * 2
    assert [p.status for p in gateway.recent_payment_intents()] == ["succeeded"] * 2
    assert sorted(e.amount_pence for e in ledger(db_session)) == [2500, 2500]
    assert reconciliation.reconcile(db_session, gateway).ok
