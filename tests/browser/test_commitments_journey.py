"""Your commitments in Chromium at 320 pixels wide, every page checked by axe.

Cleo is in a running pool, has joined an open one, has a budget buddy, gives time to a user-led
organisation and has asked it for help. She opens "Your commitments" from the menu on a small
phone and reads what is due next for each; then Cass, who helps her, sees the same page for her.
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
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.commitments import services as commitments
from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.memberships import help_requests
from marketplace.memberships import services as memberships
from marketplace.memberships.services import OfferData
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.organisations.models import OrganisationKind
from marketplace.pools import quotes
from marketplace.pools import services as pools
from marketplace.pools.models import PoolStatus
from tests.browser.conftest import LiveServer, check_current
from tests.browser.scene import approved_ulo, leeds, ulo_moderator
from tests.browser.steps import sign_in, sign_out
from tests.buddies.builders import ask, offer
from tests.factories import CouncilFactory, OrganisationFactory, StaffFactory, UserFactory
from tests.pools.builders import go_ahead, invoice_pledge, pool_data

pytestmark = pytest.mark.browser

CLEO = "Cleo Commit"
KINDS = ("buddy", "occasional_pa", "events", "peer_group", "other")
PHONE = {"width": 320, "height": 900}


@dataclass(frozen=True)
class Cast:
    holder_email: str
    carer_email: str
    running_title: str
    open_title: str
    ulo_name: str
    holder_id: int
    running_due: str
    open_due: str
    membership_due: str


def _approved_pool(moderator, council, title: str):
    proposer = UserFactory()
    pool = pools.propose(db.session, proposer, pool_data(council, title=title))
    (item,) = moderation.open_entries_for(db.session, pools.ITEM_POOL, pool.id)
    moderation.decide(db.session, moderator, item, Decision.APPROVE, "")
    provider = OrganisationFactory(kind=OrganisationKind.PROVIDER.value)
    provider.councils.append(council)
    provider_staff = UserFactory(roles=["provider_staff"])
    StaffFactory(organisation=provider, user=provider_staff)
    data = quotes.QuoteData(
        start_date=utcnow().date() + timedelta(days=40),
        prices=quotes.even_split(9000, pool.min_members, pool.max_members),
        terms="Cancel with a month's notice.",
    )
    return pool, quotes.submit_quote(db.session, provider_staff, provider, pool, data)


def set_the_scene(live_server: LiveServer) -> Cast:
    suffix = uuid4().hex[:8]
    running_title = f"Evening art group {suffix}"
    open_title = f"Swimming with support {suffix}"
    ulo_name = f"Leeds Commit Network {suffix}"
    with live_server.app.app_context():
        council = leeds()
        ulo = approved_ulo(ulo_name, council)
        # Cleo's pools are in an area of their own: an open pool in Leeds would be offered to
        # the providers of the other journeys, which share this database.
        area = CouncilFactory(name=f"Commitments area {suffix}")
        ulo.councils.append(area)
        moderator = ulo_moderator(
            ulo, f"commit-moderator-{suffix}@example.org", pyotp.random_base32(), "Mo Moderator"
        )
        memberships.set_offer(db.session, moderator, ulo, OfferData(None, 240, KINDS))
        holder = UserFactory(email=f"cleo-{suffix}@example.org", display_name=CLEO)
        carer = UserFactory(email=f"cass-{suffix}@example.org", display_name="Cass Carer")
        buddy = UserFactory(display_name="Bo Buddy")
        db.session.flush()

        profile = buddies.offer_to_be_buddy(db.session, buddy, offer(council))
        (item,) = moderation.open_entries_for(db.session, buddies.ITEM_BUDDY_OFFER, profile.id)
        moderation.decide(db.session, moderator, item, Decision.APPROVE, "")
        request = buddies.ask_for_buddy(db.session, holder, ask(council))
        buddies.accept(db.session, buddy, buddies.propose(db.session, request, profile))

        memberships.join(db.session, holder, ulo, "reciprocity")
        help_requests.post_request(
            db.session,
            holder,
            ulo,
            help_requests.HelpRequestData(
                what="Someone to come with me to my review",
                needed_on=utcnow().date() + timedelta(days=9),
                kind="other",
            ),
        )

        running, chosen = _approved_pool(moderator, area, running_title)
        people = [holder, UserFactory(), UserFactory()]
        for person in people:
            pools.join(db.session, person, running, invoice_pledge())
        quotes.open_vote(db.session, running.proposer, running, utcnow() + timedelta(days=7))
        for person in people:
            quotes.vote(db.session, person, running, chosen)
        assert running.chosen_quote_id == chosen.id  # the last vote closed the vote
        # Month one held, then taken on the start date, as the jobs would.
        assert go_ahead(db.session, running, staff=moderator) == PoolStatus.RUNNING.value

        gathering, _quote = _approved_pool(moderator, area, open_title)
        pools.join(db.session, holder, gathering, invoice_pledge(3000))

        _grant, token = carers.invite_carer(
            db.session, holder, carer.email, [CarerScope.VIEW], 3600
        )
        carers.accept_invitation(db.session, carer, token)
        found = commitments.commitments_of(db.session, holder)
        due = {c.title: c.due_words for c in found.pools}
        (membership,) = found.memberships
        db.session.commit()
        cast = Cast(
            holder_email=holder.email,
            carer_email=carer.email,
            running_title=running_title,
            open_title=open_title,
            ulo_name=ulo_name,
            holder_id=holder.id,
            running_due=due[running_title],
            open_due=due[open_title],
            membership_due=membership.due_words,
        )
        db.scoped.remove()
    return cast


def card(page: Page, title: str):
    return page.locator(".govuk-summary-card").filter(
        has=page.locator(
            ".govuk-summary-card__title", has_text=re.compile(rf"^{re.escape(title)}$")
        )
    )


def fits_the_screen(page: Page) -> None:
    """Nothing runs off the side: the page is no wider than the 320-pixel screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide at {PHONE['width']}px"


