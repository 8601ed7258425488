"""A safeguarding report nobody can miss, end to end in Chromium, every page checked by axe.

Sid, a holder, reports a message in their budget buddy conversation (Bex asks for money from
Sid's budget for "cheap pills"). The area's moderator is emailed at once (the email says only
that something urgent is waiting), sees the count in the navigation, says they will deal with
it, and then does nothing. Two hours pass: the periodic job lapses the claim and, four hours
after the report, sends the item to the admins. An admin follows the emailed link, sees what
happened so far, takes it on and decides with two actions: the message removed, and its writer
suspended, each with its own reason and email.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from uuid import uuid4

import pyotp
import pytest
from playwright.sync_api import Page, expect

from marketplace import outbox
from marketplace.buddies import conversations
from marketplace.buddies import services as buddies
from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, ModerationItem
from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.scene import approved_ulo, leeds, ulo_moderator
from tests.browser.steps import sign_in, sign_out
from tests.buddies.builders import ask, offer
from tests.conftest import Mailbox
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

SAM, BEA = "Sid Safe", "Bex Bright"
MESSAGE = "I can get you cheap pills if you send me 50 pounds from your budget."
DETAILS = "Bex keeps asking me for money from my direct payment."
MONEY = "Safeguarding: money is being misused"
ALERT = "Something urgent is waiting in the moderation queue"
ESCALATED = "An urgent moderation item has waited too long"
REMOVE_REASON = "Offering to sell medicines for money from a personal budget is not allowed."
SUSPEND_REASON = "Asking the person you support for money from their budget."


@dataclass(frozen=True)
class Cast:
    sam_email: str
    bea_email: str
    match_id: int
    moderator_email: str
    moderator_secret: str
    admin_email: str
    admin_secret: str


def set_the_scene(live_server: LiveServer) -> Cast:
    """Leeds, its ULO with one moderator, an admin, and Sid and Bex in an active pairing in
    which Bex has written the message. Written straight into the live server's database."""
    suffix = uuid4().hex[:8]
    moderator_secret, admin_secret = pyotp.random_base32(), pyotp.random_base32()
    with live_server.app.app_context():
        council = leeds()
        ulo = approved_ulo(f"Leeds Safeguarding Network {suffix}", council)
        moderator = ulo_moderator(
            ulo, f"safe-moderator-{suffix}@example.org", moderator_secret, "Mo Safe"
        )
        admin = UserFactory(
            email=f"safe-admin-{suffix}@example.org",
            display_name="Ada Admin",
            roles=["admin"],
            totp_secret=admin_secret,
            totp_enabled_at=utcnow(),
        )
        bea = UserFactory(email=f"bea-safe-{suffix}@example.org", display_name=BEA)
        sam = UserFactory(email=f"sam-safe-{suffix}@example.org", display_name=SAM)
        # Capacity one: once paired with Sid she is never suggested to anyone in other journeys.
        profile = buddies.offer_to_be_buddy(db.session, bea, offer(council, capacity=1))
        (offered,) = moderation.open_entries_for(db.session, buddies.ITEM_BUDDY_OFFER, profile.id)
        moderation.decide(db.session, moderator, offered, Decision.APPROVE, "")
        request = buddies.ask_for_buddy(db.session, sam, ask(council))
        match = buddies.propose(db.session, request, profile)
        buddies.accept(db.session, bea, match)
        conversations.send_message(db.session, bea, match, MESSAGE)
        db.session.commit()
        cast = Cast(
            sam.email,
            bea.email,
            match.id,
            moderator.email,
            moderator_secret,
            admin.email,
            admin_secret,
        )
        db.scoped.remove()
    return cast


def sign_in_with_code(page: Page, email: str, secret: str) -> None:
    sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/sign-in/code$"))
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    submit_and_check(page, "Continue")


def sam_reports_the_message(page: Page, cast: Cast) -> None:
    goto_and_check(page, "/")
    sign_in(page, cast.sam_email)
    goto_and_check(page, f"/buddies/pairings/{cast.match_id}")
    expect(page.get_by_text(MESSAGE)).to_be_visible()
    page.get_by_role("link", name="Report this message").click()
    check_current(page)
    expect(page.get_by_text("A moderator is told at once and looks at those first")).to_be_visible()
    page.get_by_role("group", name="Why are you reporting this?").get_by_label(
        MONEY, exact=True
    ).check()
    page.get_by_label("Tell us more (optional)").fill(DETAILS)
    submit_and_check(page, "Send report")
    expect(page.get_by_text("Thank you. A moderator will look at your report")).to_be_visible()
    sign_out(page)


