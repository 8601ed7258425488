"""Budget buddies end to end in Chromium, every page checked by axe.

Someone who has held a budget for two years offers to be a buddy, one question a page, with a
few words about herself; the local user-led organisation's moderator reads them and confirms the
offer after the induction; someone new asks for a buddy through the question pages, sees her
words with the suggestion, says hello once and picks her; she answers the hello and says yes, and
the two talk, pause, resume and end the pairing. Then the ask pages again with JavaScript off:
plain forms, so they work without scripts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from uuid import uuid4

import pyotp
import pytest
from playwright.sync_api import Locator, Page, expect

from marketplace.extensions import db
from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.scene import approved_ulo, leeds, ulo_moderator
from tests.browser.steps import moderator_opens_the_queue, sign_in, sign_out
from tests.conftest import Mailbox
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser

BEA = "Bea Buddy"
SAM = "Sam Seeker"
EMPLOYING_A_PA = "Finding and employing a personal assistant"
DIRECT_PAYMENT = "Direct payment (the money is paid to me)"
OFFER = "Offer to be a budget buddy in Leeds"
HELLO = "Hello Sam, happy to help"
ABOUT_BEA = "I employed my first PA two years ago and still remember how daunting it was."
FIRST_HELLO = "Hi Bea, how did you find your PA?"
HELLO_ANSWER = "Through a local agency. Ask me and I will tell you more."
REPLY = "Thank you Bea. Could we talk about PA contracts first?"


@dataclass(frozen=True)
class Cast:
    buddy_email: str
    seeker_email: str
    moderator_email: str
    moderator_secret: str


def set_the_scene(live_server: LiveServer) -> Cast:
    """Leeds, a ULO covering it with a moderator, and two people. Nothing about buddies yet.

    Written straight into the live server's database (the `site` fixture has bound `db` to it).
    """
    suffix = uuid4().hex[:8]
    cast = Cast(
        buddy_email=f"bea-{suffix}@example.org",
        seeker_email=f"sam-{suffix}@example.org",
        moderator_email=f"buddy-moderator-{suffix}@example.org",
        moderator_secret=pyotp.random_base32(),
    )
    with live_server.app.app_context():
        council = leeds()

        ulo = approved_ulo(f"Leeds Buddies Network {suffix}", council)
        ulo_moderator(ulo, cast.moderator_email, cast.moderator_secret, "Mo Moderator")

        UserFactory(email=cast.buddy_email, display_name=BEA)
        UserFactory(email=cast.seeker_email, display_name=SAM)
        db.session.commit()
        db.scoped.remove()
    return cast


# --- Steps shared by the people in the journey ---------------------------------------------


def open_budget_buddies(page: Page) -> None:
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Budget buddies").click()
    expect(page).to_have_url(re.compile(r"/buddies$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Budget buddies")
    check_current(page)


def open_pairing_with(page: Page, name: str) -> None:
    """From Budget buddies, the pairing in the "Your pairings" table."""
    pairings = page.get_by_role("table", name="Your pairings")
    pairings.get_by_role("link", name=name, exact=True).click()
    expect(page).to_have_url(re.compile(r"/buddies/pairings/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    check_current(page)


def answer(page: Page, question: str, fill: Callable[[], object] | None = None) -> None:
    """On a question page (the question is the page heading): answer it and press Continue."""
    expect(page.get_by_role("heading", level=1)).to_have_text(question)
    expect(page.get_by_role("link", name="Back")).to_be_visible()
    if fill is not None:
        fill()
    submit_and_check(page, "Continue")


def in_group(page: Page, question: str, label: str) -> Locator:
    return page.get_by_role("group", name=question).get_by_label(label, exact=True)


def fill_in_the_ask_pages(page: Page) -> None:
    """One question a page: help employing a PA in Leeds, by phone, in the evenings."""
    help_with = "What would you like help with?"
    answer(page, help_with, lambda: in_group(page, help_with, EMPLOYING_A_PA).check())
    council = "Which council gives you your budget?"
    answer(page, council, lambda: page.get_by_label(council).select_option(label="Leeds"))
    holding = "How do you hold your budget?"
    answer(page, holding, lambda: in_group(page, holding, DIRECT_PAYMENT).check())
    languages = "Which languages can you talk in?"
    expect(in_group(page, languages, "English")).to_be_checked()  # the default
    answer(page, languages)
    ways = "How would you like to keep in touch?"
    answer(page, ways, lambda: in_group(page, ways, "Phone calls").check())
    times = "When suits you?"
    answer(page, times, lambda: in_group(page, times, "Evenings").check())
    answer(page, "What is your postcode? (optional)")
    answer(page, "Would you only like a buddy of a certain gender? (optional)")
    answer(page, "What is your gender? (optional)")
    answer(page, "Are there experiences you would like your buddy to understand? (optional)")
    expect(page).to_have_url(re.compile(r"/buddies/ask/check$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Check your answers before asking for a buddy"
    )
    answers = page.locator(".govuk-summary-list")
    expect(answers).to_contain_text(EMPLOYING_A_PA)
    expect(answers).to_contain_text("Evenings")


def conversation(page: Page) -> Locator:
    return page.locator(".app-conversation")


# --- The journey ----------------------------------------------------------------------------


def bea_offers_to_be_a_buddy(page: Page, cast: Cast) -> None:
    sign_in(page, cast.buddy_email)
    open_budget_buddies(page)
    page.get_by_role("button", name="Offer to be a buddy").click()
    expect(page).to_have_url(re.compile(r"/buddies/offer/council$"))
    check_current(page)

    council = "Which council gives you your budget?"
    answer(page, council, lambda: page.get_by_label(council).select_option(label="Leeds"))
    question = "How many months have you had a personal budget or direct payment?"
    months = page.get_by_label(question)
    answer(page, question, lambda: months.fill("3"))

    # Three months is too few: the error summary leads to the field, the message is beside it.
    expect(page).to_have_title(re.compile(r"^Error: How many months have you had"))
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    six_months = re.compile(r"Buddies have held a budget for at least 6 months")
    link = summary.get_by_role("link", name=six_months)
    expect(link).to_be_visible()
    target = link.get_attribute("href") or ""
    assert target.startswith("#"), f"the six-month error links to {target!r}"
    expect(page.locator(target)).to_have_count(1)
    expect(page.locator("#months_holding-error")).to_contain_text(six_months)
    expect(months).to_have_attribute("aria-describedby", re.compile(r"\bmonths_holding-error\b"))
    page.screenshot(path="/tmp/buddyprof-question-error.png", full_page=True)
    answer(page, question, lambda: months.fill("24"))

    holding = "How do you hold your budget?"
    answer(page, holding, lambda: in_group(page, holding, DIRECT_PAYMENT).check())
    help_with = "What could you help someone with?"
    answer(page, help_with, lambda: in_group(page, help_with, EMPLOYING_A_PA).check())
    answer(page, "What have you used your own budget for? (optional)")
    languages = "Which languages can you talk in?"
    expect(in_group(page, languages, "English")).to_be_checked()  # the default
    answer(page, languages)
    ways = "How would you like to keep in touch?"

    def phone_and_messages() -> None:
        in_group(page, ways, "Phone calls").check()
        in_group(page, ways, "Messages on this site").check()

    answer(page, ways, phone_and_messages)
    times = "When are you free to talk?"
    answer(page, times, lambda: in_group(page, times, "Evenings").check())
    capacity = "How many people could you be a buddy to at once?"
    answer(page, capacity, lambda: in_group(page, capacity, "2").check())
    about = "About you, in your own words (optional)"
    expect(
        page.get_by_text("Your local user-led organisation reads it before anyone else sees it.")
    ).to_be_visible()
    answer(page, about, lambda: page.get_by_label(about).fill(ABOUT_BEA))
    answer(page, "What is your postcode? (optional)")
    answer(page, "Would you only like to be paired with someone of a certain gender? (optional)")
    answer(page, "What is your gender? (optional)")
    answer(page, "Are there experiences you would be happy to talk about? (optional)")

    expect(page).to_have_url(re.compile(r"/buddies/offer/check$"))
    answers = page.locator(".govuk-summary-list")
    expect(answers).to_contain_text("24 months")
    expect(answers).to_contain_text(ABOUT_BEA)
    # Change one answer: back to the check page, with the new answer.
    answers.get_by_role("link", name="Change people at once").click()
    expect(in_group(page, capacity, "2")).to_be_checked()  # what she chose is kept
    answer(page, capacity, lambda: in_group(page, capacity, "1").check())
    expect(page).to_have_url(re.compile(r"/buddies/offer/check$"))
    page.screenshot(path="/tmp/buddyprof-offer-check.png", full_page=True)
    submit_and_check(page, "Send my offer")
    expect(page).to_have_url(re.compile(r"/buddies$"))
    expect(
        page.get_by_text("Thank you. Your local user-led organisation will be in touch")
    ).to_be_visible()
    expect(page.get_by_text("Thank you for offering.")).to_be_visible()
    sign_out(page)


def moderator_confirms_the_offer(page: Page, cast: Cast) -> None:
    moderator_opens_the_queue(page, cast.moderator_email, cast.moderator_secret)

    page.get_by_role("link", name=OFFER, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(OFFER)
    expect(page.get_by_text("24 months")).to_be_visible()
    expect(page.get_by_text(ABOUT_BEA)).to_be_visible()  # she reads the words before anyone
    check_current(page)

    claim = page.get_by_role("button", name="I will deal with this")
    if claim.count():
        submit_and_check(page, "I will deal with this")
    page.get_by_label("Confirm: they have done our buddy induction").check()
    submit_and_check(page, "Save decision")
    expect(page).to_have_url(re.compile(r"/moderation$"))
    expect(page.get_by_text("Decision saved")).to_be_visible()
    expect(page.get_by_role("link", name=OFFER, exact=True)).to_have_count(0)
    sign_out(page)


def sam_asks_for_a_buddy_says_hello_and_picks_bea(page: Page, cast: Cast, mailbox: Mailbox) -> None:
    sign_in(page, cast.seeker_email)
    open_budget_buddies(page)
    page.get_by_role("button", name="Ask for a buddy").click()
    expect(page).to_have_url(re.compile(r"/buddies/ask/help$"))
    check_current(page)
    fill_in_the_ask_pages(page)
    submit_and_check(page, "Ask for a buddy")

    expect(page).to_have_url(re.compile(r"/buddies/requests/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Suggested buddies")
    expect(
        page.get_by_text("You have asked for a buddy. Here are the people we suggest")
    ).to_be_visible()
    card = page.locator(".govuk-summary-card").filter(
        has=page.get_by_role("heading", name=BEA, exact=True)
    )
    expect(card).to_contain_text("knows Leeds council's process")
    expect(card).to_contain_text(ABOUT_BEA)
    expect(card).to_contain_text(EMPLOYING_A_PA)
    expect(card).to_contain_text("Evenings")
    page.screenshot(path="/tmp/buddyprof-suggestions.png", full_page=True)

    card.get_by_role("link", name=f"Say hello to {BEA} first").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Say hello to {BEA}")
    check_current(page)
    page.get_by_label("Your hello").fill(FIRST_HELLO)
    submit_and_check(page, "Send hello")
    expect(page.get_by_text("Your hello is sent")).to_be_visible()
    size = page.viewport_size
    assert size is not None
    page.set_viewport_size({"width": 320, "height": 640})
    page.screenshot(path="/tmp/buddyprof-hello-320.png", full_page=True)
    page.set_viewport_size(size)
    expect(page.get_by_text(FIRST_HELLO)).to_be_visible()
    email = mailbox.last_to(cast.buddy_email)
    assert email["Subject"] == "Someone said hello"
    assert FIRST_HELLO not in email.get_payload(decode=True).decode()
    page.get_by_role("link", name="Suggested buddies").click()
    check_current(page)
    expect(card).to_contain_text("You said hello on")

    submit_and_check(page, f"Ask {BEA}")
    expect(page.get_by_text(f"We have asked {BEA}").first).to_be_visible()
    expect(page.get_by_role("button", name=f"Ask {BEA}")).to_have_count(0)
    email = mailbox.last_to(cast.buddy_email)
    assert email["Subject"] == "Someone would like you to be their budget buddy"
    sign_out(page)


def bea_answers_the_hello(page: Page, cast: Cast) -> None:
    page.get_by_role("link", name=f"Hello from {SAM}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello from {SAM}")
    expect(page.get_by_text(FIRST_HELLO)).to_be_visible()
    check_current(page)
    page.get_by_label("Your answer").fill(HELLO_ANSWER)
    submit_and_check(page, "Send answer")
    expect(page.get_by_text("Your answer is sent")).to_be_visible()
    expect(page.get_by_role("button", name="Send answer")).to_have_count(0)  # once
    page.get_by_role("link", name="Budget buddies", exact=True).last.click()  # the back link
    check_current(page)


def bea_says_yes_and_says_hello(page: Page, cast: Cast) -> None:
    sign_in(page, cast.buddy_email)
    open_budget_buddies(page)
    bea_answers_the_hello(page, cast)
    pairings = page.get_by_role("table", name="Your pairings")
    expect(pairings.get_by_role("row", name=re.compile(SAM))).to_contain_text(
        "Waiting for your answer"
    )
    open_pairing_with(page, SAM)
    expect(page.get_by_role("heading", name="They would like help with")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text=EMPLOYING_A_PA)).to_be_visible()
    submit_and_check(page, "Yes, be their buddy")
    expect(page.get_by_text("You are now buddies")).to_be_visible()

    page.get_by_label("Your message").fill(HELLO)
    submit_and_check(page, "Send message")
    expect(page).to_have_url(re.compile(r"/buddies/pairings/\d+#latest$"))
    expect(page.get_by_text("Message sent")).to_be_visible()
    # Heard at once, though the address has a fragment: the banner has focus, the title says so.
    expect(page.get_by_role("alert").filter(has_text="Message sent")).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Message sent – Budget buddy: "))
    expect(conversation(page).get_by_role("listitem").last).to_contain_text(HELLO)
    expect(conversation(page).get_by_role("heading", name="You")).to_be_visible()
    sign_out(page)


def sam_talks_pauses_resumes_and_ends(page: Page, cast: Cast) -> None:
    sign_in(page, cast.seeker_email)
    open_budget_buddies(page)
    open_pairing_with(page, BEA)
    latest = conversation(page).get_by_role("listitem").last
    expect(latest.get_by_role("heading")).to_have_text(BEA)
    expect(latest).to_contain_text(HELLO)
    about = page.get_by_role("heading", name=f"About {BEA}")
    expect(about).to_be_visible()
    expect(page.get_by_text("24 months, in Leeds")).to_be_visible()

    page.get_by_label("Your message").fill(REPLY)
    submit_and_check(page, "Send message")
    expect(conversation(page).get_by_role("listitem")).to_have_count(2)
    expect(conversation(page).get_by_role("listitem").last).to_contain_text(REPLY)

    page.get_by_role("link", name="Pause for a while").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pause the pairing")
    check_current(page)
    page.get_by_label("1 week").check()
    submit_and_check(page, "Pause")
    expect(page.get_by_text("The pairing is paused", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"until \d+ \w+ \d{4}"))).to_be_visible()
    expect(page.get_by_label("Your message")).to_have_count(0)  # no messages while paused

    submit_and_check(page, "Resume the pairing")
    expect(page.get_by_text("The pairing is active again")).to_be_visible()
    expect(page.get_by_label("Your message")).to_be_visible()

    page.get_by_role("link", name="End the pairing").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("End the pairing")
    check_current(page)
    page.get_by_label("Anything you would like to say about why? (optional)").fill(
        "I have found a PA now, thank you."
    )
    submit_and_check(page, "End the pairing")
    expect(page).to_have_url(re.compile(r"/buddies$"))
    expect(page.get_by_text("The pairing has ended. Thank you both")).to_be_visible()
    pairings = page.get_by_role("table", name="Your pairings")
    expect(pairings.get_by_role("row", name=re.compile(BEA))).to_contain_text("Ended")
    sign_out(page)


def test_buddy_offers_moderator_confirms_seeker_asks_and_they_talk(
    live_server: LiveServer, new_page: Callable[..., Page], mailbox: Mailbox
) -> None:
    cast = set_the_scene(live_server)
    # One browser, one person after another, as on a shared computer.
    page = new_page()
    goto_and_check(page, "/")
    bea_offers_to_be_a_buddy(page, cast)
    moderator_confirms_the_offer(page, cast)
    sam_asks_for_a_buddy_says_hello_and_picks_bea(page, cast, mailbox)
    bea_says_yes_and_says_hello(page, cast)
    sam_talks_pauses_resumes_and_ends(page, cast)

    # Without JavaScript: the ended pairing still reads, and asking again is plain forms.
    # Axe is slower on script-less pages, so only the buddy pages are checked here (the pages
    # on the way have been checked above).
    page = new_page(java_script_enabled=False)
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(cast.seeker_email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Budget buddies").click()
    page.get_by_role("table", name="Your pairings").get_by_role("link", name=BEA).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(BEA)
    expect(page.get_by_text(re.compile(r"This pairing has ended"))).to_be_visible()
    expect(conversation(page).get_by_role("listitem")).to_have_count(2)
    check_current(page)
    page.get_by_role("link", name="Budget buddies", exact=True).last.click()  # the back link
    expect(page).to_have_url(re.compile(r"/buddies$"))
    page.get_by_role("button", name="Ask for a buddy").click()
    check_current(page)
    fill_in_the_ask_pages(page)
    submit_and_check(page, "Ask for a buddy")
    expect(page).to_have_url(re.compile(r"/buddies/requests/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Suggested buddies")
    expect(page.get_by_text("You have asked for a buddy")).to_be_visible()
