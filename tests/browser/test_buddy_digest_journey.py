"""A buddy who chose one email a week is asked, and says yes from the weekly email's link.

Dee is a confirmed buddy who finds separate emails too much: on "How we email you" she chooses
one email a week ("Nothing is lost: everything we would have sent is in it"). Kit asks her to
be his buddy. Nothing is sent to Dee then; the weekly email carries the ask and its one-click
"Say yes", which still works. Every page is checked by axe and at 320 CSS px.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import uuid4

import pyotp
import pytest
from playwright.sync_api import Page, expect

from marketplace import outbox
from marketplace.buddies import services as buddies
from marketplace.extensions import db
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.notifications import digest
from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.scene import approved_ulo, leeds, ulo_moderator
from tests.browser.steps import sign_in, sign_out
from tests.buddies.builders import ask, offer
from tests.conftest import Mailbox
from tests.factories import UserFactory
from tests.notifications.helpers import body_of

pytestmark = pytest.mark.browser

DEE = "Dee Digest"
KIT = "Kit Newcomer"
ASKED = "Someone would like you to be their budget buddy"
WEEKLY = "Your weekly email from Budget Marketplace"
_DO = re.compile(r"https?://\S+/do/[A-Za-z0-9_\-]+")


@dataclass(frozen=True)
class Cast:
    buddy_email: str
    seeker_email: str


def set_the_scene(live_server: LiveServer) -> Cast:
    """Dee, a confirmed buddy in Leeds; Kit, waiting for a buddy there."""
    suffix = uuid4().hex[:8]
    cast = Cast(f"dee-{suffix}@example.org", f"kit-{suffix}@example.org")
    with live_server.app.app_context():
        council = leeds()
        ulo = approved_ulo(f"Leeds Weekly Network {suffix}", council)
        moderator = ulo_moderator(
            ulo, f"digest-moderator-{suffix}@example.org", pyotp.random_base32(), "Mo Moderator"
        )
        buddy = UserFactory(email=cast.buddy_email, display_name=DEE)
        seeker = UserFactory(email=cast.seeker_email, display_name=KIT)
        db.session.flush()
        profile = buddies.offer_to_be_buddy(db.session, buddy, offer(council))
        (item,) = moderation.open_entries_for(db.session, buddies.ITEM_BUDDY_OFFER, profile.id)
        moderation.decide(db.session, moderator, item, Decision.APPROVE, "")
        buddies.ask_for_buddy(db.session, seeker, ask(council))
        outbox.commit(db.session)
        db.scoped.remove()
    return cast


def dee_chooses_one_email_a_week(page: Page, cast: Cast) -> None:
    sign_in(page, cast.buddy_email)
    goto_and_check(page, "/account/emails")
    expect(page.get_by_role("heading", level=1)).to_have_text("How we email you")
    expect(
        page.get_by_text("Nothing is lost: everything we would have sent is in it.")
    ).to_be_visible()
    page.get_by_label("One email a week with everything in it").check()
    submit_and_check(page, "Save")
    expect(page.get_by_text("Saved. We will email you the way you chose")).to_be_visible()
    sign_out(page)


def kit_asks_dee(page: Page, cast: Cast, mailbox: Mailbox) -> None:
    sign_in(page, cast.seeker_email)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Budget buddies").click()
    check_current(page)
    page.get_by_role("link", name="See your suggestions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Suggested buddies")
    check_current(page)
    submit_and_check(page, f"Ask {DEE}")
    expect(page.get_by_text(f"We have asked {DEE}").first).to_be_visible()
    # Kept for Dee's weekly email, not sent on its own.
    assert not [
        m for m in mailbox.messages if m["To"] == cast.buddy_email and m["Subject"] == ASKED
    ]
    sign_out(page)


def the_weekly_email_goes(live_server: LiveServer) -> None:
    """What the weekly "notifications.send_digests" job does, committed, the mail sent."""
    with live_server.app.app_context():
        digest.send_digests(db.session, after_each=outbox.commit)
        outbox.commit(db.session)
        db.scoped.remove()


def dee_says_yes_from_the_weekly_email(page: Page, cast: Cast, mailbox: Mailbox) -> None:
    email = mailbox.last_to(cast.buddy_email, WEEKLY)
    body = body_of(email)
    assert ASKED in body
    (link,) = _DO.findall(body.split(ASKED, 1)[1])[:1]
    response = page.goto(link)
    assert response is not None and response.status == 200
    check_current(page)
    expect(page.get_by_text("Say yes to being a budget buddy")).to_be_visible()
    submit_and_check(page, "Say yes")
    expect(page.get_by_text("Thank you. You are now buddies.")).to_be_visible()


def dee_sees_what_kit_would_like_help_with(page: Page, cast: Cast) -> None:
    goto_and_check(page, "/")
    sign_in(page, cast.buddy_email)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Budget buddies").click()
    page.get_by_role("table", name="Your pairings").get_by_role("link", name=KIT).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(KIT)
    expect(page.get_by_text("You are the buddy of")).to_be_visible()
    expect(page.get_by_role("heading", name="They would like help with")).to_be_visible()
    check_current(page)
    page.screenshot(path="/tmp/buddycare-digest-pairing.png", full_page=True)
    sign_out(page)


def test_a_weekly_email_buddy_is_asked_and_says_yes_from_the_weekly_email(
    page: Page, live_server: LiveServer, mailbox: Mailbox
) -> None:
    cast = set_the_scene(live_server)
    goto_and_check(page, "/")
    dee_chooses_one_email_a_week(page, cast)
    kit_asks_dee(page, cast, mailbox)
    the_weekly_email_goes(live_server)
    dee_says_yes_from_the_weekly_email(page, cast, mailbox)
    dee_sees_what_kit_would_like_help_with(page, cast)
    assert mailbox.last_to(cast.seeker_email, "You have a budget buddy")
