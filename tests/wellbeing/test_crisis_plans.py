"""Crisis plans: private to the person and the people they named, and acted on by a break."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace import outbox
from marketplace.audit import entries_for
from marketplace.buddies import services as buddies
from marketplace.carers import services as carers
from marketplace.carers.models import CarerGrant, CarerScope
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships import services as memberships
from marketplace.memberships.services import OfferData
from marketplace.organisations.models import ApprovalStatus, OrganisationKind
from marketplace.privacy import services as privacy
from marketplace.wellbeing import breaks, crisis_plans
from marketplace.wellbeing.crisis_plan_models import CrisisPlan, CrisisPlanContact
from marketplace.wellbeing.crisis_plans import PlanInput
from tests.buddies.builders import ask, confirmed_buddy
from tests.factories import PASSWORD, OrganisationFactory, StaffFactory, UserFactory

TTL = 3600
KINDS = ("buddy", "occasional_pa", "events", "peer_group", "other")


@pytest.fixture(autouse=True)
def _app_context(app):
    """Services that email read the app's config."""
    with app.app_context():
        yield


def make_carer(db_session, holder, scopes=(CarerScope.VIEW,), name="Sam"):
    carer = UserFactory(display_name=name)
    _grant, token = carers.invite_carer(db_session, holder, carer.email, scopes, TTL)
    carers.accept_invitation(db_session, carer, token)
    return carer


@pytest.fixture
def world(db_session, council, moderator):
    """Robin, with a carer (Sam), a budget buddy and a ULO staff contact; and a stranger."""
    person = UserFactory(display_name="Robin")
    carer = make_carer(db_session, person)
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    request = buddies.ask_for_buddy(db_session, person, ask(council))
    match = buddies.propose(db_session, request, profile)
    buddies.accept(db_session, buddy, match)
    org = OrganisationFactory(
        name="Leeds Voice", kind=OrganisationKind.ULO.value, status=ApprovalStatus.APPROVED.value
    )
    staff = UserFactory(display_name="Jo", roles=["ulo_staff"])
    StaffFactory(organisation=org, user=staff)
    memberships.set_offer(db_session, staff, org, OfferData(None, 240, KINDS))
    memberships.join(db_session, person, org, "reciprocity")
    stranger = UserFactory()
    db_session.commit()
    return {
        "person": person,
        "carer": carer,
        "buddy": buddy,
        "staff": staff,
        "stranger": stranger,
        "moderator": moderator,
    }


def plan_for(db_session, w, **overrides):
    data = PlanInput(
        tell=[w["buddy"].id, w["staff"].id],
        delegate=str(w["carer"].id),
        scopes=[CarerScope.POOLS.value, CarerScope.BUDDYING.value],
        days=10,
        message="Please text rather than call.",
    )
    for key, value in overrides.items():
        setattr(data, key, value)
    plan, token = crisis_plans.save_plan(db_session, w["person"], data, TTL)
    db_session.commit()
    return plan, token


def test_only_people_the_person_already_has_can_be_named(db_session, world):
    labels = {c.label for c in crisis_plans.candidates(db_session, world["person"])}
    assert labels == {
        "Sam (your carer)",
        f"{world['buddy'].display_name} (your budget buddy)",
        "Jo at Leeds Voice",
    }
    with pytest.raises(DomainError) as error:
        plan_for(db_session, world, tell=[world["stranger"].id])
    assert error.value.field == "tell"
    with pytest.raises(DomainError) as error:
        plan_for(db_session, world, delegate=str(world["stranger"].id))
    assert error.value.field == "delegate"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"days": 0}, "days"),
        ({"days": 91}, "days"),
        ({"days": None}, "days"),
        ({"scopes": []}, "scopes"),
        ({"message": "x" * 5001}, "message"),
        ({"delegate": "email", "delegate_email": ""}, "delegate_email"),
    ],
)
def test_mistakes_are_reported_beside_the_field(db_session, world, overrides, field):
    with pytest.raises(DomainError) as error:
        plan_for(db_session, world, **overrides)
    assert error.value.field == field


def test_only_the_person_and_named_people_can_see_it_and_every_view_is_audited(db_session, world):
    plan, _ = plan_for(db_session, world)
    for viewer in ("person", "buddy", "staff", "carer"):
        assert crisis_plans.view_plan(db_session, world[viewer], plan.id) is plan
    assert crisis_plans.view_own(db_session, world["person"]) is plan
    for outsider in ("stranger", "moderator"):
        with pytest.raises(NotAllowed):
            crisis_plans.view_plan(db_session, world[outsider], plan.id)
    db_session.commit()
    views = [
        e for e in entries_for(db_session, "crisis_plan", plan.id) if e.action.endswith("viewed")
    ]
    assert [e.actor_id for e in views] == [
        world[name].id for name in ("person", "buddy", "staff", "carer", "person")
    ]
    assert crisis_plans.plans_named_in(db_session, world["buddy"]) == [plan]
    assert crisis_plans.plans_named_in(db_session, world["carer"]) == [plan]
    assert crisis_plans.plans_named_in(db_session, world["stranger"]) == []


