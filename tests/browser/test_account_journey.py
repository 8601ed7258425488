"""Someone creates an account, signs out and in, changes their name: in Chromium, checked by axe."""

from __future__ import annotations

import re
from collections.abc import Callable
from uuid import uuid4

import pytest
from playwright.sync_api import Locator, Page, expect

from marketplace.auth import throttle
from marketplace.extensions import db
from tests.browser.conftest import (
    PASSWORD,
    LiveServer,
    check_current,
    goto_and_check,
    submit_and_check,
)
from tests.browser.steps import emailed_link, sign_out
from tests.conftest import Mailbox
from tests.factories import PASSWORD as ACCOUNT_PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

HOLDER = "I have a personal budget or direct payment"


def unique_email() -> str:
    return f"browser-{uuid4().hex[:12]}@example.com"


def register(page: Page, mailbox: Mailbox, display_name: str, email: str) -> None:
    """Fill in Create an account (already open), submit it and follow the emailed link."""
    page.get_by_label("Display name").fill(display_name)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Create a password").fill(PASSWORD)
    page.get_by_label("Type your password again").fill(PASSWORD)
    page.get_by_label(HOLDER).check()
    submit_and_check(page, "Create account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    expect(page).to_have_title(re.compile(r"^Check your email to create your account"))
    expect(page.get_by_text(f"We have sent an email to {email}")).to_be_visible()
    goto_and_check(page, emailed_link(mailbox, email))
    expect(page).to_have_title(re.compile(r"^Create your account"))
    submit_and_check(page, "Create my account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")


def display_name_row(page: Page) -> Locator:
    return page.locator(".govuk-summary-list__row", has_text="Display name").locator(
        ".govuk-summary-list__value"
    )


def test_create_account_sign_out_sign_in_and_change_name(page: Page, mailbox: Mailbox) -> None:
    email = unique_email()

    goto_and_check(page, "/")
    page.get_by_role("link", name="Create an account").first.click()
    expect(page).to_have_url(re.compile(r"/register$"))
    check_current(page)

    # An empty form: an error summary, and each error next to its field.
    submit_and_check(page, "Create account")
    expect(page).to_have_title(re.compile(r"^Error: Create an account"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    for field_id, message in [
        ("display_name", "Enter a display name"),
        ("email", "Enter your email address"),
        ("password", "Enter a password"),
        ("confirm_password", "Type your password again"),
        ("usage", "Select how you will use the site"),
    ]:
        expect(summary.get_by_role("link", name=message)).to_have_attribute("href", f"#{field_id}")
        expect(page.locator(f"#{field_id}-error")).to_contain_text(message)
    expect(page.locator("#display_name")).to_have_attribute(
        "aria-describedby", re.compile(r"\bdisplay_name-error\b")
    )

    register(page, mailbox, "Sam Browser", email)
    expect(page.get_by_text("Your account has been created")).to_be_visible()
    expect(display_name_row(page)).to_have_text("Sam Browser")

    sign_out(page)

    page.get_by_role("link", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    check_current(page)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    submit_and_check(page, "Sign in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")

    page.get_by_role("link", name="Change display name").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your details")
    check_current(page)
    page.get_by_label("Display name").fill("Sam Renamed")
    submit_and_check(page, "Save changes")
    expect(page.get_by_text("Your details have been saved")).to_be_visible()
    expect(display_name_row(page)).to_have_text("Sam Renamed")

    sign_out(page)

    goto_and_check(page, "/account")
    expect(page).to_have_url(re.compile(r"/sign-in(\?|$)"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_create_account_without_javascript(new_page: Callable[..., Page], mailbox: Mailbox) -> None:
    page = new_page(java_script_enabled=False)
    goto_and_check(page, "/register")
    register(page, mailbox, "No Script", unique_email())
    expect(display_name_row(page)).to_have_text("No Script")


SIGN_IN_LINK = re.compile(r"http://[^/\s]+(/sign-in/link/\S+)")


def test_an_account_under_attack_signs_in_by_emailed_link(
    page: Page, live_server: LiveServer, mailbox: Mailbox
) -> None:
    email = unique_email()
    with live_server.app.app_context():
        UserFactory(email=email, display_name="Pat Patient")
        db.session.commit()
        db.scoped.remove()
    with live_server.app.test_request_context():
        for _ in range(10):  # someone else's wrong passwords, from ten other addresses
            throttle.count_failure(email)

    goto_and_check(page, "/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(ACCOUNT_PASSWORD)
    submit_and_check(page, "Sign in")
    expect(page).to_have_title(re.compile(r"^Error: Sign in"))
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Too many wrong passwords have been tried for this account"
    )
    page.get_by_role("link", name="get a sign-in link by email").click()
    check_current(page)
    page.get_by_label("Email address").fill(email)
    submit_and_check(page, "Email me a sign-in link")
    expect(page).to_have_title(re.compile(r"^Check your email for a sign-in link"))
    goto_and_check(page, emailed_link(mailbox, email, SIGN_IN_LINK))
    expect(page).to_have_title(re.compile(r"^Sign in with your emailed link"))
    submit_and_check(page, "Sign in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(display_name_row(page)).to_have_text("Pat Patient")
