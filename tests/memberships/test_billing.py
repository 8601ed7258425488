"""Membership changes that Stripe hears of never call it with a database transaction open."""

from __future__ import annotations

import functools

import pytest
from sqlalchemy import func, select

from marketplace.memberships import billing, services
from marketplace.memberships.models import Membership, MembershipStatus
from marketplace.payments.services import CardDetails
from tests.factories import UserFactory
from tests.memberships.conftest import GOOD_CARD, NOW

STRIPE_CALLS = (
    "create_customer",
    "create_setup_intent",
    "save_test_card",
    "create_subscription",
    "cancel_subscription",
)


@pytest.fixture
def watched(db_session, gateway, monkeypatch):
    """The real gateway, noting for each Stripe call whether our session had a transaction."""
    seen: list[tuple[str, bool]] = []
    results: dict[str, object] = {}
    for name in STRIPE_CALLS:
        real = getattr(gateway, name)

        @functools.wraps(real)
        def spy(*args, _real=real, _name=name, **kwargs):
            seen.append((_name, db_session.in_transaction()))
            results[_name] = _real(*args, **kwargs)
            return results[_name]

        monkeypatch.setattr(gateway, name, spy)
    gateway.results = results
    return gateway, seen


def card() -> CardDetails:
    return CardDetails(GOOD_CARD, 12, 2034, "123")


def test_joining_by_fee_then_leaving_calls_stripe_with_no_transaction_open(
    db_session, org, both_offer, watched
):
    gateway, seen = watched
    person = UserFactory()
    db_session.commit()
    membership = billing.join_paying(db_session, person, org, card(), gateway=gateway, now=NOW)
    assert [name for name, _ in seen] == [
        "create_customer",
        "create_setup_intent",
        "save_test_card",
        "create_subscription",
    ]
    billing.leave(db_session, person, membership, gateway=gateway, now=NOW)
    assert seen[-1][0] == "cancel_subscription"
    assert not any(open_ for _, open_ in seen), seen
    assert membership.leaving and membership.status == MembershipStatus.ACTIVE


def test_switching_both_ways_calls_stripe_with_no_transaction_open(
    db_session, org, both_offer, watched
):
    gateway, seen = watched
    person = UserFactory()
    membership = services.join(db_session, person, org, "reciprocity", now=NOW)
    db_session.commit()
    billing.switch(db_session, person, membership, "fee", card=card(), gateway=gateway, now=NOW)
    assert billing.apply_switches(db_session, NOW.replace(month=12, day=1), gateway) == 1
    assert membership.basis == "fee"
    billing.switch(db_session, person, membership, "reciprocity", gateway=gateway, now=NOW)
    assert [name for name, _ in seen][-2:] == ["create_subscription", "cancel_subscription"]
    assert not any(open_ for _, open_ in seen), seen


def test_a_record_that_cannot_be_written_stops_the_subscription_stripe_started(
    db_session, org, both_offer, watched, monkeypatch
):
    gateway, seen = watched
    person = UserFactory()
    db_session.commit()

    def broken(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "_record_subscription", broken)
    with pytest.raises(RuntimeError):
        billing.join_paying(db_session, person, org, card(), gateway=gateway, now=NOW)
    started = gateway.results["create_subscription"].id
    assert gateway._client().v1.subscriptions.retrieve(started).status == "canceled"
    assert seen[-1][0] == "cancel_subscription"
    assert db_session.scalar(select(func.count()).select_from(Membership)) == 0


def test_erasing_a_fee_member_stops_the_subscription_after_the_commit(
    app, db_session, org, both_offer, gateway
):
    from marketplace.privacy.services import erase_account
    from tests.factories import PASSWORD
    from tests.pools.builders import run_jobs

    person = UserFactory()
    db_session.commit()
    membership = billing.join_paying(db_session, person, org, card(), gateway=gateway, now=NOW)
    stripe_id = services.current_subscription(membership).stripe_subscription_id
    sdk = gateway._client().v1.subscriptions
    erase_account(db_session, person, PASSWORD)
    assert sdk.retrieve(stripe_id).status == "active"  # nothing leaves inside the erasure
    db_session.commit()
    assert sdk.retrieve(stripe_id).status == "active"  # a job tells Stripe, retried if need be
    assert run_jobs(app, db_session) >= 1
    assert sdk.retrieve(stripe_id).status == "canceled"
