# ruff: noqa: F811 - pytest fixtures imported from the membership tests are parameters here
"""A fee membership during a break: kept, or paused at Stripe when the ULO offers that.

The real Stripe SDK talks to localstripe: what Stripe reports about the subscription is checked,
not what we recorded we asked for.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import stripe
from sqlalchemy import select

from marketplace.db import utcnow
from marketplace.errors import DomainError
from marketplace.memberships import billing
from marketplace.memberships import services as memberships
from marketplace.memberships.models import MembershipStatus
from marketplace.memberships.services import OfferData, current_subscription
from marketplace.payments.localstripe_server import free_port
from marketplace.payments.services import CardDetails
from marketplace.wellbeing import break_steps, breaks
from marketplace.wellbeing.models import Break, PausedKind
from tests.factories import UserFactory
from tests.memberships.conftest import (  # noqa: F401 - fixtures, registered by import
    GOOD_CARD,
    KINDS,
    both_offer,  # the ULO keeps its fee during breaks
    gateway,
    org,
    staff,
    ulo,
)


def fee_member(db_session, org, gateway, display_name="Sam"):
    person = UserFactory(display_name=display_name)
    membership = billing.join_paying(
        db_session,
        person,
        org,
        CardDetails(GOOD_CARD, 12, 2034, "123"),
        gateway=gateway,
    )
    db_session.commit()
    return person, membership


def stripe_side(localstripe, membership):
    """What Stripe itself says about the member's subscription."""
    sdk = stripe.StripeClient("sk_test_localstripe", base_addresses={"api": localstripe})
    record = current_subscription(membership)
    return sdk.v1.subscriptions.retrieve(record.stripe_subscription_id).to_dict()


@pytest.fixture
def pausing_offer(db_session, staff, org, gateway):
    offer = billing.set_offer(
        db_session, staff, org, OfferData(700, 240, KINDS, pause_fee_on_break=True), gateway
    )
    db_session.commit()
    return offer


def test_the_ulo_that_pauses_fees_has_stripe_take_nothing_until_the_member_is_back(
    db_session, org, gateway, pausing_offer, localstripe
):
    person, membership = fee_member(db_session, org, gateway)
    items = breaks.plan(db_session, person, "month").items
    fee_item = next(i for i in items if "Membership of" in i.heading)
    assert fee_item.outcome.startswith(f"Paused: {org.name} takes no fee")

    brk = break_steps.start(db_session, person, "month")
    db_session.commit()
    paused = stripe_side(localstripe, membership)["pause_collection"]
    assert paused["behavior"] == "void"
    assert paused["resumes_at"] == int(brk.ends_at.timestamp())
    assert current_subscription(membership).collection_paused_at is not None
    assert [(p.kind, p.ref_id) for p in brk.paused] == [(PausedKind.FEE.value, membership.id)]
    assert membership.status == MembershipStatus.ACTIVE.value  # still a member throughout

    breaks.end_break(db_session, person)
    db_session.commit()  # the fee is resumed after the commit, on a session of its own
    db_session.expire_all()
    assert stripe_side(localstripe, membership)["pause_collection"] is None
    assert current_subscription(membership).collection_paused_at is None


def test_a_ulo_that_keeps_its_fee_is_not_touched(db_session, org, gateway, both_offer, localstripe):
    person, membership = fee_member(db_session, org, gateway)
    items = breaks.plan(db_session, person, "open").items
    assert "Kept. Your membership fee is still taken each month." in [i.outcome for i in items]
    brk = break_steps.start(db_session, person, "open")
    db_session.commit()
    assert stripe_side(localstripe, membership)["pause_collection"] is None
    assert brk.paused == []


def test_a_payment_already_due_stays_due(db_session, org, gateway, pausing_offer, localstripe):
    person, membership = fee_member(db_session, org, gateway)
    membership.status = MembershipStatus.PAYMENT_DUE.value
    db_session.commit()
    items = breaks.plan(db_session, person, "week").items
    assert "Kept. A payment that is already due is still due." in [i.outcome for i in items]
    break_steps.start(db_session, person, "week")
    db_session.commit()
    assert stripe_side(localstripe, membership)["pause_collection"] is None


