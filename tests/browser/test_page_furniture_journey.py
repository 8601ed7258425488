"""After the skip link, an error summary and a success banner still take focus (issue 24 item 1):
the skip link leaves #main-content in the address, and forms used to post back to it."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, check_current, goto_and_check
from tests.browser.steps import emailed_link
from tests.conftest import Mailbox

pytestmark = pytest.mark.browser


def test_after_the_skip_link_focus_goes_to_the_error_summary_then_the_banner(
    page: Page, mailbox: Mailbox
) -> None:
    goto_and_check(page, "/register")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/register#main-content$"))

    with page.expect_navigation():
        page.get_by_role("button", name="Create account").press("Enter")
    check_current(page)
    expect(page).to_have_url(re.compile(r"/register$"))
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Error: Create an account"))

    email = f"skip-{uuid4().hex[:12]}@example.com"
    page.get_by_label("Display name").fill("Skip Link")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Create a password").fill(PASSWORD)
    page.get_by_label("Type your password again").fill(PASSWORD)
    page.get_by_label("I have a personal budget or direct payment").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Create account").press("Enter")
    check_current(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    goto_and_check(page, emailed_link(mailbox, email))
    with page.expect_navigation():
        page.get_by_role("button", name="Create my account").press("Enter")
    check_current(page)
    expect(page).to_have_url(re.compile(r"/account$"))
    banner = page.get_by_role("alert").filter(has_text="Your account has been created")
    expect(banner).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Your account has been created – Your account"))


def test_an_error_summary_reached_with_a_fragment_still_takes_focus(page: Page) -> None:
    """Chromium moves focus to the body as it scrolls to a fragment; app.js gives it back."""
    goto_and_check(page, "/services?postcode=not-a-postcode#main-content")
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.locator(".govuk-error-summary")).to_be_focused()


def test_the_site_name_shows_the_yellow_focus_state(page: Page) -> None:
    goto_and_check(page, "/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    title = page.locator(".app-header__title")
    expect(title).to_be_focused()
    # Black on GOV.UK yellow (about 14:1), not dark text on the teal header.
    expect(title).to_have_css("background-color", "rgb(255, 221, 0)")
    expect(title).to_have_css("color", "rgb(11, 12, 12)")


def test_one_navigation_landmark_named_menu(page: Page) -> None:
    goto_and_check(page, "/")
    expect(page.get_by_role("navigation")).to_have_count(1)
    expect(page.get_by_role("navigation", name="Menu")).to_have_count(1)
    expect(page.get_by_role("region", name="Menu")).to_have_count(0)


def test_a_link_styled_as_a_button_follows_space(page: Page) -> None:
    goto_and_check(page, "/pools")
    propose = page.get_by_role("button", name="Propose a pool")
    propose.focus()
    with page.expect_navigation():
        page.keyboard.press("Space")
    expect(page).to_have_url(re.compile(r"/pools/propose$|/sign-in\?"))
