"""The directory end to end in Chromium, every page checked by axe.

A provider lists a service, a local user-led organisation's moderator approves it, and a budget
holder finds it near a postcode and sends the provider an enquiry. Then the search again with
JavaScript off: the filters are a plain GET form, so ticking a box and pressing the button works.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from uuid import uuid4

import pyotp
import pytest
from playwright.sync_api import Page, expect

from marketplace.extensions import db
from marketplace.organisations.models import ApprovalStatus, OrganisationKind, StaffRole
from marketplace.providers.indexing import rebuild_from_database
from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.scene import approved_ulo, leeds, ulo_moderator
from tests.browser.steps import moderator_opens_the_queue, sign_in, sign_out
from tests.factories import OrganisationFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.browser

SERVICE = "Leeds hearing voices group"
SUMMARY = "A friendly weekly group for people who hear voices, run by people who do too."


@dataclass(frozen=True)
class Cast:
    provider_name: str
    provider_email: str
    moderator_email: str
    moderator_secret: str
    holder_email: str


def set_the_scene(live_server: LiveServer) -> Cast:
    """Leeds, a provider with an owner, a ULO with a moderator, and a budget holder.

    Written straight into the live server's database (the `site` fixture has bound `db` to it).
    """
    suffix = uuid4().hex[:8]
    cast = Cast(
        provider_name=f"Voices Together {suffix}",
        provider_email=f"provider-{suffix}@example.org",
        moderator_email=f"moderator-{suffix}@example.org",
        moderator_secret=pyotp.random_base32(),
        holder_email=f"holder-{suffix}@example.org",
    )
    with live_server.app.app_context():
        council = leeds()

        provider = OrganisationFactory(
            name=cast.provider_name,
            kind=OrganisationKind.PROVIDER.value,
            status=ApprovalStatus.APPROVED.value,
        )
        provider.councils.append(council)
        owner = UserFactory(
            email=cast.provider_email, display_name="Pat Provider", roles=["provider_staff"]
        )
        StaffFactory(organisation=provider, user=owner, role=StaffRole.OWNER.value)

        ulo = approved_ulo(f"Leeds User Voice {suffix}", council)
        ulo_moderator(ulo, cast.moderator_email, cast.moderator_secret, "Mo Moderator")

        UserFactory(email=cast.holder_email, display_name="Hana Holder")
        db.session.commit()
        # The live server shares its index directory with the app the other tests use, which
        # has indexed their (rolled back) listings. Start from this database's listings alone.
        rebuild_from_database()
        db.scoped.remove()
    return cast


# --- Steps shared by the people in the journey ---------------------------------------------


def open_find_services(page: Page) -> None:
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Find services").click()
    expect(page).to_have_url(re.compile(r"/services$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Find services")
    check_current(page)


def fill_in_the_search(page: Page) -> None:
    """On Find services: "voices" within 5 miles of LS1 3AD (the boxes by the Search button)."""
    page.get_by_label("Search for a service").fill("voices")
    page.get_by_label("Near a postcode (optional)").fill("LS1 3AD")
    page.get_by_label("Within").select_option(label="5 miles")


def sort_nearest_first(page: Page, javascript: bool = True) -> None:
    """With JavaScript a new sort order applies at once; without it, by the Sort button."""
    if javascript:
        expect(page.get_by_role("button", name="Sort", exact=True)).to_be_hidden()
        with page.expect_navigation():
            page.get_by_label("Sort by").select_option(label="Nearest first")
        check_current(page)
    else:
        page.get_by_label("Sort by").select_option(label="Nearest first")
        submit_and_check(page, "Sort")


def expect_the_service_near_by(page: Page) -> None:
    """The search is in the URL, and the service is in the results with its distance."""
    for parameter in ("q=voices", r"postcode=LS1\+3AD", "within=5", "sort=distance"):
        expect(page).to_have_url(re.compile(rf"[?&]{parameter}(&|$)"))
    result = page.get_by_role("listitem").filter(
        has=page.get_by_role("link", name=SERVICE, exact=True)
    )
    expect(result).to_contain_text(re.compile(r"\d+\.\d miles away"))


# --- The journey ----------------------------------------------------------------------------


def provider_lists_the_service(page: Page, cast: Cast) -> None:
    sign_in(page, cast.provider_email)
    page.get_by_role("link", name="Your organisation's listings").click()
    expect(page).to_have_url(re.compile(r"/provider/listings$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your listings")
    check_current(page)

    page.get_by_role("button", name=f"List a new service for {cast.provider_name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("List a new service")
    check_current(page)

    # Nothing filled in: an error summary whose every link leads to its field.
    submit_and_check(page, "Save and preview")
    expect(page).to_have_title(re.compile(r"^Error: List a new service"))
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    for message in [
        "Enter the name of the service",
        "Enter a short summary",
        "Select at least one category",
        "Select at least one way the service is delivered",
        "Select at least one language",
        "Say whether it is a mental health service",
    ]:
        link = summary.get_by_role("link", name=message)
        expect(link).to_be_visible()
        target = link.get_attribute("href") or ""
        assert target.startswith("#"), f"{message!r} links to {target!r}"
        expect(page.locator(target)).to_have_count(1)
    expect(page.locator("#name")).to_have_attribute(
        "aria-describedby", re.compile(r"\bname-error\b")
    )

    page.get_by_label("Name of the service").fill(SERVICE)
    page.get_by_label("Summary", exact=True).fill(SUMMARY)
    page.get_by_role("group", name="Categories").get_by_label("Peer support", exact=True).check()
    page.get_by_role("group", name="How is it delivered?").get_by_label("In person").check()
    page.get_by_role("group", name="Council areas you serve").get_by_label("Leeds").check()
    page.get_by_label("Postcode where it happens (optional)").fill("LS1 1UR")
    languages = page.get_by_role("group", name="Languages the service is offered in")
    languages.get_by_label("English", exact=True).check()
    page.get_by_label("Yes, it specialises in mental health").check()
    price = page.get_by_role("group", name="Price 1", exact=True)
    price.get_by_label("Amount in pounds").fill("4.50")
    price.get_by_label("What the price is for").select_option(label="per session")
    fill_in_the_details_council_directories_carry(page)
    submit_and_check(page, "Save and preview")

    expect(page.get_by_role("heading", level=1)).to_have_text(SERVICE)
    expect(page.get_by_text("Draft saved. Check it, then send it for approval")).to_be_visible()
    expect(page.get_by_role("heading", name="Preview")).to_be_visible()
    expect(page.get_by_text("£4.50 per session")).to_be_visible()

    submit_and_check(page, "Send for approval")
    expect(page.get_by_text("Sent for checking")).to_be_visible()
    expect(page.get_by_text("Waiting for approval")).to_be_visible()
    expect(page.get_by_role("button", name="Send for approval")).to_have_count(0)
    sign_out(page)


def fill_in_the_details_council_directories_carry(page: Page) -> None:
    """Address, Tuesday's opening times, ages, how to get in: a time written the wrong way
    comes back beside its box with what was typed, and is put right."""
    address = page.get_by_role("group", name="Address where it happens (optional)")
    address.get_by_label("Address line 1", exact=True).fill("Civic Hall")
    address.get_by_label("Town or city", exact=True).fill("Leeds")
    tuesday = page.get_by_role("group", name="Tuesday", exact=True)
    tuesday.get_by_label("Opens", exact=True).fill("18:00")
    tuesday.get_by_label("Closes", exact=True).fill("8pm")
    page.get_by_label("Youngest age (optional)").fill("18")
    page.get_by_label("Contact the provider yourself (self-referral)").check()
    page.get_by_label("How long do people usually wait to start? (optional)").fill("No wait")
    submit_and_check(page, "Save and preview")

    message = "Enter the time it closes on Tuesday. Use the 24-hour clock, like 09:30 or 17:00"
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("link", name=message)).to_have_attribute("href", "#day1_closes")
    expect(page.locator("#day1_closes-error")).to_contain_text(message)
    expect(page.locator("#day1_closes")).to_have_value("8pm")
    expect(page.locator("#address_line_1")).to_have_value("Civic Hall")
    expect(page.get_by_label("Contact the provider yourself (self-referral)")).to_be_checked()
    page.get_by_role("group", name="Tuesday", exact=True).get_by_label("Closes", exact=True).fill(
        "20:00"
    )


def expect_the_details_on_the_service_page(page: Page) -> None:
    details = page.locator(".govuk-summary-list")
    expect(details.get_by_text("Civic Hall")).to_be_visible()
    expect(details.get_by_text("Tuesday: 6pm to 8pm")).to_be_visible()
    expect(details.get_by_text("18 and over")).to_be_visible()
    expect(details.get_by_text("Contact the provider yourself (self-referral)")).to_be_visible()
    expect(details.get_by_text("Usual wait: No wait")).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"^Last checked by the provider on \d+ \w+ \d{4}\.$"))
    ).to_be_visible()


def moderator_approves_it(page: Page, cast: Cast) -> None:
    moderator_opens_the_queue(page, cast.moderator_email, cast.moderator_secret)

    page.get_by_role("link", name=SERVICE, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SERVICE)
    check_current(page)

    submit_and_check(page, "I will deal with this")
    expect(page.get_by_text("You are dealing with this now")).to_be_visible()
    page.get_by_label("Approve and publish").check()
    submit_and_check(page, "Save decision")
    expect(page).to_have_url(re.compile(r"/moderation$"))
    expect(page.get_by_text("Decision saved")).to_be_visible()
    expect(page.get_by_role("link", name=SERVICE, exact=True)).to_have_count(0)
    sign_out(page)


def holder_finds_it_and_enquires(page: Page, cast: Cast) -> None:
    sign_in(page, cast.holder_email)
    open_find_services(page)
    fill_in_the_search(page)
    submit_and_check(page, "Search")
    sort_nearest_first(page)
    expect_the_service_near_by(page)

    page.get_by_role("link", name=SERVICE, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SERVICE)
    expect(page.get_by_text("£4.50 per session")).to_be_visible()
    check_current(page)
    expect_the_details_on_the_service_page(page)

    page.get_by_role("link", name=f"Send {cast.provider_name} an enquiry").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Ask about {SERVICE}")
    check_current(page)
    page.get_by_label("Subject").fill("Places on Tuesdays?")
    message = "Hello, is there room in the Tuesday group? I would like to come along."
    page.get_by_label("Your message").fill(message)
    submit_and_check(page, "Send enquiry")

    expect(page.get_by_text("Your enquiry has been sent")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Places on Tuesdays?")
    expect(page.get_by_text(message)).to_be_visible()
    sign_out(page)


def provider_confirms_it_is_still_right(page: Page, cast: Cast) -> None:
    sign_in(page, cast.provider_email)
    page.get_by_role("link", name="Your organisation's listings").click()
    page.get_by_role("link", name=SERVICE, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SERVICE)
    check_current(page)
    expect(page.get_by_role("heading", name="Is this listing still right?")).to_be_visible()
    expect(page.locator("#check-reminder")).to_contain_text("We will email you a reminder")
    submit_and_check(page, "This listing is still right")
    thanks = "Thank you. The listing now shows it was checked today"
    expect(page.get_by_text(thanks)).to_be_visible()
    sign_out(page)


def test_provider_lists_moderator_approves_holder_finds_and_enquires(
    live_server: LiveServer, new_page: Callable[..., Page]
) -> None:
    cast = set_the_scene(live_server)
    # One browser, one person after another, as on a shared computer: signing out clears the
    # session and leaves the home page, where the next person signs in.
    page = new_page()
    goto_and_check(page, "/")
    provider_lists_the_service(page, cast)
    moderator_approves_it(page, cast)
    holder_finds_it_and_enquires(page, cast)
    provider_confirms_it_is_still_right(page, cast)

    # The same search without JavaScript, with a category ticked too: a plain GET form, so the
    # whole search is in the URL and comes back filled in on the results page.
    page = new_page(java_script_enabled=False)
    goto_and_check(page, "/services")
    fill_in_the_search(page)
    # Without JavaScript the filters start folded away, behind "Filter".
    peer_support = page.get_by_role("group", name="Category", exact=True).get_by_label(
        re.compile(r"^Peer support\b")
    )
    expect(peer_support).to_be_hidden()
    page.get_by_text("Filter", exact=True).click()
    peer_support.check()
    submit_and_check(page, "Apply filters")
    sort_nearest_first(page, javascript=False)
    expect(page).to_have_url(re.compile(r"[?&]category=peer-support(&|$)"))
    expect_the_service_near_by(page)
    page.get_by_text("Filter (1 chosen)", exact=True).click()
    expect(peer_support).to_be_checked()
    expect(page.get_by_label("Search for a service")).to_have_value("voices")
    expect(page.get_by_label("Near a postcode (optional)")).to_have_value("LS1 3AD")
    expect(page.get_by_label("Sort by")).to_have_value("distance")
