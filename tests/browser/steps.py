"""Steps every browser journey shares: signing in and out, and a moderator opening the queue."""

from __future__ import annotations

import re

import pyotp
from playwright.sync_api import Page, expect

from tests.browser.conftest import check_current, submit_and_check
from tests.factories import PASSWORD


def sign_in(page: Page, email: str) -> None:
    """Sign in from the navigation, with email and password (the first step for a moderator)."""
    page.get_by_role("link", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    check_current(page)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    submit_and_check(page, "Sign in")


def sign_out(page: Page) -> None:
    """Sign out; the browser is left on the home page, ready for the next person."""
    submit_and_check(page, "Sign out")
    expect(page.get_by_text("You have signed out")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()


def moderator_opens_the_queue(page: Page, email: str, totp_secret: str) -> None:
    """A moderator signs in with password and code, then opens the moderation queue."""
    sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/sign-in/code$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter the code from your app")
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(totp_secret).now())
    submit_and_check(page, "Continue")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")

    page.get_by_role("link", name="Moderation queue").click()
    expect(page).to_have_url(re.compile(r"/moderation$"))
    check_current(page)
