"""Reporting a review and appealing the decision, end to end in Chromium, every page checked by axe.

A holder reports a published review, a moderator of the local user-led organisation hides it,
the review's author follows the link in the decision email and appeals (with JavaScript off:
the link works without signing in, on a plain form), the moderator who decided cannot take the
appeal, and a second moderator overturns it so the review is public again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from uuid import uuid4

import pyotp
import pytest
from playwright.sync_api import Page, expect

from marketplace.db import utcnow
from marketplace.engagement.models import Review, ReviewStatus
from marketplace.extensions import db
from marketplace.providers import services as providers
from marketplace.providers.models import ListingStatus
from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.scene import approved_ulo, leeds, ulo_moderator
from tests.browser.steps import moderator_opens_the_queue, sign_in, sign_out
from tests.conftest import Mailbox
from tests.factories import UserFactory
from tests.listing_helpers import listing_data, provider_with_staff

pytestmark = pytest.mark.browser

AUTHOR = "Rev Author"
HAL = "Hal Holder"
REVIEW_BODY = "They never turned up and shouted at my carer."
REPORT_DETAILS = "This names my carer and is not true."
HIDE_REASON = "The review names a person and makes claims we cannot check."
APPEAL_TEXT = "Everything I wrote happened. I did not name anyone."
OVERTURN_REASON = "The review does not name anyone; it is a fair account."
RUDE = "Rude or abusive"
APPEAL_SUMMARY = "Appeal against: hidden from other people"


@dataclass(frozen=True)
class Cast:
    listing_id: int
    listing_name: str
    review_id: int
    author_email: str
    holder_email: str
    first_moderator_email: str
    first_moderator_secret: str
    second_moderator_email: str
    second_moderator_secret: str


def set_the_scene(live_server: LiveServer) -> Cast:
    """Leeds, a published service with a published review, a holder, and a ULO with two
    moderators. Written straight into the live server's database."""
    suffix = uuid4().hex[:8]
    first_secret, second_secret = pyotp.random_base32(), pyotp.random_base32()
    with live_server.app.app_context():
        council = leeds()

        ulo = approved_ulo(f"Leeds Moderation Network {suffix}", council)
        moderators = []
        for name, secret in (("Mo First", first_secret), ("Max Second", second_secret)):
            email = f"{name.split()[1].lower()}-moderator-{suffix}@example.org"
            moderators.append(ulo_moderator(ulo, email, secret, name))

        # The listing, as if a moderator had approved it: published in Leeds.
        org, staff, _ = provider_with_staff(council, name=f"Calm Walks Ltd {suffix}")
        listing = providers.create_listing(
            db.session,
            staff,
            org,
            listing_data(db.session, council, name=f"Calm Walks {suffix}"),
        )
        listing.status = ListingStatus.PUBLISHED.value
        listing.published_at = utcnow()

        author = UserFactory(
            email=f"rev-{suffix}@example.org", display_name=AUTHOR, roles=["holder"]
        )
        holder = UserFactory(email=f"hal-{suffix}@example.org", display_name=HAL, roles=["holder"])
        review = Review(
            listing=listing,
            author=author,
            rating=2,
            body=REVIEW_BODY,
            status=ReviewStatus.PUBLISHED.value,
            published_at=utcnow(),
        )
        db.session.add(review)
        db.session.commit()
        cast = Cast(
            listing_id=listing.id,
            listing_name=listing.name,
            review_id=review.id,
            author_email=author.email,
            holder_email=holder.email,
            first_moderator_email=moderators[0].email,
            first_moderator_secret=first_secret,
            second_moderator_email=moderators[1].email,
            second_moderator_secret=second_secret,
        )
        db.scoped.remove()
    return cast


def service_path(cast: Cast) -> str:
    return f"/services/{cast.listing_id}"