def test_the_grant_is_dormant_until_a_break_then_lasts_n_days(db_session, world):
    plan_for(db_session, world, days=10)
    person, carer = world["person"], world["carer"]
    with pytest.raises(NotAllowed):
        carers.authorise(db_session, carer, person.id, CarerScope.POOLS)
    start = utcnow()
    breaks.start_break(db_session, person, "open", now=start)
    db_session.commit()
    assert carers.authorise(db_session, carer, person.id, CarerScope.POOLS, now=start)
    day_9 = start + timedelta(days=9)
    assert carers.authorise(db_session, carer, person.id, CarerScope.BUDDYING, now=day_9)
    with pytest.raises(NotAllowed):  # not a scope the plan gave
        carers.authorise(db_session, carer, person.id, CarerScope.MEMBERSHIPS, now=day_9)
    with pytest.raises(NotAllowed):  # N days are up, though the break goes on
        carers.authorise(
            db_session, carer, person.id, CarerScope.POOLS, now=start + timedelta(days=10)
        )
    # Their ordinary grant is untouched throughout.
    assert carers.authorise(db_session, carer, person.id, CarerScope.VIEW, now=day_9)


def test_the_grant_switches_off_when_the_break_ends(db_session, world):
    plan_for(db_session, world, days=30)
    person, carer = world["person"], world["carer"]
    start = utcnow() - timedelta(days=2)
    breaks.start_break(db_session, person, "open", now=start)
    db_session.commit()
    assert carers.authorise(db_session, carer, person.id, CarerScope.POOLS)
    breaks.end_break(db_session, person)
    db_session.commit()
    with pytest.raises(NotAllowed):
        carers.authorise(db_session, carer, person.id, CarerScope.POOLS)
    assert person not in [g.holder for g in carers.grants_held(db_session, carer) if g.expires_at]


def test_a_timed_break_caps_the_grant_at_its_end(db_session, world):
    plan, _ = plan_for(db_session, world, days=30)
    start = utcnow()
    brk = breaks.start_break(db_session, world["person"], "week", now=start)
    db_session.commit()
    assert as_utc(plan.grant.expires_at) == as_utc(brk.ends_at)


def test_an_expired_grant_cannot_act(db_session, world):
    person, carer = world["person"], world["carer"]
    grant = carers.authorise(db_session, carer, person.id, CarerScope.VIEW)
    grant.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    with pytest.raises(NotAllowed):
        carers.act_for(db_session, carer, person.id, CarerScope.VIEW, "Looked")
    assert carers.grants_held(db_session, carer) == []


def test_someone_invited_by_email_is_switched_on_only_once_they_accept(db_session, world):
    person = world["person"]
    plan, token = plan_for(db_session, world, delegate="email", delegate_email="Ali@Example.org")
    assert token is not None and plan.grant.invited_email == "ali@example.org"
    brk = breaks.start_break(db_session, person, "open")
    db_session.commit()
    assert plan.grant.carer_id is None  # not accepted: nothing to switch on
    breaks.end_break(db_session, person)
    ali = UserFactory(email="ali@example.org")
    carers.accept_invitation(db_session, ali, token)
    db_session.commit()
    with pytest.raises(NotAllowed):  # accepted, but dormant until a break
        carers.authorise(db_session, ali, person.id, CarerScope.POOLS)
    assert brk.ended_at is not None
    breaks.start_break(db_session, person, "open")
    db_session.commit()
    assert carers.authorise(db_session, ali, person.id, CarerScope.POOLS)
    assert ali.id in crisis_plans.named_user_ids(plan)


def test_a_break_tells_the_named_people_calmly(db_session, world, mailbox):
    plan_for(db_session, world)
    mailbox.clear()
    breaks.start_break(db_session, world["person"], "month")
    assert mailbox.messages == []  # nobody is told before the break is committed
    db_session.commit()
    outbox.run_committed(db_session)  # what the app does after each request
    for name in ("buddy", "staff"):
        message = mailbox.last_to(world[name].email)
        body = message.get_payload(decode=True).decode()
        assert message["Subject"] == "Robin has started a break"
        assert "asked us to let you know" in body and "/crisis-plans/" in body
        assert "text rather than call" not in body  # the plan stays behind a sign-in
    assert world["stranger"].email not in [m["To"] for m in mailbox.messages]
    acting = mailbox.last_to(world["carer"].email).get_payload(decode=True).decode()
    assert "you can act for them until" in acting


