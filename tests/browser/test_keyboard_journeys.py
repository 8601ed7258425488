"""Journeys done with the keyboard alone (issue 24): Tab, Shift+Tab, arrow keys, Enter and Space,
never a click, with focus checked at each step and every page checked by axe and for reflow.
Each journey uses the skip link once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import uuid4

import pyotp
import pytest
from playwright.sync_api import Page, expect

from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.organisations.models import ApprovalStatus, OrganisationKind, StaffRole
from marketplace.providers import services as listings
from marketplace.providers.indexing import rebuild_from_database
from marketplace.providers.models import ListingStatus
from tests.browser.conftest import PASSWORD, LiveServer, check_current, goto_and_check
from tests.browser.keyboard import (
    choose,
    follow,
    shift_tab_to,
    skip_to_main,
    tab_to,
    type_into,
)
from tests.browser.scene import approved_ulo, leeds, ulo_moderator
from tests.browser.steps import emailed_link
from tests.browser.test_break_journey import BEA
from tests.browser.test_break_journey import set_the_scene as robin_with_buddy_pool_and_ulo
from tests.conftest import Mailbox
from tests.factories import PASSWORD as ACCOUNT_PASSWORD
from tests.factories import OrganisationFactory, StaffFactory, UserFactory
from tests.listing_helpers import listing_data
from tests.pools.builders import approved_pool

pytestmark = pytest.mark.browser


def menu_link(page: Page, name: str):
    return page.get_by_role("navigation", name="Menu").get_by_role("link", name=name, exact=True)


def sign_in(page: Page, email: str) -> None:
    """Sign in from the menu, with the keyboard: Enter in the password box sends the form."""
    goto_and_check(page, "/")
    tab_to(page, menu_link(page, "Sign in"))
    follow(page)
    type_into(page, page.get_by_label("Email address"), email)
    type_into(page, page.get_by_label("Password", exact=True), ACCOUNT_PASSWORD)
    follow(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")


def expect_confirmed(page: Page, message: str) -> None:
    """A success banner that has focus, and a title that starts with what it says."""
    expect(page.get_by_role("alert").filter(has_text=message)).to_be_focused()
    expect(page).to_have_title(re.compile("^" + re.escape(message) + " – "))


# --- Scenes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Directory:
    service: str
    listing_id: int
    holder_email: str


def a_published_service(live_server: LiveServer) -> Directory:
    """A provider (with a long email address) whose Leeds group is published and indexed."""
    suffix = uuid4().hex[:8]
    service = f"Keyboard friendly peer group {suffix}"
    holder_email = f"kb-holder-{suffix}@example.org"
    with live_server.app.app_context():
        council = leeds()
        provider = OrganisationFactory(
            name=f"Peer Support Collective {suffix}",
            kind=OrganisationKind.PROVIDER.value,
            status=ApprovalStatus.APPROVED.value,
            public_email=f"hello.and.welcome.to.our.peer.support.collective.{suffix}@example.org",
        )
        provider.councils.append(council)
        staff = UserFactory(roles=["provider_staff"])
        StaffFactory(organisation=provider, user=staff, role=StaffRole.OWNER.value)
        data = listing_data(db.session, council, name=service, postcode="LS1 1UR")
        listing = listings.create_listing(db.session, staff, provider, data)
        listing.status = ListingStatus.PUBLISHED.value
        UserFactory(email=holder_email, display_name="Kit Keyboard")
        db.session.commit()
        listing_id = listing.id
        rebuild_from_database()
        db.scoped.remove()
    return Directory(service=service, listing_id=listing_id, holder_email=holder_email)


def an_open_pool(live_server: LiveServer) -> tuple[str, str]:
    """An approved pool in Leeds, and a holder who has not joined it: (title, email)."""
    suffix = uuid4().hex[:8]
    title = f"Keyboard art group {suffix}"
    email = f"kb-joiner-{suffix}@example.org"
    with live_server.app.app_context():
        council = leeds()
        ulo = approved_ulo(f"Leeds Keys Network {suffix}", council)
        moderator = ulo_moderator(
            ulo, f"kb-moderator-{suffix}@example.org", pyotp.random_base32(), "Mo Moderator"
        )
        approved_pool(db.session, council, moderator, title=title)
        UserFactory(email=email, display_name="Jo Joiner")
        db.session.commit()
        db.scoped.remove()
    return title, email


# --- Journeys -------------------------------------------------------------------------------


def test_search_from_a_postcode_and_open_a_result(page: Page, live_server: LiveServer) -> None:
    found = a_published_service(live_server)
    goto_and_check(page, "/")
    tab_to(page, menu_link(page, "Find services"))
    follow(page)
    expect(page).to_have_url(re.compile(r"/services$"))

    skip_to_main(page)
    type_into(page, page.get_by_label("Search for a service"), "keyboard friendly")
    type_into(page, page.get_by_label("Near a postcode (optional)"), "LS1 3AD")
    follow(page)  # Enter in a text box sends the search
    expect(page).to_have_url(re.compile(r"postcode=LS1\+3AD"))
    expect(page).to_have_title(re.compile(r"^‘keyboard friendly’: \d+ services? found – "))

    result = page.get_by_role("link", name=found.service, exact=True)
    tab_to(page, result)
    follow(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(found.service)
    expect(page).to_have_title(f"{found.service} – Budget Marketplace")


def test_register_with_an_error(page: Page, mailbox: Mailbox) -> None:
    goto_and_check(page, "/register")
    skip_to_main(page)
    tab_to(page, page.get_by_role("button", name="Create account"))
    follow(page)

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Error: Create an account"))
    # The summary's first link takes focus to the field it names.
    tab_to(page, summary.get_by_role("link", name="Enter a display name"))
    page.keyboard.press("Enter")
    expect(page.get_by_label("Display name")).to_be_focused()
    page.keyboard.type("Kai Keys")

    type_into(page, page.get_by_label("Email address"), f"kb-{uuid4().hex[:12]}@example.com")
    type_into(page, page.get_by_label("Create a password"), PASSWORD)
    type_into(page, page.get_by_label("Type your password again"), PASSWORD + " typo")
    choose(page, page.get_by_label("I have a personal budget or direct payment"))
    tab_to(page, page.get_by_role("button", name="Create account"))
    follow(page)

    # Only the confirmation is wrong: it is cleared, the first password is kept.
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    expect(page.locator("#confirm_password-error")).to_contain_text("The passwords do not match")
    expect(page.get_by_label("Create a password")).to_have_value(PASSWORD)
    expect(page.get_by_label("Type your password again")).to_have_value("")
    type_into(page, page.get_by_label("Type your password again"), PASSWORD)
    # Back up to check the name is still there, then on to the button.
    shift_tab_to(page, page.get_by_label("Display name"))
    expect(page.get_by_label("Display name")).to_have_value("Kai Keys")
    email = page.get_by_label("Email address").input_value()
    tab_to(page, page.get_by_role("button", name="Create account"))
    follow(page)
    expect(page).to_have_title(re.compile(r"^Check your email to create your account"))
    # The emailed link asks first; its button opens the account.
    goto_and_check(page, emailed_link(mailbox, email))
    tab_to(page, page.get_by_role("button", name="Create my account"))
    follow(page)
    expect(page).to_have_url(re.compile(r"/account$"))
    expect_confirmed(page, "Your account has been created")


def test_join_a_pool_to_its_check_page(page: Page, live_server: LiveServer) -> None:
    title, email = an_open_pool(live_server)
    sign_in(page, email)
    tab_to(page, menu_link(page, "Pools"))
    follow(page)
    tab_to(page, page.get_by_role("link", name=title, exact=True))
    follow(page)

    skip_to_main(page)
    join = page.get_by_role("button", name="Join this pool")  # a link that acts as a button
    tab_to(page, join)
    follow(page, "Space")
    expect(page).to_have_url(re.compile(r"/pools/\d+/join$"))
    type_into(page, page.get_by_label("The most you will pay a month, in pounds"), "40")
    choose(page, page.get_by_label("From my managed account (we send an invoice)"))
    type_into(page, page.get_by_label("Who should the invoice go to? (not for card)"), "Leeds DP")
    type_into(
        page,
        page.get_by_label("Their email address for invoices (not for card)"),
        "invoices@leeds-dp.example",
    )
    tab_to(page, page.get_by_role("button", name="Continue"))
    follow(page)

    expect(page).to_have_url(re.compile(r"/pools/\d+/join/check$"))
    expect(page).to_have_title(f"Check your answers before joining {title} – Budget Marketplace")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers before joining")


def test_take_a_break(page: Page, live_server: LiveServer) -> None:
    cast = robin_with_buddy_pool_and_ulo(live_server)
    sign_in(page, cast.holder_email)
    tab_to(page, menu_link(page, "Take a break"))
    follow(page)
    expect(page).to_have_url(re.compile(r"/break$"))

    skip_to_main(page)
    choose(page, page.get_by_label("A month"))
    tab_to(page, page.get_by_role("button", name="Continue"))
    follow(page)
    expect(page).to_have_url(re.compile(r"/break/check\?length=month$"))
    expect(page).to_have_title(re.compile(r"^Check what will happen – "))

    tab_to(page, page.get_by_role("button", name="Start my break"))
    follow(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your break has started")


def test_send_a_buddy_message(page: Page, live_server: LiveServer) -> None:
    cast = robin_with_buddy_pool_and_ulo(live_server)
    sign_in(page, cast.holder_email)
    tab_to(page, menu_link(page, "Budget buddies"))
    follow(page)
    tab_to(page, page.get_by_role("table", name="Your pairings").get_by_role("link", name=BEA))
    follow(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(BEA)

    skip_to_main(page)
    type_into(page, page.get_by_label("Your message"), "Hello from the keyboard")
    tab_to(page, page.get_by_role("button", name="Send message"))
    follow(page)
    expect(page).to_have_url(re.compile(r"#latest$"))
    expect_confirmed(page, "Message sent")


def test_answer_a_buddy_question_page_and_go_back(page: Page, live_server: LiveServer) -> None:
    cast = robin_with_buddy_pool_and_ulo(live_server)
    sign_in(page, cast.holder_email)
    tab_to(page, menu_link(page, "Budget buddies"))
    follow(page)
    tab_to(page, page.get_by_role("button", name="Ask for a buddy"))  # a link that acts as one
    follow(page, "Space")
    expect(page).to_have_url(re.compile(r"/buddies/ask/help$"))

    skip_to_main(page)
    question = page.get_by_role("group", name="What would you like help with?")
    ideas = question.get_by_label("Ideas for using the budget")
    tab_to(page, ideas)
    page.keyboard.press("Space")
    expect(ideas).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Continue"))
    follow(page)
    expect(page).to_have_url(re.compile(r"/buddies/ask/council$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Which council gives you your budget?"
    )

    shift_tab_to(page, page.get_by_role("link", name="Back"))
    follow(page)
    expect(page).to_have_url(re.compile(r"/buddies/ask/help$"))
    expect(page.get_by_label("Ideas for using the budget")).to_be_checked()  # the answer is kept


def test_log_time_for_a_membership(page: Page, live_server: LiveServer) -> None:
    cast = robin_with_buddy_pool_and_ulo(live_server)
    sign_in(page, cast.holder_email)
    goto_and_check(page, "/memberships")
    skip_to_main(page)
    tab_to(page, page.get_by_role("link", name=f"Time you have given to {cast.ulo_name}"))
    follow(page)
    log = page.get_by_role("button", name="Log time you gave")
    tab_to(page, log)
    follow(page, "Space")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log time you gave")

    choose(page, page.get_by_label("Helping at events"))
    today = utcnow().date()
    when = page.get_by_role("group", name="When did you give it?")
    type_into(page, when.get_by_label("Day"), str(today.day))
    type_into(page, when.get_by_label("Month"), str(today.month))
    type_into(page, when.get_by_label("Year"), str(today.year))
    type_into(page, page.get_by_label("Hours", exact=True), "1")
    type_into(page, page.get_by_label("Minutes", exact=True), "30")
    tab_to(page, page.get_by_role("button", name="Log the time"))
    follow(page)
    expect_confirmed(page, "Time logged. It counts once it is confirmed")


def test_report_something(page: Page, live_server: LiveServer) -> None:
    found = a_published_service(live_server)
    sign_in(page, found.holder_email)
    goto_and_check(page, f"/services/{found.listing_id}")
    skip_to_main(page)
    tab_to(page, page.get_by_role("link", name="Report this listing"))
    follow(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Report")

    choose(page, page.get_by_label("False or misleading"))
    type_into(page, page.get_by_label("Tell us more (optional)"), "The times are wrong.")
    tab_to(page, page.get_by_role("button", name="Send report"))
    follow(page)
    expect_confirmed(page, "Thank you. A moderator will look at your report")
    check_current(page)
