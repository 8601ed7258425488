"""Finding a service from a postcode, in Chromium, every page checked by axe.

Someone at home types a postcode and a misspelled word: they find an online service for all of
England as well as one nearby, each saying which it is; they open one and go back to exactly the
search they made. Then on a phone-sized screen without JavaScript: the filters are folded away
behind "Filter", so the results come first, and sorting works with the Sort button.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from uuid import uuid4

import pytest
from playwright.sync_api import Page, expect

from marketplace.extensions import db
from marketplace.organisations.models import ApprovalStatus, OrganisationKind, StaffRole
from marketplace.providers.indexing import rebuild_from_database
from marketplace.providers.models import ListingStatus
from marketplace.providers.services import create_listing
from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.scene import leeds
from tests.factories import OrganisationFactory, StaffFactory, UserFactory
from tests.listing_helpers import listing_data

pytestmark = pytest.mark.browser


def set_the_scene(live_server: LiveServer) -> tuple[str, str]:
    """A Leeds provider with a befriending cafe in Leeds and online befriending for England."""
    suffix = uuid4().hex[:8]
    national = f"Online befriending calls {suffix}"
    nearby = f"Befriending cafe {suffix}"
    with live_server.app.app_context():
        council = leeds()
        provider = OrganisationFactory(
            name=f"Kind Company {suffix}",
            kind=OrganisationKind.PROVIDER.value,
            status=ApprovalStatus.APPROVED.value,
        )
        provider.councils.append(council)
        owner = UserFactory(roles=["provider_staff"])
        StaffFactory(organisation=provider, user=owner, role=StaffRole.OWNER.value)
        for data in (
            listing_data(
                db.session,
                council,
                name=national,
                summary="A weekly video or phone call with the same volunteer befriender.",
                council_ids=(),
                delivery_modes=("online", "phone"),
                serves_nationally=True,
            ),
            listing_data(
                db.session,
                council,
                name=nearby,
                summary="Tea and befriending in the city centre.",
                postcode="LS1 3AD",
            ),
        ):
            listing = create_listing(db.session, owner, provider, data)
            listing.status = ListingStatus.PUBLISHED.value
        db.session.commit()
        rebuild_from_database()  # this database's listings alone (see the directory journey)
        db.scoped.remove()
    return national, nearby


def result(page: Page, name: str):
    return page.get_by_role("listitem").filter(has=page.get_by_role("link", name=name, exact=True))


def test_a_postcode_search_finds_online_services_forgives_typos_and_comes_back(
    live_server: LiveServer, new_page: Callable[..., Page]
) -> None:
    national, nearby = set_the_scene(live_server)
    page = new_page()
    goto_and_check(page, "/services")
    page.get_by_label("Search for a service").fill("befreinding")  # two letters swapped
    page.get_by_label("Near a postcode (optional)").fill("LS1 4DY")
    page.get_by_label("Within").select_option(label="1 mile")
    submit_and_check(page, "Search")

    expect(
        page.get_by_text(re.compile(r"Services within 1 mile of LS1 4DY, and services online"))
    ).to_be_visible()
    expect(result(page, nearby)).to_contain_text(re.compile(r"\d\.\d miles away"))
    expect(result(page, national)).to_contain_text("Online or by phone, for anyone in England")
    search_url = page.url

    page.get_by_role("link", name=national, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(national)
    expect(page.get_by_text("Anyone in England, online or by phone")).to_be_visible()
    check_current(page)
    page.get_by_role("link", name="Back to search").click()
    expect(page).to_have_url(search_url)
    expect(page.get_by_label("Search for a service")).to_have_value("befreinding")
    expect(page.get_by_label("Near a postcode (optional)")).to_have_value("LS1 4DY")
    expect(page.get_by_label("Within")).to_have_value("1")
    expect(result(page, national)).to_be_visible()
    check_current(page)

    # A phone, no JavaScript: the results come before the filters, which fold behind "Filter".
    phone = new_page(java_script_enabled=False, viewport={"width": 320, "height": 640})
    goto_and_check(phone, search_url.removeprefix(live_server.url))
    expect(phone.get_by_role("group", name="Category", exact=True)).to_be_hidden()
    first = phone.locator(".app-results h2 a").first
    box = first.bounding_box()
    # Before the filters folded away, the first result began about 1,600 px down.
    assert box is not None and box["y"] < 1200, box
    phone.get_by_label("Sort by").select_option(label="Nearest first")
    submit_and_check(phone, "Sort")
    expect(phone).to_have_url(re.compile(r"[?&]sort=distance(&|$)"))
    links = phone.locator(".app-results h2 a")
    expect(links.first).to_have_text(nearby)
