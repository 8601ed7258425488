"""Membership state changes without Stripe: offers, reciprocity join, switch, pause/resume,
forgive, leave, lapse, jobs, carers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.carers.models import CarerAction, CarerGrant, GrantStatus
from marketplace.db import as_utc
from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships import billing, reciprocity, services
from marketplace.memberships.models import (
    Basis,
    Membership,
    MembershipStatus,
    MembershipSubscription,
    Standing,
)
from marketplace.memberships.reciprocity import TimeGiven
from marketplace.memberships.services import OfferData
from tests.factories import UserFactory
from tests.memberships.conftest import KINDS, NOW, matched, member


def test_staff_set_a_reciprocity_offer(db_session, staff, org):
    offer = services.set_offer(db_session, staff, org, OfferData(None, 180, ("buddy", "events")))
    assert (offer.fee_pence, offer.reciprocity_minutes, offer.kinds) == (
        None,
        180,
        ("buddy", "events"),
    )
    assert services.offer_for(db_session, org) is offer


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (OfferData(0, None), "fee_pence"),
        (OfferData(-700, None), "fee_pence"),
        (OfferData(1_000_000, None), "fee_pence"),
        (OfferData(None, None), "fee_pence"),
        (OfferData(None, 0, KINDS), "reciprocity_minutes"),
        (OfferData(None, 100_000, KINDS), "reciprocity_minutes"),
        (OfferData(None, 60, ()), "reciprocity_kinds"),
        (OfferData(None, 60, ("juggling",)), "reciprocity_kinds"),
    ],
)
def test_a_bad_offer_names_the_field_and_saves_nothing(db_session, staff, org, data, field):
    with pytest.raises(DomainError) as error:
        services.set_offer(db_session, staff, org, data)
    assert error.value.field == field
    assert services.offer_for(db_session, org) is None


def test_only_this_ulos_staff_set_its_offer(db_session, org, other_ulo):
    for outsider in (UserFactory(), other_ulo[0]):
        with pytest.raises(NotAllowed):
            services.set_offer(db_session, outsider, org, OfferData(None, 60, KINDS))


def test_join_by_reciprocity(db_session, org, reciprocity_offer):
    person, membership = member(db_session, org)
    assert membership.status == MembershipStatus.ACTIVE
    assert membership.basis == Basis.RECIPROCITY
    assert membership.commitment_minutes == 240
    assert membership.basis_from == date(2026, 11, 1)
    assert services.memberships_of(db_session, person) == [membership]


def test_one_live_membership_per_person_per_ulo(db_session, org, giver):
    person, _ = giver
    with pytest.raises(DomainError) as error:
        services.join(db_session, person, org, "reciprocity", now=NOW)
    assert error.value.field == "organisation"


def test_joining_on_a_basis_not_offered_is_refused(db_session, org, reciprocity_offer):
    with pytest.raises(DomainError) as error:
        services.join(db_session, UserFactory(), org, "fee", now=NOW)
    assert error.value.field == "basis"
    with pytest.raises(DomainError) as error:
        services.join(db_session, UserFactory(), org, "barter", now=NOW)
    assert error.value.field == "basis"


def test_leave_and_join_again(db_session, org, giver):
    person, membership = giver
    services.leave(db_session, person, membership, now=NOW)
    assert membership.status == MembershipStatus.ENDED and membership.live is None
    again = services.join(db_session, person, org, "reciprocity", now=NOW)
    db_session.commit()
    assert again.id != membership.id and again.status == MembershipStatus.ACTIVE


def test_pause_and_resume(db_session, giver):
    person, membership = giver
    pause = services.pause(db_session, person, membership, now=NOW)
    assert membership.status == MembershipStatus.PAUSED
    assert (pause.starts_on, pause.ends_on) == (NOW.date(), None)
    with pytest.raises(DomainError):
        services.pause(db_session, person, membership, now=NOW)
    services.resume(db_session, person, membership, now=NOW + timedelta(days=3))
    assert membership.status == MembershipStatus.ACTIVE
    assert pause.ends_on == NOW.date() + timedelta(days=3)
    # Paused for four days of November (the 15th to the 18th, since joining on the 15th):
    # the other twelve days are asked for, pro rata; November is over, so it is short.
    result = reciprocity.standing(db_session, membership, NOW.date())
    assert (result.standing, result.commitment_minutes) == (Standing.SHORT, 240 * 12 // 30)


def test_a_pause_with_an_end_date_ends_by_the_job(db_session, giver):
    person, membership = giver
    services.pause(db_session, person, membership, until=NOW.date() + timedelta(days=2), now=NOW)
    assert services.resume_finished_pauses(db_session, NOW + timedelta(days=2)) == 0
    assert services.resume_finished_pauses(db_session, NOW + timedelta(days=3)) == 1
    assert membership.status == MembershipStatus.ACTIVE


def test_pause_needs_a_sensible_end_and_someone_elses_membership_is_refused(db_session, giver):
    person, membership = giver
    with pytest.raises(DomainError) as error:
        services.pause(db_session, person, membership, until=date(2026, 1, 1), now=NOW)
    assert error.value.field == "until"
    with pytest.raises(NotAllowed):
        services.pause(db_session, UserFactory(), membership, now=NOW)


def test_standing_good_short_forgiven(db_session, staff, giver):
    person, membership = giver
    helped = UserFactory()
    matched(db_session, membership.organisation, person, helped)
    entry = reciprocity.log_time(
        db_session,
        person,
        membership.organisation,
        TimeGiven("buddy", NOW.date(), 120, helped.id),
        now=NOW,
    )
    reciprocity.confirm(db_session, helped, entry, now=NOW)
    assert reciprocity.standing(db_session, membership, NOW.date()).standing == Standing.SHORT
    forgiven = reciprocity.forgive(db_session, staff, membership, NOW.date(), now=NOW)
    result = reciprocity.standing(db_session, membership, NOW.date())
    assert result.standing == Standing.FORGIVEN
    assert (result.forgiven_by_id, result.confirmed_minutes) == (staff.id, 120)
    assert as_utc(forgiven.forgiven_at) == NOW
    more = reciprocity.log_time(
        db_session,
        person,
        membership.organisation,
        TimeGiven("buddy", NOW.date(), 120, None),
        now=NOW,
    )
    reciprocity.confirm(db_session, staff, more, now=NOW)
    assert reciprocity.standing(db_session, membership, NOW.date()).standing == Standing.GOOD


def test_forgiving_needs_a_shortfall_and_staff_of_this_ulo(db_session, staff, other_ulo, giver):
    _, membership = giver
    with pytest.raises(NotAllowed):
        reciprocity.forgive(db_session, other_ulo[0], membership, NOW.date(), now=NOW)
    services.pause(db_session, giver[0], membership, now=NOW)
    with pytest.raises(DomainError) as error:
        reciprocity.forgive(db_session, staff, membership, NOW.date(), now=NOW)
    assert error.value.field == "month"
    with pytest.raises(DomainError) as error:
        reciprocity.forgive(db_session, staff, membership, date(2027, 1, 1), now=NOW)
    assert error.value.field == "month"


def test_months_before_joining_are_not_applicable(db_session, giver):
    _, membership = giver
    result = reciprocity.standing(db_session, membership, date(2026, 10, 1))
    assert result.standing == Standing.NOT_APPLICABLE


def _fee_membership(db_session, org, status=MembershipStatus.PAYMENT_DUE, due_by=None):
    """A fee membership written directly (the Stripe side is tested in test_subscriptions)."""
    person = UserFactory()
    membership = Membership(
        organisation_id=org.id,
        user_id=person.id,
        basis="fee",
        basis_from=date(2026, 11, 1),
        status=status.value,
        live=True,
        payment_due_by=due_by,
        joined_at=NOW,
    )
    db_session.add(membership)
    db_session.add(
        MembershipSubscription(
            membership=membership,
            stripe_subscription_id=f"sub_test_{person.id}",
            stripe_plan_id="plan_x",
            fee_pence=700,
        )
    )
    db_session.commit()
    return person, membership


def test_lapse_overdue_after_fourteen_days(db_session, org, reciprocity_offer):
    _, overdue = _fee_membership(db_session, org, due_by=NOW - timedelta(seconds=1))
    _, in_time = _fee_membership(db_session, org, due_by=NOW + timedelta(days=1))
    assert services.lapse_overdue(db_session, NOW) == 1
    db_session.expire_all()
    assert overdue.status == MembershipStatus.LAPSED
    assert in_time.status == MembershipStatus.PAYMENT_DUE
    assert services.lapse_overdue(db_session, NOW) == 0  # safe to run again


def test_reminders_are_sent_once(db_session, org, mailbox):
    person, membership = _fee_membership(db_session, org, due_by=NOW + timedelta(days=14))
    report = services.remind_payment_due(db_session, NOW)
    assert report.sent == 1
    assert mailbox.messages == []  # it goes with the claim's commit, never inside it
    db_session.commit()
    assert "did not go through" in mailbox.last_to(person.email).get_payload()
    assert services.remind_payment_due(db_session, NOW).sent == 0
    assert as_utc(membership.reminder_sent_at) == NOW


def test_a_mail_server_that_is_down_never_fails_the_job_nor_loses_the_reminder(
    app, db_session, org, mailbox
):
    from marketplace.jobs.models import Job
    from marketplace.payments.localstripe_server import free_port
    from tests.pools.builders import run_jobs

    _fee_membership(db_session, org, due_by=NOW - timedelta(days=1))
    previous = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    try:
        report = billing.run_jobs(db_session, NOW)
    finally:
        app.config["MAIL_PORT"] = previous
    assert report.lapsed == 1
    assert report.reminders.sent == 0  # the lapse came first: nothing was due any more
    person, due = _fee_membership(db_session, org, due_by=NOW + timedelta(days=3))
    address = person.email
    app.config["MAIL_PORT"] = free_port()
    try:
        assert billing.run_jobs(db_session, NOW).reminders.sent == 1
    finally:
        app.config["MAIL_PORT"] = previous
    assert mailbox.messages == []
    assert as_utc(due.reminder_sent_at) == NOW  # claimed: a second run sends no second one
    assert services.remind_payment_due(db_session, NOW).sent == 0
    # The email waits as a job, and goes once the mail server is back.
    assert db_session.scalar(select(func.count()).select_from(Job).where(Job.kind == "email.send"))
    with app.app_context():
        assert run_jobs(app, db_session) >= 1
    assert "did not go through" in mailbox.last_to(address).get_payload()


def test_switch_fee_member_to_reciprocity_takes_effect_next_month(
    db_session, org, reciprocity_offer, monkeypatch
):
    person, membership = _fee_membership(db_session, org, status=MembershipStatus.ACTIVE)

    class Gateway:
        cancelled: list[tuple[str, bool]] = []

        def cancel_subscription(self, subscription_id, at_period_end):
            self.cancelled.append((subscription_id, at_period_end))

    gateway = Gateway()
    billing.switch(db_session, person, membership, "reciprocity", gateway=gateway, now=NOW)
    assert gateway.cancelled == [(f"sub_test_{person.id}", True)]
    assert (membership.pending_basis, membership.pending_from) == ("reciprocity", date(2026, 12, 1))
    assert membership.basis == "fee"
    with pytest.raises(DomainError) as error:
        billing.switch(db_session, person, membership, "fee", gateway=gateway, now=NOW)
    assert error.value.field == "basis"
    assert billing.apply_switches(db_session, NOW) == 0
    assert billing.apply_switches(db_session, NOW.replace(month=12, day=1)) == 1
    assert (membership.basis, membership.pending_basis) == ("reciprocity", None)
    assert (membership.commitment_minutes, membership.basis_from) == (240, date(2026, 12, 1))


def test_switch_to_the_same_basis_is_refused(db_session, giver):
    person, membership = giver
    with pytest.raises(DomainError) as error:
        services.switch_basis(db_session, person, membership, "reciprocity", now=NOW)
    assert error.value.field == "basis"


def _grant(db_session, holder, scopes="memberships"):
    carer = UserFactory()
    db_session.add(
        CarerGrant(
            holder_id=holder.id,
            carer_id=carer.id,
            invited_email=carer.email,
            scopes=scopes,
            status=GrantStatus.ACTIVE.value,
        )
    )
    db_session.commit()
    return carer


def test_a_carer_with_the_grant_joins_and_pauses_for_the_holder(db_session, org, reciprocity_offer):
    holder = UserFactory()
    carer = _grant(db_session, holder)
    membership = services.join(db_session, holder, org, "reciprocity", acting_carer=carer, now=NOW)
    services.pause(db_session, holder, membership, acting_carer=carer, now=NOW)
    actions = db_session.query(CarerAction).filter_by(holder_id=holder.id).all()
    assert len(actions) == 2 and all(a.carer_id == carer.id for a in actions)


def test_a_carer_without_the_memberships_scope_is_refused(db_session, org, reciprocity_offer):
    holder = UserFactory()
    carer = _grant(db_session, holder, scopes="pools")
    with pytest.raises(NotAllowed):
        services.join(db_session, holder, org, "reciprocity", acting_carer=carer, now=NOW)
    assert services.memberships_of(db_session, holder) == []
