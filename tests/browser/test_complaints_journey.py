"""A visitor complains, and an administrator answers before the deadline; axe on every page."""

from __future__ import annotations

import re
from uuid import uuid4

import pyotp
import pytest
from playwright.sync_api import Page, expect

from marketplace.db import utcnow
from marketplace.extensions import db
from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.steps import sign_in
from tests.conftest import Mailbox
from tests.factories import UserFactory
from tests.helpers import totp_code

pytestmark = pytest.mark.browser

COMPLAINT = "I reported a message two weeks ago and nobody has looked at it."
ANSWER = "We are sorry. The report has now been dealt with, and we have added a moderator."


def an_admin(live_server: LiveServer) -> tuple[str, str]:
    secret = pyotp.random_base32()
    email = f"admin-{uuid4().hex[:8]}@example.org"
    with live_server.app.app_context():
        UserFactory(
            email=email,
            display_name="Ada Admin",
            roles=["admin"],
            totp_secret=secret,
            totp_enabled_at=utcnow(),
        )
        db.session.commit()
        db.scoped.remove()
    return email, secret


def test_visitor_complains_and_an_admin_answers(
    live_server: LiveServer, page: Page, mailbox: Mailbox
) -> None:
    admin_email, secret = an_admin(live_server)
    visitor_email = f"visitor-{uuid4().hex[:8]}@example.org"

    goto_and_check(page, "/")
    page.get_by_role("link", name="Complaints").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Make a complaint")
    check_current(page)
    submit_and_check(page, "Send complaint")
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.locator("#kind-error")).to_contain_text("Choose what this is about")
    about = page.get_by_role("group", name="What is your complaint about?")
    about.get_by_label("How a report I made was handled").check()
    page.get_by_label("What happened, and what would put it right?").fill(COMPLAINT)
    page.get_by_label("Email address for our reply").fill("not an address")
    submit_and_check(page, "Send complaint")
    expect(page.locator("#contact_email-error")).to_contain_text("Enter an email address")
    expect(page.get_by_label("What happened, and what would put it right?")).to_have_value(
        COMPLAINT
    )
    page.get_by_label("Email address for our reply").fill(visitor_email)
    submit_and_check(page, "Send complaint")
    expect(page.get_by_text(re.compile(r"Thank you\. Your reference is \d+"))).to_be_visible()

    sign_in(page, admin_email)
    page.get_by_label("Code from your authenticator app").fill(totp_code(secret))
    submit_and_check(page, "Continue")
    page.get_by_role("link", name="Data-protection requests and complaints").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Requests and complaints")
    check_current(page)
    row = page.get_by_role("row", name=re.compile("How a report I made was handled"))
    expect(row).to_contain_text("days left")
    row.get_by_role("link").first.click()
    expect(page.get_by_text(COMPLAINT)).to_be_visible()
    check_current(page)
    submit_and_check(page, "Send answer and close")
    expect(page.locator("#response-error")).to_contain_text("Write the answer to send")
    page.get_by_label("Your answer (the person will be emailed this)").fill(ANSWER)
    submit_and_check(page, "Send answer and close")
    expect(page.get_by_text("No open requests or complaints.")).to_be_visible()

    body = mailbox.last_to(visitor_email).get_payload(decode=True).decode()
    assert ANSWER in body
