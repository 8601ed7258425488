"""Webhooks keep memberships in line with Stripe: replays change nothing more, and an older
event arriving after a newer one changes nothing."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import stripe
from sqlalchemy import func, select

from marketplace.db import as_utc
from marketplace.memberships.models import (
    Membership,
    MembershipStatus,
    MembershipSubscription,
)
from marketplace.payments.models import LedgerEntry
from tests.factories import UserFactory
from tests.memberships.conftest import NOW

URL = "/payments/webhook"
T0 = int(NOW.timestamp())


@pytest.fixture
def fee_member(db_session, org):
    person = UserFactory()
    membership = Membership(
        organisation_id=org.id,
        user_id=person.id,
        basis="fee",
        basis_from=date(2026, 11, 1),
        status=MembershipStatus.ACTIVE.value,
        live=True,
        joined_at=NOW,
    )
    db_session.add(membership)
    db_session.add(
        MembershipSubscription(
            membership=membership,
            stripe_subscription_id="sub_hook",
            stripe_plan_id="plan_x",
            fee_pence=700,
        )
    )
    db_session.commit()
    return membership


def post(app, client, db_session, event_id, event_type, at, obj=None):
    obj = obj or {
        "id": f"in_{event_id}",
        "object": "invoice",
        "subscription": "sub_hook",
        "amount_paid": 700,
    }
    payload = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": at,
        "data": {"object": obj},
    }
    body = json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(
        body, app.config["STRIPE_WEBHOOK_SECRET"]
    )
    response = client.post(
        URL, data=body, headers={"Stripe-Signature": header, "Content-Type": "application/json"}
    )
    assert response.status_code == 200
    db_session.expire_all()
    return response.json


def test_a_failed_payment_replayed_five_times_is_one_effect(app, client, db_session, fee_member):
    answers = [
        post(app, client, db_session, "evt_f", "invoice.payment_failed", T0) for _ in range(5)
    ]
    assert [a["duplicate"] for a in answers] == [False, True, True, True, True]
    assert fee_member.status == MembershipStatus.PAYMENT_DUE
    assert as_utc(fee_member.payment_due_by) == NOW + timedelta(days=14)


def test_a_paid_invoice_replayed_is_counted_once(app, client, db_session, fee_member):
    for _ in range(3):
        post(app, client, db_session, "evt_p", "invoice.payment_succeeded", T0)
    assert db_session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    assert fee_member.status == MembershipStatus.ACTIVE


def test_the_same_failure_with_a_new_event_id_keeps_the_first_due_date(
    app, client, db_session, fee_member
):
    post(app, client, db_session, "evt_f1", "invoice.payment_failed", T0)
    post(app, client, db_session, "evt_f2", "invoice.payment_failed", T0 + 3600)
    assert as_utc(fee_member.payment_due_by) == NOW + timedelta(days=14)


def test_an_older_failure_after_a_newer_payment_changes_nothing(
    app, client, db_session, fee_member
):
    post(app, client, db_session, "evt_new_paid", "invoice.payment_succeeded", T0 + 60)
    post(app, client, db_session, "evt_old_fail", "invoice.payment_failed", T0)
    assert fee_member.status == MembershipStatus.ACTIVE and fee_member.payment_due_by is None
    record = db_session.scalars(select(MembershipSubscription)).one()
    assert as_utc(record.last_event_at) == NOW + timedelta(seconds=60)


def test_an_older_payment_after_deletion_does_not_revive(app, client, db_session, fee_member):
    deleted = {"id": "sub_hook", "object": "subscription"}
    post(app, client, db_session, "evt_del", "customer.subscription.deleted", T0 + 60, deleted)
    assert fee_member.status == MembershipStatus.ENDED
    post(app, client, db_session, "evt_paid_old", "invoice.payment_succeeded", T0)
    post(app, client, db_session, "evt_paid_new", "invoice.payment_succeeded", T0 + 120)
    assert fee_member.status == MembershipStatus.ENDED


def test_deletion_while_switching_to_reciprocity_does_not_end(app, client, db_session, fee_member):
    fee_member.pending_basis, fee_member.pending_from = "reciprocity", date(2026, 12, 1)
    db_session.commit()
    deleted = {"id": "sub_hook", "object": "subscription"}
    post(app, client, db_session, "evt_del", "customer.subscription.deleted", T0, deleted)
    assert fee_member.status == MembershipStatus.ACTIVE
    assert db_session.scalars(select(MembershipSubscription)).one().ended_at is not None


def test_an_invoice_in_the_new_api_shape_is_matched(app, client, db_session, fee_member):
    obj = {
        "id": "in_new",
        "object": "invoice",
        "amount_paid": 700,
        "parent": {"subscription_details": {"subscription": "sub_hook"}},
    }
    post(app, client, db_session, "evt_shape", "invoice.payment_failed", T0, obj)
    assert fee_member.status == MembershipStatus.PAYMENT_DUE


def test_events_for_subscriptions_we_do_not_know_are_ignored(app, client, db_session, fee_member):
    obj = {"id": "in_x", "object": "invoice", "subscription": "sub_other", "amount_paid": 700}
    post(app, client, db_session, "evt_other", "invoice.payment_failed", T0, obj)
    assert fee_member.status == MembershipStatus.ACTIVE
