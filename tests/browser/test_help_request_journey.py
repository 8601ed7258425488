"""A help request arranged in the site, end to end in Chromium (issue 21): Cas, who is not a
member, asks Kirklees Together for someone to come with her to a gym induction (occasional PA
work, so only cleared members may take it). Ben, cleared, is emailed and offers; Una, not
cleared, is not emailed. Cas is emailed, accepts, and the two talk in the request's private
thread; Ben logs the time he gave from the request and Cas confirms it there. Every page is
checked with axe and at 320 CSS pixels wide.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest
from playwright.sync_api import Page, expect

from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.memberships import clearance, help_notices, services
from marketplace.memberships.services import OfferData
from marketplace.organisations.models import ApprovalStatus, OrganisationKind
from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.steps import sign_in, sign_out
from tests.conftest import Mailbox
from tests.factories import OrganisationFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.browser

BEN = "Ben Helper"
CAS = "Cas Asker"
WHAT = "Someone to come with me to a gym induction"
SHOTS = Path(os.environ.get("JOURNEY_SHOTS", "/tmp/journey-shots"))


@dataclass(frozen=True)
class Cast:
    org: int
    name: str
    ben_email: str
    una_email: str
    cas_email: str


def set_the_scene(live_server: LiveServer) -> Cast:
    suffix = uuid4().hex[:8]
    with live_server.app.app_context():
        org = OrganisationFactory(
            name=f"Kirklees Together {suffix}",
            kind=OrganisationKind.ULO.value,
            status=ApprovalStatus.APPROVED.value,
        )
        staff = UserFactory(email=f"kt-{suffix}@example.org", roles=["ulo_staff"])
        StaffFactory(organisation=org, user=staff)
        services.set_offer(db.session, staff, org, OfferData(None, 240, ("buddy", "occasional_pa")))
        ben = UserFactory(email=f"ben-{suffix}@example.org", display_name=BEN)
        services.join(db.session, ben, org, "reciprocity")
        clearance.set_clearance(db.session, staff, org, ben, "occasional_pa")
        una = UserFactory(email=f"una-{suffix}@example.org", display_name="Una Member")
        services.join(db.session, una, org, "reciprocity")
        UserFactory(email=f"cas-{suffix}@example.org", display_name=CAS)
        db.session.commit()
        cast = Cast(org.id, org.name, ben.email, una.email, f"cas-{suffix}@example.org")
        db.scoped.remove()
    return cast


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"help-{name}.png"), full_page=True)


def fill_date(page: Page, legend: str, day) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def link_in(mailbox: Mailbox, to: str, subject: str) -> str:
    body = mailbox.last_to(to, subject).get_payload(decode=True).decode()
    assert WHAT not in body  # nothing the request says is ever in an email
    found = re.search(r"https?://\S+/help/\d+", body)
    assert found, body
    return found.group(0)


def test_a_help_request_from_posting_to_confirmed_hours(
    page: Page, live_server: LiveServer, mailbox: Mailbox
) -> None:
    cast = set_the_scene(live_server)
    today = utcnow().date()

    # Cas asks for help.
    goto_and_check(page, "/")
    sign_in(page, cast.cas_email)
    goto_and_check(page, f"/organisations/{cast.org}/membership")
    page.get_by_role("link", name="Ask for help").click()
    check_current(page)
    page.get_by_label("What do you need help with?").fill(WHAT)
    page.get_by_label("Occasional PA for another budget holder").check()
    fill_date(page, "When do you need it?", today)
    submit_and_check(page, "Ask for help")
    expect(page.get_by_text("We have emailed the members who can help with it")).to_be_visible()
    shot(page, "1-posted")
    request_url = link_in(mailbox, cast.ben_email, help_notices.NEW_REQUEST)
    assert not [m for m in mailbox.messages if m["To"] == cast.una_email]  # not cleared
    sign_out(page)

    # Ben follows the email's link and offers.
    sign_in(page, cast.ben_email)
    goto_and_check(page, request_url)
    submit_and_check(page, "Offer to help")
    expect(
        page.get_by_text("We have emailed the person who asked, and we will email you when")
    ).to_be_visible()
    link_in(mailbox, cast.cas_email, help_notices.NEW_OFFER)
    sign_out(page)

    # Cas accepts and writes to Ben in the thread.
    sign_in(page, cast.cas_email)
    goto_and_check(page, request_url)
    submit_and_check(page, f"Accept {BEN}")
    expect(page.get_by_text(f"Accepted. We have emailed {BEN}")).to_be_visible()
    link_in(mailbox, cast.ben_email, help_notices.ACCEPTED)
    page.get_by_label("Your message").fill("Shall we meet at the gym door at 10?")
    submit_and_check(page, "Send message")
    expect(page.locator("#latest")).to_contain_text("Shall we meet at the gym door at 10?")
    submit_and_check(page, f"Share my email address with {BEN}")
    expect(page.get_by_text("Your email address is shared with them")).to_be_visible()
    shot(page, "2-thread")
    sign_out(page)

    # Ben reads it (emailed without the words), answers, and logs his time from the request.
    link_in(mailbox, cast.ben_email, help_notices.NEW_MESSAGE)
    sign_in(page, cast.ben_email)
    goto_and_check(page, request_url)
    expect(page.locator("#their-email")).to_contain_text(cast.cas_email)
    expect(page.get_by_text("Shall we meet at the gym door at 10?")).to_be_visible()
    page.get_by_label("Your message").fill("Yes, see you there")
    submit_and_check(page, "Send message")
    shot(page, "3-helper")
    page.get_by_role("button", name="Log the time you gave").click()
    check_current(page)
    expect(page.get_by_role("radio", name=re.compile(f"{CAS}: help on"))).to_be_checked()
    fill_date(page, "When did you give it?", today)
    group = page.get_by_role("group", name="How long?")
    group.get_by_label("Hours").fill("1")
    group.get_by_label("Minutes").fill("30")
    submit_and_check(page, "Log the time")
    expect(page.get_by_text("Time logged. It counts once it is confirmed")).to_be_visible()
    sign_out(page)

    # Cas confirms the hours on the request; it is done, and they count for Ben.
    sign_in(page, cast.cas_email)
    goto_and_check(page, request_url)
    expect(page.locator("#pending-hours")).to_contain_text(f"{BEN} says they gave 1 hour 30")
    submit_and_check(page, "Confirm the hours")
    expect(page.get_by_text("Thank you. The hours are confirmed")).to_be_visible()
    expect(page.locator("#request-status")).to_contain_text("Done")
    shot(page, "4-done")
    sign_out(page)