def open_from_the_menu(page: Page) -> None:
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Your commitments").click()
    expect(page).to_have_url(re.compile(r"/commitments$"))


def cleo_reads_her_commitments_on_a_phone(page: Page, cast: Cast) -> None:
    sign_in(page, cast.holder_email)
    page.set_viewport_size(PHONE)
    open_from_the_menu(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your commitments")
    check_current(page)
    fits_the_screen(page)

    running = card(page, cast.running_title)
    expect(running).to_contain_text("Running")
    expect(running).to_contain_text(cast.running_due)
    expect(running.get_by_role("link", name=re.compile("Open the pool"))).to_be_visible()
    expect(card(page, cast.open_title)).to_contain_text(cast.open_due)
    expect(card(page, "Bo Buddy is your buddy")).to_contain_text("Active since")
    expect(card(page, cast.ulo_name)).to_contain_text(cast.membership_due)
    expect(card(page, f"Help you asked for at {cast.ulo_name}")).to_contain_text(
        "Someone to come with me to my review"
    )

    # Each item opens its own page.
    running.get_by_role("link", name=re.compile("Open the pool")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(cast.running_title)
    check_current(page)
    page.go_back()
    sign_out_on_a_phone(page)


def sign_out_on_a_phone(page: Page) -> None:
    """Back to a wide screen, where the menu is open, for the next person to sign in."""
    page.set_viewport_size({"width": 1024, "height": 900})
    sign_out(page)


def cass_sees_them_for_cleo(page: Page, cast: Cast) -> None:
    sign_in(page, cast.carer_email)
    page.set_viewport_size(PHONE)
    open_from_the_menu(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your commitments")
    check_current(page)
    page.get_by_role("group", name="Whose commitments do you want to see?").get_by_label(
        CLEO
    ).check()
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/commitments\?for_whom={cast.holder_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{CLEO}'s commitments")
    expect(card(page, cast.running_title)).to_contain_text(cast.running_due)
    # The conversation is Cleo's and her buddy's alone.
    expect(card(page, "Bo Buddy is your buddy").get_by_role("link")).to_have_count(0)
    check_current(page)
    fits_the_screen(page)
    sign_out_on_a_phone(page)


def test_commitments_on_a_small_screen_for_the_person_and_their_carer(
    page: Page, live_server: LiveServer
) -> None:
    cast = set_the_scene(live_server)
    page.goto("/")
    cleo_reads_her_commitments_on_a_phone(page, cast)
    cass_sees_them_for_cleo(page, cast)
