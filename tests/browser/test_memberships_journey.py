"""ULO memberships end to end in Chromium, every page checked by axe, with a real card.

Ada joins Leeds Voice by paying its £7 fee (her card saved and charged through localstripe) and
joins Bradford Together by giving time back. Cas, who is not a member, asks Bradford Together
for someone to come with her to a gym induction; Ben, a member cleared for PA-type work, offers;
Cas accepts and afterwards confirms the time he gave; Bradford Together's staff see it on their
dashboard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import uuid4

import pyotp
import pytest
from playwright.sync_api import Page, expect

from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.memberships import billing, clearance, services
from marketplace.memberships.services import OfferData
from marketplace.organisations.models import ApprovalStatus, OrganisationKind
from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.steps import sign_in, sign_out
from tests.factories import OrganisationFactory, StaffFactory, UserFactory
from tests.helpers import totp_code

pytestmark = pytest.mark.browser

CARD = "4242 4242 4242 4242"
BEN = "Ben Helper"


@dataclass(frozen=True)
class Cast:
    fee_org: int
    fee_name: str
    time_org: int
    time_name: str
    ada_email: str
    ben_email: str
    cas_email: str
    staff_email: str
    staff_secret: str


def ulo(name: str, staff_email: str, secret: str | None = None):
    org = OrganisationFactory(
        name=name, kind=OrganisationKind.ULO.value, status=ApprovalStatus.APPROVED.value
    )
    extra = {"totp_secret": secret, "totp_enabled_at": utcnow()} if secret else {}
    staff = UserFactory(email=staff_email, roles=["ulo_staff"], **extra)
    StaffFactory(organisation=org, user=staff)
    return staff, org


def set_the_scene(live_server: LiveServer) -> Cast:
    """Two ULOs with offers, Ben a cleared reciprocity member of the second, Ada and Cas."""
    suffix = uuid4().hex[:8]
    secret = pyotp.random_base32()
    with live_server.app.app_context():
        fee_staff, fee_org = ulo(f"Leeds Voice {suffix}", f"lv-{suffix}@example.org")
        time_staff, time_org = ulo(
            f"Bradford Together {suffix}", f"bt-{suffix}@example.org", secret
        )
        billing.set_offer(db.session, fee_staff, fee_org, OfferData(700, None, ()))
        services.set_offer(
            db.session, time_staff, time_org, OfferData(None, 240, ("buddy", "occasional_pa"))
        )
        ben = UserFactory(email=f"ben-{suffix}@example.org", display_name=BEN)
        services.join(db.session, ben, time_org, "reciprocity")
        clearance.set_clearance(db.session, time_staff, time_org, ben, "occasional_pa")
        UserFactory(email=f"ada-{suffix}@example.org", display_name="Ada Member")
        UserFactory(email=f"cas-{suffix}@example.org", display_name="Cas Asker")
        db.session.commit()
        cast = Cast(
            fee_org=fee_org.id,
            fee_name=fee_org.name,
            time_org=time_org.id,
            time_name=time_org.name,
            ada_email=f"ada-{suffix}@example.org",
            ben_email=f"ben-{suffix}@example.org",
            cas_email=f"cas-{suffix}@example.org",
            staff_email=time_staff.email,
            staff_secret=secret,
        )
        db.scoped.remove()
    return cast


def heading(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def start_joining(page: Page, org_id: int, name: str, basis: str) -> None:
    goto_and_check(page, f"/organisations/{org_id}/membership")
    heading(page, f"Membership of {name}")
    page.get_by_role("button", name=f"Join {name}").click()
    check_current(page)
    heading(page, f"Join {name}")
    page.get_by_role("radio", name=re.compile(basis)).check()
    submit_and_check(page, "Continue")
    heading(page, "Check your answers before joining")
    expect(page).to_have_title(f"Check your answers before joining {name} – Budget Marketplace")


def fill_date(page: Page, legend: str, day) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def test_memberships_journey(page: Page, live_server: LiveServer, live_stripe: str) -> None:
    cast = set_the_scene(live_server)
    today = utcnow().date()

    # Ada joins Leeds Voice by paying the fee.
    goto_and_check(page, "/")
    sign_in(page, cast.ada_email)
    start_joining(page, cast.fee_org, cast.fee_name, "Pay a monthly fee")
    expect(page.get_by_text("£7 a month", exact=True)).to_be_visible()
    submit_and_check(page, "Agree and add a card")
    heading(page, "Add a card")
    page.get_by_label("Card number").fill(CARD)
    page.get_by_label("Expiry month").fill("12")
    page.get_by_label("Expiry year").fill(str(today.year + 4))
    page.get_by_label("Security code").fill("123")
    submit_and_check(page, "Save card and join")
    expect(page).to_have_url(re.compile(r"/memberships$"))
    expect(page.get_by_text(f"You are now a member of {cast.fee_name}")).to_be_visible()

    # ...and Bradford Together by giving time back.
    start_joining(page, cast.time_org, cast.time_name, "Give time back")
    expect(page.get_by_text("Pause at any time", exact=False)).to_be_visible()
    submit_and_check(page, "Agree and join")
    expect(page.get_by_text(f"You are now a member of {cast.time_name}")).to_be_visible()
    expect(page.get_by_text("Giving 4 hours a month")).to_be_visible()
    sign_out(page)

    # Cas, not a member, asks Bradford Together for help.
    sign_in(page, cast.cas_email)
    goto_and_check(page, f"/organisations/{cast.time_org}/membership")
    page.get_by_role("link", name="Ask for help").click()
    check_current(page)
    heading(page, f"Ask {cast.time_name} for help")
    page.get_by_label("What do you need help with?").fill(
        "Someone to come with me to a gym induction"
    )
    page.get_by_label("Occasional PA for another budget holder").check()
    fill_date(page, "When do you need it?", today)
    submit_and_check(page, "Ask for help")
    heading(page, "Request for help")
    request_url = page.url
    sign_out(page)

    # Ben, cleared for PA-type work, offers to take it.
    sign_in(page, cast.ben_email)
    goto_and_check(page, f"/organisations/{cast.time_org}/help")
    page.get_by_role("link", name="Someone to come with me to a gym induction").click()
    check_current(page)
    submit_and_check(page, "Offer to help")
    expect(page.get_by_text("We have emailed the person who asked")).to_be_visible()
    sign_out(page)

    # Cas accepts, and afterwards confirms the time in one step.
    sign_in(page, cast.cas_email)
    goto_and_check(page, request_url)
    submit_and_check(page, f"Accept {BEN}")
    expect(page.locator("#request-status")).to_contain_text(f"Someone is helping: {BEN}")
    fill_date(page, "When did they help?", today)
    group = page.get_by_role("group", name="How long did it take?")
    group.get_by_label("Hours").fill("1")
    group.get_by_label("Minutes").fill("30")
    submit_and_check(page, "Confirm the help given")
    expect(page.get_by_text("The hours are logged and confirmed")).to_be_visible()
    sign_out(page)

    # Bradford Together's staff see Ben's hours on their dashboard.
    sign_in(page, cast.staff_email)
    page.get_by_label("Code from your authenticator app").fill(totp_code(cast.staff_secret))
    submit_and_check(page, "Continue")
    goto_and_check(page, f"/organisations/{cast.time_org}/membership/dashboard")
    heading(page, "Members dashboard")
    expect(page.locator("#hours-table")).to_contain_text("1 hour 30 minutes")
    expect(page.locator("#members")).to_contain_text(BEN)
    expect(page.locator("#members")).to_contain_text("Ada Member")
    expect(page.locator("svg title#hours-chart-title")).to_have_text("Hours given each month")