def test_changing_or_deleting_the_plan_ends_the_old_grant(db_session, world):
    plan, _ = plan_for(db_session, world)
    first = plan.grant
    plan_for(db_session, world, delegate="")
    assert plan.grant is None and first.status == "revoked"
    plan_for(db_session, world)
    second = plan.grant
    crisis_plans.delete_plan(db_session, world["person"])
    db_session.commit()
    assert second.status == "revoked"
    assert crisis_plans.plan_of(db_session, world["person"].id) is None


def test_export_and_erase(db_session, world):
    plan, _ = plan_for(db_session, world)
    plan_id = plan.id
    mine = privacy.export_user_data(db_session, world["person"])["crisis_plan"]["my_plan"]
    assert mine["what_i_want_others_to_know"] == "Please text rather than call."
    assert {t["name"] for t in mine["tell"]} == {world["buddy"].display_name, "Jo"}
    assert mine["may_act_for_me"]["name"] == "Sam" and mine["may_act_for_me"]["days"] == 10
    assert privacy.export_user_data(db_session, world["buddy"])["crisis_plan"][
        "plans_naming_me"
    ] == ["Robin"]

    privacy.erase_account(db_session, world["buddy"], PASSWORD)
    db_session.commit()
    assert [c.user_id for c in plan.contacts] == [world["staff"].id]

    privacy.erase_account(db_session, world["person"], PASSWORD)
    db_session.commit()
    assert db_session.get(CrisisPlan, plan_id) is None
    assert (
        db_session.scalars(
            select(CrisisPlanContact).where(CrisisPlanContact.plan_id == plan_id)
        ).all()
        == []
    )
    assert (
        db_session.scalars(
            select(CarerGrant).where(CarerGrant.holder_id == world["person"].id)
        ).all()
        == []
    )


def test_a_break_started_by_a_carer_with_the_right_also_switches_it_on(db_session, world):
    person = world["person"]
    helper = make_carer(db_session, person, scopes=(CarerScope.WELLBEING,), name="Pat")
    plan_for(db_session, world)
    start = utcnow()
    breaks.start_break(db_session, person, "open", acting_carer=helper, now=start)
    db_session.commit()
    assert carers.authorise(db_session, world["carer"], person.id, CarerScope.POOLS, now=start)


def test_editing_the_plan_during_a_break_does_not_extend_the_grant(db_session, world):
    plan, _ = plan_for(db_session, world, days=10)
    start = utcnow() - timedelta(days=5)
    breaks.start_break(db_session, world["person"], "open", now=start)
    db_session.commit()
    ends = as_utc(plan.grant.expires_at)
    plan_for(db_session, world, days=10, message="Changed")
    assert as_utc(plan.grant.expires_at) == ends


def test_erasing_the_person_who_may_act_leaves_the_plan_without_them(db_session, world):
    plan, _ = plan_for(db_session, world)
    privacy.erase_account(db_session, world["carer"], PASSWORD)
    db_session.commit()
    assert plan.grant is None and crisis_plans.delegate_of(plan) is None


def test_what_the_plan_leaves_unticked_carries_on_during_a_break(db_session, world, mailbox):
    from marketplace.buddies.models import BuddyMatch, MatchStatus
    from marketplace.email import send_email

    person = world["person"]
    plan_for(db_session, world, pause_buddies=False, pause_emails=False)
    outcomes = {i.heading: i.outcome for i in breaks.plan(db_session, person, "month").items}
    pairing = next(v for k, v in outcomes.items() if k.startswith("Budget buddy pairing"))
    assert pairing.startswith("Kept, as your crisis plan says")
    assert outcomes["Emails"] == "Kept, as your crisis plan says. Emails come as usual."

    brk = breaks.start_break(db_session, person, "month")
    db_session.commit()
    match = db_session.scalars(select(BuddyMatch).where(BuddyMatch.seeker_id == person.id)).one()
    assert match.status == MatchStatus.ACTIVE.value  # they can keep talking to their buddy
    assert {p.kind for p in brk.paused} == {"membership"}  # hours are still paused
    mailbox.clear()
    send_email(person.email, "New message", "There is a new message.", user_id=person.id)
    db_session.commit()  # emails go after the commit
    assert [m["Subject"] for m in mailbox.messages] == ["New message"]


def test_with_everything_ticked_the_break_pauses_buddies_and_holds_emails(
    db_session, world, mailbox
):
    from marketplace.email import send_email

    person = world["person"]
    plan_for(db_session, world)
    brk = breaks.start_break(db_session, person, "month")
    db_session.commit()
    assert {p.kind for p in brk.paused} == {"match", "membership"}
    mailbox.clear()
    send_email(person.email, "New message", "There is a new message.", user_id=person.id)
    assert mailbox.messages == []