def review_is_public(new_page: Callable[..., Page], cast: Cast, shown: bool) -> None:
    """What a visitor who is not signed in sees on the service page."""
    visitor = new_page()
    goto_and_check(visitor, service_path(cast))
    expect(visitor.get_by_role("heading", level=1)).to_have_text(cast.listing_name)
    expect(visitor.get_by_text(REVIEW_BODY)).to_have_count(1 if shown else 0)
    if shown:
        expect(visitor.get_by_text("from 1 review.")).to_be_visible()
    else:
        expect(visitor.get_by_text("No reviews yet.")).to_be_visible()
    visitor.context.close()


def open_queue_item(page: Page, summary: str) -> None:
    page.get_by_role("link", name=summary, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(summary)
    check_current(page)


# --- The journey ----------------------------------------------------------------------------


def hal_reports_the_review(page: Page, cast: Cast) -> None:
    goto_and_check(page, "/")
    sign_in(page, cast.holder_email)
    goto_and_check(page, service_path(cast))
    expect(page.get_by_text(REVIEW_BODY)).to_be_visible()
    page.get_by_role("link", name=f"Report this review by {AUTHOR}").click()
    expect(page).to_have_url(re.compile(rf"/report/review/{cast.review_id}$"))
    heading = f"Report a review of {cast.listing_name}"
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    check_current(page)

    # No reason: the error summary leads to the field, the message is beside it.
    submit_and_check(page, "Send report")
    expect(page).to_have_title(re.compile(r"^Error: "))
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    link = summary.get_by_role("link", name="Choose why you are reporting this")
    expect(link).to_be_visible()
    target = link.get_attribute("href") or ""
    assert target.startswith("#"), f"the reason error links to {target!r}"
    expect(page.locator(target)).to_have_count(1)
    expect(page.locator("#reason-error")).to_contain_text("Choose why you are reporting this")

    reasons = page.get_by_role("group", name="Why are you reporting this?")
    reasons.get_by_label(RUDE, exact=True).check()
    page.get_by_label("Tell us more (optional)").fill(REPORT_DETAILS)
    submit_and_check(page, "Send report")
    expect(page).to_have_url(re.compile(rf"/services/{cast.listing_id}$"))
    expect(page.get_by_text("Thank you. A moderator will look at your report")).to_be_visible()
    # A report alone hides nothing.
    expect(page.get_by_text(REVIEW_BODY)).to_be_visible()
    sign_out(page)


def first_moderator_hides_it(page: Page, cast: Cast) -> None:
    moderator_opens_the_queue(page, cast.first_moderator_email, cast.first_moderator_secret)
    open_queue_item(page, f"Report ({RUDE}): a review of {cast.listing_name}")
    expect(page.get_by_text(REPORT_DETAILS)).to_be_visible()
    expect(page.get_by_role("heading", name="The report")).to_be_visible()
    expect(page.locator(".govuk-inset-text", has_text=REVIEW_BODY)).to_be_visible()

    submit_and_check(page, "I will deal with this")
    expect(page.get_by_text("You are dealing with this now")).to_be_visible()
    decision = page.get_by_role("group", name="Your decision")
    decision.get_by_label("Hide it (the owner can appeal)").check()
    page.get_by_label("Reason (the person affected will see this)").fill(HIDE_REASON)
    submit_and_check(page, "Save decision")
    expect(page).to_have_url(re.compile(r"/moderation$"))
    expect(page.get_by_text("Decision saved")).to_be_visible()
    sign_out(page)


def hal_sees_what_happened_to_his_report(page: Page, cast: Cast, mailbox: Mailbox) -> None:
    told = mailbox.last_to(cast.holder_email)
    assert told["Subject"] == "What happened to your report"
    assert HIDE_REASON not in told.get_payload(decode=True).decode()  # never the moderator's note
    goto_and_check(page, "/")
    sign_in(page, cast.holder_email)
    page.get_by_role("link", name="Your reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your reports")
    check_current(page)
    expect(
        page.get_by_text("A moderator agreed, and it is now hidden from other people")
    ).to_be_visible()
    sign_out(page)


def author_appeals_without_javascript(
    new_page: Callable[..., Page], cast: Cast, mailbox: Mailbox
) -> None:
    email = mailbox.last_to(cast.author_email)
    assert email["Subject"] == "A moderator's decision about your account"
    body = email.get_payload(decode=True).decode()
    assert HIDE_REASON in body
    found = re.search(r"https?://\S+/moderation/appeals/\d+\?t=\S+", body)
    assert found, f"no appeal link in the email:\n{body}"

    # The link works without signing in, and the form works without JavaScript.
    author = new_page(java_script_enabled=False)
    goto_and_check(author, found.group(0))
    expect(author.get_by_role("heading", level=1)).to_have_text("A moderator's decision")
    expect(author.get_by_text("hidden from other people")).to_be_visible()
    expect(author.get_by_text(HIDE_REASON)).to_be_visible()

    submit_and_check(author, "Send appeal")
    expect(author).to_have_title(re.compile(r"^Error: "))
    expect(author.locator("#text-error")).to_contain_text("Tell us why the decision should change")

    author.get_by_label("Why should the decision change?").fill(APPEAL_TEXT)
    submit_and_check(author, "Send appeal")
    expect(
        author.get_by_text("Your appeal has been sent. A different moderator will look at it")
    ).to_be_visible()
    expect(author.get_by_text("You appealed this decision")).to_be_visible()
    expect(author.get_by_role("button", name="Send appeal")).to_have_count(0)
    author.context.close()


def first_moderator_cannot_take_the_appeal(page: Page, cast: Cast) -> None:
    moderator_opens_the_queue(page, cast.first_moderator_email, cast.first_moderator_secret)
    open_queue_item(page, APPEAL_SUMMARY)
    expect(
        page.get_by_text(
            "You made the decision being appealed, so a different moderator must deal with this."
        )
    ).to_be_visible()
    expect(page.get_by_role("button", name="I will deal with this")).to_have_count(0)
    expect(page.get_by_role("button", name="Save decision")).to_have_count(0)
    sign_out(page)


def second_moderator_overturns(page: Page, cast: Cast) -> None:
    moderator_opens_the_queue(page, cast.second_moderator_email, cast.second_moderator_secret)
    open_queue_item(page, APPEAL_SUMMARY)
    expect(page.get_by_role("heading", name="The decision appealed")).to_be_visible()
    expect(page.get_by_text(APPEAL_TEXT)).to_be_visible()
    expect(page.get_by_text(HIDE_REASON)).to_be_visible()

    submit_and_check(page, "I will deal with this")
    expect(page.get_by_text("You are dealing with this now")).to_be_visible()
    page.get_by_role("group", name="Your decision").get_by_label(
        "Overturn it and undo its effect"
    ).check()
    page.get_by_label("Reason (the person affected will see this)").fill(OVERTURN_REASON)
    submit_and_check(page, "Save decision")
    expect(page).to_have_url(re.compile(r"/moderation$"))
    expect(page.get_by_text("Decision saved")).to_be_visible()
    expect(page.get_by_role("link", name=APPEAL_SUMMARY, exact=True)).to_have_count(0)
    sign_out(page)


def test_holder_reports_moderator_hides_author_appeals_second_moderator_restores(
    live_server: LiveServer,
    page: Page,
    new_page: Callable[..., Page],
    mailbox: Mailbox,
) -> None:
    cast = set_the_scene(live_server)
    review_is_public(new_page, cast, shown=True)

    hal_reports_the_review(page, cast)
    first_moderator_hides_it(page, cast)
    review_is_public(new_page, cast, shown=False)
    hal_sees_what_happened_to_his_report(page, cast, mailbox)

    author_appeals_without_javascript(new_page, cast, mailbox)
    first_moderator_cannot_take_the_appeal(page, cast)
    second_moderator_overturns(page, cast)
    review_is_public(new_page, cast, shown=True)

    outcome = mailbox.last_to(cast.author_email)
    assert outcome["Subject"] == "Your appeal has been looked at"
    assert OVERTURN_REASON in outcome.get_payload(decode=True).decode()
