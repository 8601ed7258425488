"""A crisis plan and a one-click email link, end to end in Chromium, axe on every page.

Robin writes a crisis plan naming Bo, their budget buddy, and takes a break; the "break started"
page points to the plan. Bo is emailed (never why), signs in through the link and reads the plan.
Bo then uses the one-click "fewer emails" link from the footer without signing in: the link's page
changes nothing until the button is pressed, and a second use is refused calmly.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.steps import sign_in, sign_out
from tests.browser.test_break_journey import BEA, ROBIN, set_the_scene
from tests.conftest import Mailbox

pytestmark = pytest.mark.browser

WISH = "Please send me a short text once a week. I may not answer, and that is fine."


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def link_in(body: str, path: str) -> str:
    found = re.search(rf"https?://\S+{path}\S*", body)
    assert found, f"no {path} link in:\n{body}"
    return found.group(0)


def test_robin_writes_a_plan_bo_reads_it_and_uses_a_one_click_link(
    live_server: LiveServer, page: Page, new_page: Callable[..., Page], mailbox: Mailbox
) -> None:
    cast = set_the_scene(live_server)

    goto_and_check(page, "/")
    sign_in(page, cast.holder_email)
    page.get_by_role("link", name="Your crisis plan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your crisis plan")
    check_current(page)
    tell = page.get_by_role("group", name="Whom should we tell when you start a break?")
    tell.get_by_label(re.compile(BEA)).check()
    page.get_by_label("What do you want others to know? (optional)").fill(WISH)
    submit_and_check(page, "Save my plan")
    expect(page.get_by_text(WISH).first).to_be_visible()

    page.get_by_role("link", name="Take a break").click()
    page.get_by_label("Until I come back").check()
    submit_and_check(page, "Continue")
    submit_and_check(page, "Start my break")
    expect(page.get_by_role("link", name="Read your crisis plan")).to_be_visible()
    sign_out(page)

    told = mailbox.last_to(cast.buddy_email, f"{ROBIN} has started a break")
    body = told.get_payload(decode=True).decode()
    assert f"{ROBIN} has started a break" in body
    plan_link = link_in(body, "/crisis-plans/")
    goto_and_check(page, "/")
    sign_in(page, cast.buddy_email)
    goto_and_check(page, path_of(plan_link))
    expect(page.get_by_text(WISH)).to_be_visible()
    sign_out(page)

    # The footer's one-click link, opened without signing in: looking changes nothing.
    path = path_of(link_in(body, "/do/"))
    visitor = new_page()
    goto_and_check(visitor, path)
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Check before you confirm")
    expect(visitor.get_by_text("one email a week")).to_be_visible()
    submit_and_check(visitor, "Get fewer emails")
    expect(visitor.get_by_text("From now on you get one email a week")).to_be_visible()
    goto_and_check(visitor, path, status=410)  # single use: a calm page, not an error
    visitor.context.close()
