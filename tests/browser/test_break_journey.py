"""Taking a break end to end in Chromium, every page checked by axe.

Robin has a budget buddy, a place in a running pool and a membership of a user-led organisation
given in time. Robin takes a break for a month, reads exactly what will happen to each, confirms,
and later comes back with one click. Bo, the buddy, only ever sees a neutral message, and sees
the pairing paused with no way to resume it: only Robin (or the break's end) lifts that pause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from uuid import uuid4

import pyotp
import pytest
from playwright.sync_api import Page, expect

from marketplace.buddies import services as buddies
from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.memberships import services as memberships
from marketplace.memberships.services import OfferData
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.organisations.models import OrganisationKind
from marketplace.pools import quotes
from marketplace.pools import services as pools
from marketplace.pools.models import PoolStatus
from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.scene import approved_ulo, leeds, ulo_moderator
from tests.browser.steps import sign_in, sign_out
from tests.buddies.builders import ask, offer
from tests.factories import OrganisationFactory, StaffFactory, UserFactory
from tests.pools.builders import go_ahead, invoice_pledge, pool_data

pytestmark = pytest.mark.browser

ROBIN = "Robin Rest"
BEA = "Bo Buddy"
NEUTRAL = f"{ROBIN} is taking a break and will be back in touch."
KINDS = ("buddy", "occasional_pa", "events", "peer_group", "other")


@dataclass(frozen=True)
class Cast:
    holder_email: str
    buddy_email: str
    ulo_name: str
    pool_title: str


def _running_pool(moderator, council, holder, title: str):
    """A pool of three paying by invoice, its quote chosen and month one collected."""
    proposer = UserFactory()
    pool = pools.propose(db.session, proposer, pool_data(council, title=title))
    (item,) = moderation.open_entries_for(db.session, pools.ITEM_POOL, pool.id)
    moderation.decide(db.session, moderator, item, Decision.APPROVE, "")
    provider = OrganisationFactory(kind=OrganisationKind.PROVIDER.value)
    provider.councils.append(council)
    provider_staff = UserFactory(roles=["provider_staff"])
    StaffFactory(organisation=provider, user=provider_staff)
    data = quotes.QuoteData(
        start_date=utcnow().date() + timedelta(days=1),
        prices=quotes.even_split(9000, pool.min_members, pool.max_members),
        terms="Cancel with a month's notice.",
    )
    chosen = quotes.submit_quote(db.session, provider_staff, provider, pool, data)
    people = [holder, UserFactory(), UserFactory()]
    for person in people:
        pools.join(db.session, person, pool, invoice_pledge())
    quotes.open_vote(db.session, proposer, pool, utcnow() + timedelta(days=7))
    for person in people:
        quotes.vote(db.session, person, pool, chosen)
    assert pool.chosen_quote_id == chosen.id  # the last member's vote closed the vote
    assert go_ahead(db.session, pool, staff=moderator) == PoolStatus.RUNNING.value


def set_the_scene(live_server: LiveServer) -> Cast:
    """Robin paired with Bo, a giving-time member of a ULO, and in a running pool."""
    suffix = uuid4().hex[:8]
    cast = Cast(
        holder_email=f"robin-{suffix}@example.org",
        buddy_email=f"bea-break-{suffix}@example.org",
        ulo_name=f"Leeds Rest Network {suffix}",
        pool_title=f"Evening art group {suffix}",
    )
    with live_server.app.app_context():
        council = leeds()
        ulo = approved_ulo(cast.ulo_name, council)
        moderator = ulo_moderator(
            ulo, f"break-moderator-{suffix}@example.org", pyotp.random_base32(), "Mo Moderator"
        )
        memberships.set_offer(db.session, moderator, ulo, OfferData(None, 240, KINDS))
        holder = UserFactory(email=cast.holder_email, display_name=ROBIN)
        buddy = UserFactory(email=cast.buddy_email, display_name=BEA)
        db.session.flush()

        profile = buddies.offer_to_be_buddy(db.session, buddy, offer(council))
        (item,) = moderation.open_entries_for(db.session, buddies.ITEM_BUDDY_OFFER, profile.id)
        moderation.decide(db.session, moderator, item, Decision.APPROVE, "")
        request = buddies.ask_for_buddy(db.session, holder, ask(council))
        buddies.accept(db.session, buddy, buddies.propose(db.session, request, profile))

        memberships.join(db.session, holder, ulo, "reciprocity")
        _running_pool(moderator, council, holder, cast.pool_title)
        db.session.commit()
        db.scoped.remove()
    return cast


def summary_row(page: Page, key: str):
    return page.locator(".govuk-summary-list__row").filter(has=page.locator("dt", has_text=key))


def robin_takes_a_break_for_a_month(page: Page, cast: Cast) -> None:
    sign_in(page, cast.holder_email)
    menu = page.get_by_role("navigation", name="Menu")
    menu.get_by_role("link", name="Take a break").click()
    expect(page).to_have_url(re.compile(r"/break$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Take a break")
    check_current(page)

    # Continuing without choosing: the error is beside the choice.
    submit_and_check(page, "Continue")
    expect(page).to_have_title(re.compile(r"^Error: Take a break"))
    expect(page.locator("#length-error")).to_contain_text("Choose how long your break will be")

    page.get_by_role("group", name="How long would you like a break for?").get_by_label(
        "A month"
    ).check()
    submit_and_check(page, "Continue")
    expect(page).to_have_url(re.compile(r"/break/check\?length=month$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Check what will happen")
    expect(summary_row(page, f"Budget buddy pairing with {BEA}")).to_contain_text(NEUTRAL)
    expect(summary_row(page, f"Membership of {cast.ulo_name}")).to_contain_text(
        "no hours of time are expected"
    )
    expect(summary_row(page, cast.pool_title)).to_contain_text("still due")
    expect(summary_row(page, "Emails")).to_contain_text("money that is due")

    submit_and_check(page, "Start my break")
    expect(page).to_have_url(re.compile(r"/break/started$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your break has started")
    expect(menu.get_by_role("link", name="You're on a break")).to_be_visible()
    sign_out(page)


def bea_sees_only_the_neutral_message(page: Page, cast: Cast) -> None:
    sign_in(page, cast.buddy_email)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Budget buddies").click()
    page.get_by_role("table", name="Your pairings").get_by_role("link", name=ROBIN).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ROBIN)
    expect(page.get_by_text(NEUTRAL)).to_be_visible()
    # Paused by Robin's break: Bo cannot pick it up, or write, until Robin is back.
    expect(page.get_by_text(f"The pairing is paused until {ROBIN} is back.")).to_be_visible()
    expect(page.get_by_role("button", name="Resume the pairing")).to_have_count(0)
    expect(page.get_by_label("Your message")).to_have_count(0)
    # The neutral message is the site's notice, not Robin's words: nothing to report.
    expect(page.get_by_role("heading", name="Notice from Budget Marketplace")).to_be_visible()
    expect(page.get_by_role("link", name="Report this message")).to_have_count(0)
    check_current(page)
    page.screenshot(path="/tmp/buddycare-break-other-side.png", full_page=True)
    sign_out(page)


def robin_comes_back(page: Page, cast: Cast) -> None:
    sign_in(page, cast.holder_email)
    menu = page.get_by_role("navigation", name="Menu")
    menu.get_by_role("link", name="You're on a break").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are taking a break")
    check_current(page)
    submit_and_check(page, "I'm back")
    expect(page.get_by_text("Welcome back. Everything is as you left it.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Take a break")
    expect(menu.get_by_role("link", name="Take a break")).to_be_visible()

    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Budget buddies").click()
    page.get_by_role("table", name="Your pairings").get_by_role("link", name=BEA).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(BEA)
    expect(page.get_by_text("Messages wait while the pairing is paused")).to_have_count(0)
    expect(page.get_by_role("textbox", name=re.compile("message", re.I))).to_be_visible()
    check_current(page)


def test_a_holder_takes_a_break_and_comes_back(page: Page, live_server: LiveServer) -> None:
    cast = set_the_scene(live_server)
    goto_and_check(page, "/")
    robin_takes_a_break_for_a_month(page, cast)
    bea_sees_only_the_neutral_message(page, cast)
    robin_comes_back(page, cast)
