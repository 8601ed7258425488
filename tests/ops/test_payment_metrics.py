"""Off-session charges are counted by how they end (real localstripe, real Stripe SDK)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from marketplace.payments import services
from tests.payments.conftest import (  # noqa: F401 - fixtures used by name
    GOOD_CARD,
    NEEDS_AUTHENTICATION_CARD,
    gateway,
    holder,
    save_card,
    stripe_app,
)

DECLINED_AT_CHARGE = "4000000000000341"  # attaches, then every charge is declined
OUTCOMES = ("succeeded", "failed", "requires_action")


def _counts() -> dict[str, float]:
    return {
        outcome: REGISTRY.get_sample_value("marketplace_payments_total", {"outcome": outcome})
        or 0.0
        for outcome in OUTCOMES
    }


@pytest.mark.parametrize(
    ("number", "outcome"),
    [
        (GOOD_CARD, "succeeded"),
        (DECLINED_AT_CHARGE, "failed"),
        (NEEDS_AUTHENTICATION_CARD, "requires_action"),
    ],
)
def test_each_charge_counts_once_under_its_outcome(db_session, gateway, holder, number, outcome):  # noqa: F811
    card = save_card(db_session, gateway, holder, number)
    before = _counts()

    # A second call with a key that succeeded neither charges nor counts again. (A failed or
    # requires_action key is tried again on the next call: a new charge, counted anew.)
    for _ in range(2 if outcome == "succeeded" else 1):
        services.charge_once(
            db_session,
            user=holder,
            idempotency_key=f"ops-metrics:{outcome}",
            amount_pence=1200,
            payment_method_id=card.payment_method_id,
            purpose="pool",
            reference="pool:1",
            gateway=gateway,
        )

    after = _counts()
    assert {k: after[k] - before[k] for k in OUTCOMES} == {
        k: (1.0 if k == outcome else 0.0) for k in OUTCOMES
    }