def test_stripe_unreachable_at_the_start_changes_nothing(
    app, db_session, org, gateway, pausing_offer, monkeypatch
):
    person, membership = fee_member(db_session, org, gateway)
    with monkeypatch.context() as patch:
        patch.setitem(app.config, "STRIPE_API_BASE", f"http://127.0.0.1:{free_port()}")
        with pytest.raises(DomainError, match="could not pause your membership fee"):
            break_steps.start(db_session, person, "month")
    db_session.rollback()
    assert db_session.scalars(select(Break).where(Break.user_id == person.id)).all() == []
    assert current_subscription(membership).collection_paused_at is None


def test_stripe_unreachable_on_return_never_blocks_coming_back_and_the_job_resumes_it(
    app, db_session, org, gateway, pausing_offer, localstripe, monkeypatch
):
    person, membership = fee_member(db_session, org, gateway)
    break_steps.start(db_session, person, "open")
    db_session.commit()
    with monkeypatch.context() as patch:
        patch.setitem(app.config, "STRIPE_API_BASE", f"http://127.0.0.1:{free_port()}")
        breaks.end_break(db_session, person)
        db_session.commit()
        db_session.expire_all()
        assert not breaks.is_on_break(db_session, person.id)
        assert current_subscription(membership).collection_paused_at is not None
        assert breaks.end_due_breaks(db_session) == 0  # still unreachable: still marked
        db_session.commit()
        db_session.expire_all()
        assert current_subscription(membership).collection_paused_at is not None
    breaks.end_due_breaks(db_session, now=utcnow() + timedelta(hours=1))
    db_session.commit()
    db_session.expire_all()
    assert current_subscription(membership).collection_paused_at is None
    assert stripe_side(localstripe, membership)["pause_collection"] is None


def test_the_hourly_job_leaves_a_fee_paused_while_its_member_is_still_away(
    db_session, org, gateway, pausing_offer, localstripe
):
    person, membership = fee_member(db_session, org, gateway)
    break_steps.start(db_session, person, "open")
    db_session.commit()
    breaks.end_due_breaks(db_session)
    db_session.commit()
    assert stripe_side(localstripe, membership)["pause_collection"]["behavior"] == "void"


def test_a_timed_break_ending_by_itself_resumes_the_fee(
    db_session, org, gateway, pausing_offer, localstripe
):
    person, membership = fee_member(db_session, org, gateway)
    brk = break_steps.start(db_session, person, "week")
    db_session.commit()
    assert breaks.end_due_breaks(db_session, now=brk.ends_at + timedelta(minutes=1)) == 1
    db_session.commit()
    assert stripe_side(localstripe, membership)["pause_collection"] is None


def test_the_offer_only_pauses_a_fee_it_has(db_session, staff, org):
    offer = memberships.set_offer(
        db_session, staff, org, OfferData(None, 240, KINDS, pause_fee_on_break=True)
    )
    assert offer.pause_fee_on_break is False


def test_stripe_hears_of_the_fee_with_no_transaction_open_and_a_failed_break_undoes_it(
    db_session, org, gateway, pausing_offer, localstripe, monkeypatch
):
    from marketplace import outbox
    from marketplace.payments.gateway import StripeGateway
    from tests.conftest import manual_outbox

    seen: list[tuple[str, bool]] = []
    for name in ("pause_collection", "resume_collection"):
        real = getattr(StripeGateway, name)

        def spy(self, *args, _real=real, _name=name, **kwargs):
            seen.append((_name, db_session.in_transaction()))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(StripeGateway, name, spy)
    person, membership = fee_member(db_session, org, gateway)
    break_steps.start(db_session, person, "month")
    assert seen == [("pause_collection", False)]
    # Coming back: Stripe is told only once the return is committed, by the outbox's runner.
    manual_outbox(db_session)
    breaks.end_break(db_session, person)
    assert len(seen) == 1
    db_session.commit()
    assert len(seen) == 1 and stripe_side(localstripe, membership)["pause_collection"]
    assert outbox.run_committed(db_session) == 1
    assert [name for name, _ in seen] == ["pause_collection", "resume_collection"]
    assert stripe_side(localstripe, membership)["pause_collection"] is None

    # The break cannot be saved after Stripe paused the fee: Stripe takes the fee again.
    def broken(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(breaks, "_pause_everything", broken)
    db_session.expire_all()  # the runner's session took the fee again
    with pytest.raises(RuntimeError):
        break_steps.start(db_session, person, "month")
    assert [name for name, _ in seen[2:]] == ["pause_collection", "resume_collection"]
    assert stripe_side(localstripe, membership)["pause_collection"] is None
    assert not breaks.is_on_break(db_session, person.id)
