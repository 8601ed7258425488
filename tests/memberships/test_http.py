"""Membership pages through the test client: offers, joining, time, help requests, dashboard,
and who may see what."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from marketplace.db import utcnow
from marketplace.memberships import (
    billing,
    charts,
    clearance,
    help_notices,
    help_requests,
    reciprocity,
    services,
)
from marketplace.memberships.common import month_end
from marketplace.memberships.models import (
    Basis,
    HelpMessage,
    HelpRequest,
    HelpRequestStatus,
    LogStatus,
    Membership,
    MembershipOffer,
    MembershipStatus,
    TimeLog,
)
from marketplace.memberships.services import OfferData
from marketplace.organisations.models import ApprovalStatus, OrganisationKind
from tests.factories import OrganisationFactory, StaffFactory, UserFactory
from tests.helpers import post, sign_in
from tests.memberships.conftest import DECLINED_AT_ATTACH, GOOD_CARD, KINDS

TODAY = utcnow().date()


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def staff_with_code(db_session, name):
    """(staff user with a second factor, approved ULO)."""
    org = OrganisationFactory(
        name=name, kind=OrganisationKind.ULO.value, status=ApprovalStatus.APPROVED.value
    )
    person = UserFactory(
        roles=["ulo_staff"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
    )
    StaffFactory(organisation=org, user=person)
    db_session.commit()
    return person, org


@pytest.fixture(autouse=True)
def _app_context():
    """Overrides the package's app context: each request must get its own (flask-login and
    flask-wtf keep the signed-in user and the CSRF token in `g`)."""
    yield


@pytest.fixture
def ulo(db_session):
    return staff_with_code(db_session, "Leeds Voice")


@pytest.fixture
def other_ulo(db_session):
    return staff_with_code(db_session, "Bradford Together")


@pytest.fixture
def staff(ulo):
    return ulo[0]


@pytest.fixture
def org(ulo):
    return ulo[1]


@pytest.fixture
def reciprocity_offer(db_session, staff, org):
    offer = services.set_offer(db_session, staff, org, OfferData(None, 240, KINDS))
    db_session.commit()
    return offer


def join_by_reciprocity(db_session, org):
    person = UserFactory()
    membership = services.join(db_session, person, org, Basis.RECIPROCITY.value)
    db_session.commit()
    return person, membership


def date_parts(day) -> list[str]:
    return [str(day.day), str(day.month), str(day.year)]


def count(db_session, model) -> int:
    return db_session.scalar(select(func.count(model.id))) or 0


# --- the offer ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "message", "field"),
    [
        (
            {"fee_pence": "0"},
            "The monthly fee must be more than £0 and at most £100",
            "fee_pence",
        ),
        (
            {"reciprocity_hours": "-3", "reciprocity_kinds": ["buddy"]},
            "The hours a month must be more than 0 and at most 80",
            "reciprocity_hours",
        ),
        (
            {"reciprocity_hours": "100000", "reciprocity_kinds": ["buddy"]},
            "The hours a month must be more than 0 and at most 80",
            "reciprocity_hours",
        ),
        ({"reciprocity_hours": "4"}, "Choose the kinds of giving back you accept", None),
        ({}, "Offer a monthly fee, giving time back, or both", "fee_pence"),
        ({"fee_pence": "lots"}, "Enter an amount in pounds, like 7 or 7.50", "fee_pence"),
    ],
)
def test_bad_offers_show_the_message_beside_the_field_and_save_nothing(
    app, db_session, staff, org, form, message, field
):
    client = signed_in(app, staff)
    response = post(client, f"/organisations/{org.id}/membership/offer", form)
    assert response.status_code == 200
    page = text(response)
    assert "There is a problem" in page and message in page
    if field:
        assert f'id="{field}-error"' in page
    assert count(db_session, MembershipOffer) == 0


def test_staff_set_a_reciprocity_offer_and_the_public_page_shows_it(app, db_session, staff, org):
    client = signed_in(app, staff)
    response = post(
        client,
        f"/organisations/{org.id}/membership/offer",
        {"reciprocity_hours": "4", "reciprocity_kinds": ["buddy", "occasional_pa"]},
    )
    assert response.status_code == 302
    page = text(app.test_client().get(f"/organisations/{org.id}/membership"))
    assert "4 hours a month" in page
    assert "Occasional PA for another budget holder" in page
    assert "Sign in</a> to join" in page
    assert f"/organisations/{org.id}/membership" in text(
        app.test_client().get(f"/organisations/{org.id}")
    )


def test_staff_choose_to_take_no_fee_during_a_break_and_members_are_told(
    app, db_session, staff, org, stripe_clean
):
    client = signed_in(app, staff)
    url = f"/organisations/{org.id}/membership/offer"
    assert 'name="pause_fee_on_break"' in text(client.get(url))
    response = post(client, url, {"fee_pence": "7", "pause_fee_on_break": "y"})
    assert response.status_code == 302
    offer = db_session.scalars(select(MembershipOffer)).one()
    db_session.refresh(offer)
    assert (offer.fee_pence, offer.pause_fee_on_break) == (700, True)
    assert "no fee is taken while you are away" in text(
        app.test_client().get(url[: -len("/offer")])
    )
    assert 'name="pause_fee_on_break" type="checkbox" value="y" checked' in text(client.get(url))
    post(client, url, {"fee_pence": "7"})  # unticked: the fee is taken as usual
    db_session.refresh(offer)
    assert offer.pause_fee_on_break is False


def test_staff_need_a_second_factor_and_must_be_this_ulos_staff(app, db_session, org, other_ulo):
    no_code = UserFactory(roles=["ulo_staff"])
    StaffFactory(organisation=org, user=no_code)
    db_session.commit()
    response = signed_in(app, no_code).get(f"/organisations/{org.id}/membership/offer")
    assert response.status_code == 302 and "two-factor" in response.headers["Location"]
    other = signed_in(app, other_ulo[0])
    assert other.get(f"/organisations/{org.id}/membership/offer").status_code == 403
    assert (
        signed_in(app, UserFactory()).get(f"/organisations/{org.id}/membership/offer").status_code
        == 403
    )


# --- joining ------------------------------------------------------------------------------------


def test_join_by_reciprocity_through_the_check_page(app, db_session, org, reciprocity_offer):
    person = UserFactory()
    db_session.commit()
    client = signed_in(app, person)
    base = f"/organisations/{org.id}/membership/join"
    # Nothing answered yet: the check page sends you back.
    assert client.get(f"{base}/check").status_code == 302
    response = post(client, base, {})
    assert 'id="basis-error"' in text(response)
    response = post(client, base, {"basis": "reciprocity"})
    assert response.headers["Location"].endswith("/join/check")
    page = text(client.get(f"{base}/check"))
    assert "4 hours a month" in page
    assert "Pause at any time" in page and "do not have to give a reason" in page
    assert count(db_session, Membership) == 0
    response = post(client, f"{base}/check")
    assert response.status_code == 302
    membership = db_session.scalars(select(Membership).where(Membership.user_id == person.id)).one()
    assert membership.basis == "reciprocity" and membership.commitment_minutes == 240
    page = text(client.get("/memberships"))
    assert "Leeds Voice" in page and "Giving 4 hours a month" in page and "Active" in page


def test_join_by_fee_with_a_card(app, db_session, staff, org, stripe_clean):
    with app.app_context():
        billing.set_offer(db_session, staff, org, OfferData(700, None, ()))
        db_session.commit()
    person = UserFactory()
    db_session.commit()
    client = signed_in(app, person)
    base = f"/organisations/{org.id}/membership/join"
    post(client, base, {"basis": "fee"})
    page = text(client.get(f"{base}/check"))
    assert "£7 a month" in page and "end of the month you have paid for" in page
    response = post(client, f"{base}/check")
    assert response.headers["Location"].endswith("/join/card")
    card = {"number": DECLINED_AT_ATTACH, "exp_month": "12", "exp_year": "2030", "cvc": "123"}
    response = post(client, f"{base}/card", card)
    page = text(response)
    assert response.status_code == 200
    assert 'id="number-error"' in page and "declined" in page.lower()
    assert DECLINED_AT_ATTACH not in page  # the card number is never echoed
    assert count(db_session, Membership) == 0
    response = post(client, f"{base}/card", {**card, "number": GOOD_CARD})
    assert response.status_code == 302, text(response)[:3000]
    membership = db_session.scalars(select(Membership).where(Membership.user_id == person.id)).one()
    assert membership.basis == "fee" and membership.status == MembershipStatus.ACTIVE.value
    page = text(client.get("/memberships"))
    assert "£7 a month" in page
    # Leaving has a check page first, and cancels at the end of the paid month.
    leave = text(client.get(f"/memberships/{membership.id}/leave"))
    assert "Nothing more is charged" in leave
    response = post(client, f"/memberships/{membership.id}/leave")
    assert response.status_code == 302
    membership = db_session.get(Membership, membership.id, populate_existing=True)
    assert membership.leaving and membership.is_live


# --- your memberships ---------------------------------------------------------------------------


def test_pause_resume_switch_and_leave(app, db_session, org, reciprocity_offer):
    person, membership = join_by_reciprocity(db_session, org)
    client = signed_in(app, person)
    post(client, f"/memberships/{membership.id}/pause", token_from="/memberships")
    membership = db_session.get(Membership, membership.id, populate_existing=True)
    assert membership.status == MembershipStatus.PAUSED.value
    page = text(client.get("/memberships"))
    assert "Paused (no hours asked)" in page and "0 hours of 0 hours" not in page
    post(client, f"/memberships/{membership.id}/resume", token_from="/memberships")
    membership = db_session.get(Membership, membership.id, populate_existing=True)
    assert membership.status == MembershipStatus.ACTIVE.value
    # Issue 21: the fee is not offered here, so "Switch to paying a fee" is not offered either
    # (it would take a card, then refuse), and the switch page is not there.
    assert "Switch to paying a fee" not in text(client.get("/memberships"))
    assert client.get(f"/memberships/{membership.id}/switch").status_code == 404
    response = post(client, f"/memberships/{membership.id}/switch", {}, token_from="/memberships")
    assert response.status_code == 404
    membership = db_session.get(Membership, membership.id, populate_existing=True)
    assert membership.pending_basis is None
    post(client, f"/memberships/{membership.id}/leave")
    membership = db_session.get(Membership, membership.id, populate_existing=True)
    assert membership.status == MembershipStatus.ENDED.value


def test_someone_elses_membership_is_404(app, db_session, org, reciprocity_offer):
    _, membership = join_by_reciprocity(db_session, org)
    stranger = signed_in(app, UserFactory())
    for path in ("time", "time/new", "leave"):
        assert stranger.get(f"/memberships/{membership.id}/{path}").status_code == 404
    for path in ("pause", "leave"):
        response = post(stranger, f"/memberships/{membership.id}/{path}", token_from="/memberships")
        assert response.status_code == 404
    membership = db_session.get(Membership, membership.id, populate_existing=True)
    assert membership.status == MembershipStatus.ACTIVE.value


# --- giving time back ---------------------------------------------------------------------------


def log_form(**overrides) -> dict:
    form = {
        "kind": "events",
        "recipient": "ulo",
        "given_on": date_parts(TODAY),
        "hours": "2",
        "minutes": "30",
        "description": "Helped at the open day",
    }
    form.update(overrides)
    return form


@pytest.mark.parametrize(
    ("overrides", "message", "field"),
    [
        ({"hours": "-2", "minutes": ""}, "Enter how long you gave, more than 0 minutes", "hours"),
        ({"hours": "100000"}, "One entry can be at most 24 hours; log each day", "hours"),
        ({"hours": "", "minutes": ""}, "Enter how long you gave, more than 0 minutes", "hours"),
        ({"minutes": "75"}, "Minutes must be between 0 and 59", "minutes"),
        (
            {"given_on": date_parts(TODAY + timedelta(days=3))},
            "The date cannot be in the future",
            "given_on",
        ),
        (
            {"given_on": date_parts(TODAY - timedelta(days=100))},
            "That month is closed",
            "given_on",
        ),
        (
            {"recipient": "request-999999"},
            "Choose the person you helped from the list",
            "recipient",
        ),
        # Issue 21: PA hours need the ULO's clearance, said beside the kind (not a 403).
        (
            {"kind": "occasional_pa"},
            "The organisation needs to clear you for this kind of task first",
            "kind",
        ),
    ],
)
def test_bad_time_shows_the_message_beside_the_field_and_saves_nothing(
    app, db_session, org, reciprocity_offer, overrides, message, field
):
    person, membership = join_by_reciprocity(db_session, org)
    client = signed_in(app, person)
    response = post(client, f"/memberships/{membership.id}/time/new", log_form(**overrides))
    assert response.status_code == 200
    page = text(response)
    assert message in page and f'id="{field}-error"' in page
    assert count(db_session, TimeLog) == 0


def test_log_confirm_and_standing(app, db_session, org, reciprocity_offer):
    giver, membership = join_by_reciprocity(db_session, org)
    helped, _ = join_by_reciprocity(db_session, org)
    stranger, _ = join_by_reciprocity(db_session, org)
    with app.app_context():  # the services email (with links) as they change things
        request = help_requests.post_request(
            db_session, helped, org, help_requests.HelpRequestData("A lift", TODAY, "events")
        )
        help_requests.accept_offer(
            db_session, helped, help_requests.offer_help(db_session, giver, request)
        )
        other = help_requests.post_request(
            db_session, stranger, org, help_requests.HelpRequestData("A lift", TODAY, "events")
        )
        db_session.commit()
    client = signed_in(app, giver)
    # Issue 21: no email address to type; the people listed are those matched with them.
    page = text(client.get(f"/memberships/{membership.id}/time/new"))
    assert "email" not in page.split("<main")[1].split("</main>")[0].lower()
    assert f"{helped.display_name}: help on" in page and stranger.display_name not in page
    # A request they were not matched through (or any made-up one): the same words either way.
    for choice in (f"request-{other.id}", "request-999999"):
        response = post(
            client, f"/memberships/{membership.id}/time/new", log_form(recipient=choice)
        )
        assert "Choose the person you helped from the list" in text(response)
    assert count(db_session, TimeLog) == 0
    response = post(
        client,
        f"/memberships/{membership.id}/time/new",
        log_form(recipient=f"request-{request.id}", hours="4", minutes="0"),
    )
    assert response.status_code == 302
    entry = db_session.scalars(select(TimeLog)).one()
    assert entry.status == LogStatus.LOGGED.value and entry.minutes == 240
    assert entry.recipient_id == helped.id
    assert "Waiting for confirmation" in text(client.get(f"/memberships/{membership.id}/time"))
    # The giver cannot confirm their own hours.
    post(client, f"/memberships/time/{entry.id}/confirm", token_from="/memberships")
    entry = db_session.get(TimeLog, entry.id, populate_existing=True)
    assert entry.status == LogStatus.LOGGED.value
    assert "You cannot confirm your own hours" in text(client.get("/memberships"))
    # A stranger: 404.
    outsider = signed_in(app, UserFactory())
    response = post(outsider, f"/memberships/time/{entry.id}/confirm", token_from="/memberships")
    assert response.status_code == 404
    # The person helped confirms.
    other_client = signed_in(app, helped)
    page = text(other_client.get("/memberships/confirmations"))
    assert giver.display_name in page and "4 hours" in page
    post(
        other_client,
        f"/memberships/time/{entry.id}/confirm",
        token_from="/memberships/confirmations",
    )
    entry = db_session.get(TimeLog, entry.id, populate_existing=True)
    assert entry.status == LogStatus.CONFIRMED.value
    page = text(client.get(f"/memberships/{membership.id}/time"))
    assert "On track" in page and "Confirmed" in page
    # Confirming the helper's hours completes the request they were logged for.
    request = db_session.get(HelpRequest, request.id, populate_existing=True)
    assert (request.status, request.time_log_id) == (HelpRequestStatus.DONE.value, entry.id)


def test_staff_confirm_time_given_to_the_ulo_and_forgive(
    app, db_session, staff, org, reciprocity_offer
):
    giver, membership = join_by_reciprocity(db_session, org)
    entry = reciprocity.log_time(db_session, giver, org, reciprocity.TimeGiven("events", TODAY, 5))
    # 5 minutes: less than any day's share of 4 hours, so the month is "so far" whatever today is.
    db_session.commit()
    client = signed_in(app, staff)
    dashboard = f"/organisations/{org.id}/membership/dashboard"
    assert "5 minutes" in text(client.get(dashboard))
    post(client, f"/memberships/time/{entry.id}/confirm", token_from=dashboard)
    entry = db_session.get(TimeLog, entry.id, populate_existing=True)
    assert entry.status == LogStatus.CONFIRMED.value
    page = text(client.get(f"/organisations/{org.id}/membership/members/{membership.id}"))
    now = reciprocity.standing(db_session, membership, TODAY)
    owed = charts.hours_text(now.commitment_minutes)
    # This month is still going: "so far", never "short" (issue 21).
    assert f"5 minutes of {owed}" in page and "Short of the hours" not in page
    assert f"5 minutes of {owed} so far, {now.days_left} day" in page
    month = TODAY.strftime("%Y-%m")
    post(
        client,
        f"/organisations/{org.id}/membership/members/{membership.id}/forgive",
        {"month": month},
        token_from=dashboard,
    )
    membership = db_session.get(Membership, membership.id, populate_existing=True)
    standing = reciprocity.standing(db_session, membership, TODAY)
    assert standing.standing.value == "forgiven"


def test_the_pages_say_so_far_and_days_left_never_short_while_the_month_runs(
    app, db_session, org, reciprocity_offer
):
    """Issue 21: "Short of the hours: 0 of 2" on the day someone joined, and on the 3rd."""
    person, membership = join_by_reciprocity(db_session, org)
    found = reciprocity.standing(db_session, membership, TODAY)
    assert found.days_left == month_end(TODAY).day - TODAY.day + 1
    client = signed_in(app, person)
    for path in ("/memberships", f"/memberships/{membership.id}/time"):
        page = text(client.get(path))
        assert "Short of the hours" not in page
        owed = charts.hours_text(found.commitment_minutes)
        assert f"0 hours of {owed} so far, {found.days_left} day" in page


# --- help requests ------------------------------------------------------------------------------


def test_help_request_flow(app, db_session, staff, org, reciprocity_offer):
    helper, membership = join_by_reciprocity(db_session, org)
    asker = UserFactory()  # not a member: anyone signed in may ask
    db_session.commit()
    asking = signed_in(app, asker)
    response = post(
        asking,
        f"/organisations/{org.id}/help/new",
        {"what": "", "kind": "occasional_pa", "needed_on": date_parts(TODAY - timedelta(days=1))},
    )
    page = text(response)
    assert 'id="what-error"' in page
    assert count(db_session, HelpRequest) == 0
    response = post(
        asking,
        f"/organisations/{org.id}/help/new",
        {
            "what": "Someone to come with me to a gym induction",
            "kind": "occasional_pa",
            "needed_on": date_parts(TODAY - timedelta(days=1)),
        },
    )
    assert "The date cannot be in the past" in text(response)
    assert 'id="needed_on-error"' in text(response)
    needed = TODAY + timedelta(days=2)
    response = post(
        asking,
        f"/organisations/{org.id}/help/new",
        {
            "what": "Someone to come with me to a gym induction",
            "kind": "occasional_pa",
            "needed_on": date_parts(needed),
            "place": "LS6",
        },
    )
    assert response.status_code == 302
    found = db_session.scalars(select(HelpRequest)).one()
    # A stranger cannot see it; the non-member asker cannot see the list.
    stranger = signed_in(app, UserFactory())
    assert stranger.get(f"/help/{found.id}").status_code == 404
    assert asking.get(f"/organisations/{org.id}/help").status_code == 403
    # The member sees it but is not cleared for PA work yet.
    helping = signed_in(app, helper)
    assert "gym induction" in text(helping.get(f"/organisations/{org.id}/help"))
    post(helping, f"/help/{found.id}/offer", token_from=f"/help/{found.id}")
    assert "needs to clear you" in text(helping.get(f"/help/{found.id}"))
    assert not found.offers
    # Staff clear them after a DBS check.
    staff_client = signed_in(app, staff)
    member_page = f"/organisations/{org.id}/membership/members/{membership.id}"
    response = post(staff_client, member_page, {"kind": "occasional_pa", "cleared": "yes"})
    assert response.status_code == 302
    assert clearance.is_cleared(db_session, org.id, helper.id, "occasional_pa")
    post(helping, f"/help/{found.id}/offer", token_from=f"/help/{found.id}")
    found = db_session.get(HelpRequest, found.id, populate_existing=True)
    (offer,) = found.offers
    # Only the asker can accept.
    response = post(helping, f"/help/offers/{offer.id}/accept", token_from=f"/help/{found.id}")
    assert response.status_code == 404
    assert f"Accept {helper.display_name}" in text(asking.get(f"/help/{found.id}"))
    post(asking, f"/help/offers/{offer.id}/accept", token_from=f"/help/{found.id}")
    found = db_session.get(HelpRequest, found.id, populate_existing=True)
    assert found.status == HelpRequestStatus.ACCEPTED.value
    # Completing: bad hours beside the field, then the real ones.
    response = post(
        asking,
        f"/help/{found.id}/complete",
        {"given_on": date_parts(TODAY), "hours": "30", "minutes": "0"},
        token_from=f"/help/{found.id}",
    )
    assert 'id="hours-error"' in text(response)
    assert count(db_session, TimeLog) == 0
    post(
        asking,
        f"/help/{found.id}/complete",
        {"given_on": date_parts(TODAY), "hours": "1", "minutes": "45"},
        token_from=f"/help/{found.id}",
    )
    found = db_session.get(HelpRequest, found.id, populate_existing=True)
    assert found.status == HelpRequestStatus.DONE.value
    entry = db_session.scalars(select(TimeLog)).one()
    assert entry.status == LogStatus.CONFIRMED.value and entry.giver_id == helper.id
    assert entry.minutes == 105
    assert "1 hour 45 minutes" in text(helping.get(f"/memberships/{membership.id}/time"))


def test_a_help_request_is_arranged_in_the_site(app, db_session, mailbox, org, reciprocity_offer):
    """Issue 21, item 8: each sentence the pages say about emails and the thread is true."""
    helper, membership = join_by_reciprocity(db_session, org)
    asker = UserFactory()
    db_session.commit()
    asking = signed_in(app, asker)
    page = text(asking.get(f"/organisations/{org.id}/help/new"))
    assert "We email the members who give their time back and can take on this kind" in page
    form = {"what": "Come with me to the bank", "kind": "buddy", "needed_on": date_parts(TODAY)}
    response = post(asking, f"/organisations/{org.id}/help/new", form)
    page = text(asking.get(response.headers["Location"]))
    assert "We have emailed the members who can help with it" in page
    found = db_session.scalars(select(HelpRequest)).one()
    mailbox.last_to(helper.email, help_notices.NEW_REQUEST)
    assert "we will email you when someone offers" in page
    assert "No offers yet. We will email you when someone offers to help." in page

    helping = signed_in(app, helper)
    response = post(helping, f"/help/{found.id}/offer", token_from=f"/help/{found.id}")
    page = text(helping.get(response.headers["Location"]))
    assert "We have emailed the person who asked, and we will email you when they answer" in page
    mailbox.last_to(asker.email, help_notices.NEW_OFFER)
    assert "The person who asked will let you know" not in page

    (offer,) = db_session.get(HelpRequest, found.id, populate_existing=True).offers
    response = post(asking, f"/help/offers/{offer.id}/accept", token_from=f"/help/{found.id}")
    page = text(asking.get(response.headers["Location"]))
    assert f"We have emailed {helper.display_name}" in page
    mailbox.last_to(helper.email, help_notices.ACCEPTED)
    assert "You can now send each other messages here" in page and 'id="thread"' in page
    assert "Only the two of you can read these." in page

    # The thread: escaped, emailed without its words, reportable, with crisis signposting.
    response = post(
        asking,
        f"/help/{found.id}/messages",
        {"body": "<b>Meet</b> at the bank?"},
        token_from=f"/help/{found.id}",
    )
    assert response.status_code == 302
    email = mailbox.last_to(helper.email, help_notices.NEW_MESSAGE)
    assert "bank" not in email.get_payload(decode=True).decode()
    page = text(helping.get(f"/help/{found.id}"))
    assert "&lt;b&gt;Meet&lt;/b&gt; at the bank?" in page and "<b>Meet</b>" not in page
    message = db_session.scalars(select(HelpMessage)).one()
    assert f"/report/help_message/{message.id}" in page
    assert helping.get(f"/report/help_message/{message.id}").status_code == 200
    outsider = signed_in(app, join_by_reciprocity(db_session, org)[0])
    assert outsider.get(f"/report/help_message/{message.id}").status_code == 404
    assert "Meet" not in text(outsider.get(f"/help/{found.id}"))
    response = post(
        helping,
        f"/help/{found.id}/messages",
        {"body": "Sorry, I want to kill myself today"},
        token_from=f"/help/{found.id}",
    )
    assert "If you need help now" in text(helping.get(response.headers["Location"]))
    response = post(helping, f"/help/{found.id}/messages", {"body": ""})
    assert 'id="body-error"' in text(response)

    # Contact details only by choice.
    assert asker.email not in text(helping.get(f"/help/{found.id}"))
    page = text(asking.get(f"/help/{found.id}"))
    assert f"Share my email address with {helper.display_name}" in page
    assert f"Your email address is not shown to {helper.display_name} unless you choose" in page
    post(asking, f"/help/{found.id}/share-email", {"share": "yes"}, token_from=f"/help/{found.id}")
    assert asker.email in text(helping.get(f"/help/{found.id}"))
    post(asking, f"/help/{found.id}/share-email", {"share": "no"}, token_from=f"/help/{found.id}")
    assert asker.email not in text(helping.get(f"/help/{found.id}"))

    # The helper logs the time from the request; the person helped confirms it there.
    page = text(helping.get(f"/help/{found.id}"))
    assert f"{asker.display_name} will be asked to confirm it" in page
    link = f"/memberships/{membership.id}/time/new?request={found.id}"
    assert link in page.replace("&amp;", "&")
    page = text(helping.get(link))
    assert f'value="request-{found.id}" checked' in page
    assert "The people listed are those whose request for help you took on here." in page
    response = post(
        helping,
        link,
        log_form(kind="buddy", recipient=f"request-{found.id}", hours="1", minutes="0"),
    )
    assert response.status_code == 302
    page = text(asking.get(f"/help/{found.id}"))
    assert f"{helper.display_name} says they gave 1 hour on" in page
    # "... will be asked to confirm it": the person helped is emailed.
    mailbox.last_to(asker.email, "Please confirm hours given")
    entry = db_session.scalars(select(TimeLog)).one()
    response = post(asking, f"/memberships/time/{entry.id}/confirm", token_from=f"/help/{found.id}")
    assert response.headers["Location"].endswith(f"/help/{found.id}")
    found = db_session.get(HelpRequest, found.id, populate_existing=True)
    assert found.status == HelpRequestStatus.DONE.value
    assert db_session.get(TimeLog, entry.id, populate_existing=True).status == "confirmed"
    # "It then counts as their time given back."
    assert reciprocity.confirmed_minutes(db_session, membership.id, TODAY) == 60


def test_asking_where_nobody_can_take_it_and_cancelling_say_what_happens(
    app, db_session, mailbox, org, reciprocity_offer
):
    helper, membership = join_by_reciprocity(db_session, org)
    asker = UserFactory()
    db_session.commit()
    asking = signed_in(app, asker)
    # PA work and nobody cleared for it: the page says so, and nobody is emailed.
    form = {"what": "Help with my shower", "kind": "occasional_pa", "needed_on": date_parts(TODAY)}
    response = post(asking, f"/organisations/{org.id}/help/new", form)
    page = text(asking.get(response.headers["Location"]))
    assert "No member can take this kind of task at the moment" in page
    assert not [m for m in mailbox.messages if m["To"] == helper.email]
    # A log-time page with nobody matched yet says how people come to be listed.
    page = text(signed_in(app, helper).get(f"/memberships/{membership.id}/time/new"))
    assert "take on their request for help first: they are then listed here" in page
    # Cancelling after an offer: "We have emailed the people who offered to help".
    form["kind"] = "buddy"
    response = post(asking, f"/organisations/{org.id}/help/new", form)
    found = db_session.scalars(select(HelpRequest).where(HelpRequest.kind == "buddy")).one()
    post(signed_in(app, helper), f"/help/{found.id}/offer", token_from=f"/help/{found.id}")
    response = post(asking, f"/help/{found.id}/cancel", token_from=f"/help/{found.id}")
    page = text(asking.get(response.headers["Location"]))
    assert "Your request is cancelled. We have emailed the people who offered to help" in page
    mailbox.last_to(helper.email, help_notices.CANCELLED)


# --- the dashboard ------------------------------------------------------------------------------


def test_dashboard_and_csv_for_own_ulo_only(app, db_session, staff, org, other_ulo):
    services.set_offer(db_session, staff, org, OfferData(None, 240, KINDS))
    db_session.commit()
    giver, membership = join_by_reciprocity(db_session, org)
    entry = reciprocity.log_time(
        db_session, giver, org, reciprocity.TimeGiven("events", TODAY, 150)
    )
    reciprocity.confirm(db_session, staff, entry)
    db_session.commit()
    client = signed_in(app, staff)
    response = client.get(f"/organisations/{org.id}/membership/dashboard")
    assert response.status_code == 200
    page = text(response)
    assert "<svg" in page and '<title id="hours-chart-title">' in page
    assert f"{TODAY:%B %Y}: 2h 30m" in page  # the chart's text alternative
    assert "2 hours 30 minutes" in page  # the figures in the table
    assert giver.display_name in page
    assert "<script" not in page.split("</main>")[0].split("<main")[-1]
    response = client.get(f"/organisations/{org.id}/membership/members.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.mimetype == "text/csv"
    assert giver.display_name in text(response) and "2:30" in text(response)
    other = signed_in(app, other_ulo[0])
    for path in ("dashboard", "members.csv", f"members/{membership.id}"):
        assert other.get(f"/organisations/{org.id}/membership/{path}").status_code == 403
    # Staff of the other ULO reaching this member through their own ULO's address: 404.
    other_org = other_ulo[1]
    assert (
        other.get(f"/organisations/{other_org.id}/membership/members/{membership.id}").status_code
        == 404
    )
    member = signed_in(app, giver)
    assert member.get(f"/organisations/{org.id}/membership/dashboard").status_code == 403
