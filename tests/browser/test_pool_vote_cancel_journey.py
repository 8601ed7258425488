"""Opening a vote and cancelling a pool in Chromium at 320 px wide, every page checked by axe.

Dee proposed a pool for a Leeds walking group; three people have joined and a provider has
quoted. On a small phone she opens the vote (first asking for longer than the deadline allows,
which is refused beside the field), then cancels the pool, checking what will happen first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from uuid import uuid4

import pytest
from playwright.sync_api import Page, expect

from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.organisations.models import OrganisationKind
from marketplace.pools import quotes, services
from marketplace.pools.services import Pledge, PoolData
from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.scene import approved_ulo, leeds, ulo_moderator
from tests.factories import PASSWORD, OrganisationFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.browser

SMALL = {"width": 320, "height": 900}
REASON = "The walk leader has moved away and nobody else can lead it"


def set_the_scene(live_server: LiveServer) -> tuple[str, str]:
    """An open pool (deadline in 10 days) with three members and one quote; Dee proposed it."""
    suffix = uuid4().hex[:8]
    title = f"Walking group {suffix}"
    dee_email = f"dee-{suffix}@example.org"
    with live_server.app.app_context():
        council = leeds()
        ulo = approved_ulo(f"Leeds Walkers ULO {suffix}", council)
        moderator = ulo_moderator(ulo, f"walk-mod-{suffix}@example.org", "A" * 32, "Mo")
        dee = UserFactory(email=dee_email, display_name="Dee Walker")
        pool = services.propose(
            db.session,
            dee,
            PoolData(
                title=title,
                description="A weekly walk with a peer worker.",
                council_id=council.id,
                frequency="Weekly, 2 hours",
                min_members=3,
                max_members=5,
                cap_pence=4000,
                months=3,
                deadline=utcnow().date() + timedelta(days=10),
                area="LS6",
            ),
        )
        (item,) = moderation.open_entries_for(db.session, services.ITEM_POOL, pool.id)
        moderation.decide(db.session, moderator, item, Decision.APPROVE, "")
        provider = OrganisationFactory(
            name=f"Leeds Walks {suffix}", kind=OrganisationKind.PROVIDER.value
        )
        provider.councils.append(council)
        staff = UserFactory()
        StaffFactory(organisation=provider, user=staff)
        quotes.submit_quote(
            db.session,
            staff,
            provider,
            pool,
            quotes.QuoteData(
                start_date=utcnow().date() + timedelta(days=40),
                prices=quotes.even_split(9000, 3, 5),
            ),
        )
        for _ in range(3):
            services.join(
                db.session,
                UserFactory(),
                pool,
                Pledge(4000, "managed_account", "Leeds Pay", invoice_email="pay@leeds.example"),
            )
        db.session.commit()
        db.scoped.remove()
    return title, dee_email


def fits_320(page: Page) -> None:
    """Nothing sticks out sideways at 320 px: no horizontal scrolling."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SMALL["width"], f"{page.url} is {width}px wide at 320px"


def test_opening_a_vote_and_cancelling_at_320px(
    live_server: LiveServer, new_page: Callable[..., Page]
) -> None:
    title, dee_email = set_the_scene(live_server)
    page = new_page(viewport=SMALL)
    goto_and_check(page, "/sign-in")
    page.get_by_label("Email address").fill(dee_email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    submit_and_check(page, "Sign in")
    goto_and_check(page, "/pools")
    page.get_by_role("link", name=title).click()
    check_current(page)
    expect(page.locator("#open-vote-by")).to_contain_text("A vote must be opened by")

    # The vote-opening page: when it closes, and by when it must.
    page.get_by_role("button", name="Open the vote").click()
    expect(page).to_have_url(re.compile(r"/pools/\d+/vote/open$"))
    check_current(page)
    fits_320(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Open the vote")
    expect(page.locator("#vote-rules")).to_contain_text("Nobody can close it early")
    choices = page.get_by_role("group", name="How long the vote stays open")
    choices.get_by_label("2 weeks").check()  # longer than the deadline allows
    submit_and_check(page, "Open the vote")
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.locator("#days-error")).to_contain_text("must close before the pool's deadline")
    fits_320(page)
    page.get_by_role("group", name="How long the vote stays open").get_by_label("1 week").check()
    submit_and_check(page, "Open the vote")
    expect(page.get_by_text("The vote is open. Members can now choose a quote")).to_be_visible()
    expect(page.locator("#vote-closes")).to_contain_text("or as soon as every member has voted")
    expect(page.get_by_role("button", name="Close the vote")).to_have_count(0)

    # Cancelling: a reason, then a page that says what will happen, then the POST.
    page.get_by_role("button", name="Cancel this pool").click()
    expect(page).to_have_url(re.compile(r"/pools/\d+/cancel$"))
    check_current(page)
    fits_320(page)
    submit_and_check(page, "Continue")  # no reason yet
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    page.get_by_label("Why is the pool being cancelled?").fill(REASON)
    submit_and_check(page, "Continue")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check before you cancel the pool")
    fits_320(page)
    expect(page.locator("#happens-told")).to_contain_text("We email the 3 members")
    expect(page.locator("#cancel-reason")).to_have_text(REASON)
    submit_and_check(page, "Cancel the pool")
    expect(page).to_have_url(re.compile(r"/pools/\d+$"))
    expect(page.get_by_text("Cancelled", exact=True)).to_be_visible()
    expect(page.get_by_text(f"Reason: {REASON}")).to_be_visible()
    fits_320(page)