def link_in(mailbox: Mailbox, to: str, subject: str) -> str:
    email = mailbox.last_to(to, subject)
    body = email.get_payload(decode=True).decode()
    # Never the message, the reason or who is involved.
    for private in ("pills", "money", BEA, SAM, "buddy"):
        assert private not in body, f"{private!r} in the alert:\n{body}"
    found = re.search(r"https?://\S+/moderation/items/\d+", body)
    assert found, f"no link in the email:\n{body}"
    return found.group(0)


def moderator_claims_and_does_nothing(page: Page, cast: Cast, link: str) -> None:
    goto_and_check(page, "/")
    sign_in_with_code(page, cast.moderator_email, cast.moderator_secret)
    expect(page.locator("#nav-moderation")).to_contain_text(re.compile(r"\d+ urgent"))
    goto_and_check(page, link)
    expect(page.get_by_text(DETAILS)).to_be_visible()
    expect(page.get_by_role("heading", name="If someone may be at risk")).to_be_visible()
    submit_and_check(page, "I will deal with this")
    expect(page.get_by_text("You are dealing with this now")).to_be_visible()
    expect(page.locator("#claim-status")).to_contain_text("your claim lapses at")
    sign_out(page)


def time_passes_and_the_job_runs(live_server: LiveServer, link: str) -> None:
    """Four hours after the report and over two after the claim, the moderation.watch job."""
    item_id = int(link.rsplit("/", 1)[1])
    # The worker knows the site's address (SERVER_NAME under `make run`): links are whole.
    with live_server.app.test_request_context(base_url=live_server.url):
        item = db.session.get(ModerationItem, item_id)
        assert item is not None
        item.submitted_at = utcnow() - timedelta(hours=4, minutes=5)
        item.claimed_at = utcnow() - timedelta(hours=2, minutes=5)
        db.session.commit()
        lapsed, escalated = moderation.watch(db.session)
        outbox.commit(db.session)  # as the worker does: commit, then send the emails
        assert lapsed >= 1 and escalated >= 1
        db.scoped.remove()


def admin_takes_it_on_and_decides_with_two_actions(page: Page, cast: Cast, link: str) -> None:
    goto_and_check(page, "/")
    sign_in_with_code(page, cast.admin_email, cast.admin_secret)
    goto_and_check(page, link)
    expect(page.locator("#claim-status")).to_have_text("Nobody is dealing with this yet.")
    history = page.locator("#item-history")
    expect(history).to_contain_text("Mo Safe said they would deal with it")
    expect(history).to_contain_text("Mo Safe's claim lapsed: they decided nothing in time")
    expect(history).to_contain_text("Sent to every admin: nobody had dealt with it in time")
    expect(page.locator("#author")).to_contain_text(BEA)
    submit_and_check(page, "I will deal with this")
    page.get_by_role("group", name="Your decision").get_by_label("Remove it for good").check()
    page.get_by_label("Reason (the person affected will see this)").fill(REMOVE_REASON)
    page.get_by_role("group", name="And the person who wrote it").get_by_label(
        "Suspend the person who wrote it for some days"
    ).check()
    page.get_by_label("Reason for what happens to the person (they will see this)").fill(
        SUSPEND_REASON
    )
    page.get_by_label("For how many days?").fill("14")
    submit_and_check(page, "Save decision")
    expect(page.get_by_text("Decision saved")).to_be_visible()
    sign_out(page)


def test_a_concern_in_a_buddy_conversation_reaches_someone_who_acts(
    page: Page, live_server: LiveServer, mailbox: Mailbox
) -> None:
    cast = set_the_scene(live_server)
    sam_reports_the_message(page, cast)
    link = link_in(mailbox, cast.moderator_email, ALERT)
    moderator_claims_and_does_nothing(page, cast, link)
    time_passes_and_the_job_runs(live_server, link)
    assert link_in(mailbox, cast.admin_email, ESCALATED) == link
    admin_takes_it_on_and_decides_with_two_actions(page, cast, link)

    told = [
        m.get_payload(decode=True).decode()
        for m in mailbox.messages
        if m["To"] == cast.bea_email and m["Subject"] == "A moderator's decision about your account"
    ]
    assert len(told) == 2
    assert any(REMOVE_REASON in body for body in told)
    assert any(SUSPEND_REASON in body for body in told)
    # Sid no longer sees the message.
    goto_and_check(page, "/")
    sign_in(page, cast.sam_email)
    goto_and_check(page, f"/buddies/pairings/{cast.match_id}")
    expect(page.get_by_text(MESSAGE)).to_have_count(0)
