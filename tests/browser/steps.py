"""Steps every browser journey shares: signing in and out, a moderator opening the queue, and
the steps of a pool's journey (proposing, approving, joining by card, quoting, voting)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

import pyotp
from playwright.sync_api import Page, expect

from marketplace import outbox
from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.jobs.services import run_next
from marketplace.organisations.models import ApprovalStatus, OrganisationKind, StaffRole
from marketplace.pools import funding
from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.scene import approved_ulo, leeds, ulo_moderator
from tests.conftest import Mailbox
from tests.factories import PASSWORD, OrganisationFactory, StaffFactory, UserFactory
from tests.helpers import totp_code

REGISTER_LINK = re.compile(r"http://[^/\s]+(/register/confirm/\S+)")


def emailed_link(mailbox: Mailbox, email: str, pattern: re.Pattern[str] = REGISTER_LINK) -> str:
    """The path of the link in the latest email to `email`. Registration emails are sent just
    after the response, so this waits a moment for it to arrive."""
    deadline = time.monotonic() + 10
    while True:
        try:
            body = mailbox.last_to(email).get_payload(decode=True).decode()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
            continue
        match = pattern.search(body)
        assert match, body
        return match.group(1)


def sign_in(page: Page, email: str) -> None:
    """Sign in from the navigation, with email and password (the first step for a moderator)."""
    page.get_by_role("link", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    check_current(page)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    submit_and_check(page, "Sign in")


def sign_out(page: Page) -> None:
    """Sign out; the browser is left on the home page, ready for the next person."""
    submit_and_check(page, "Sign out")
    expect(page.get_by_text("You have signed out")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()


def moderator_opens_the_queue(page: Page, email: str, totp_secret: str) -> None:
    """A moderator signs in with password and code, then opens the moderation queue."""
    sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/sign-in/code$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter the code from your app")
    page.get_by_label("Code from your authenticator app").fill(totp_code(totp_secret))
    submit_and_check(page, "Continue")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")

    page.get_by_role("link", name="Moderation queue").click()
    expect(page).to_have_url(re.compile(r"/moderation$"))
    check_current(page)


# --- Pools ----------------------------------------------------------------------------------
# Three holders (Ada, Ben and Cas), a provider with one member of staff and a ULO moderator;
# the steps below are what they do on the pages, each leaving the browser where it says.

ADA = "Ada Artist"
BEN = "Ben Brush"
CAS = "Cas Canvas"
DESCRIPTION = "A friendly weekly art group with a tutor who understands anxiety."
CARD = "4242 4242 4242 4242"
TERMS = "A month's notice. Missed sessions are not refunded."


@dataclass(frozen=True)
class Cast:
    title: str
    provider_name: str
    ada_email: str
    ben_email: str
    cas_email: str
    provider_email: str
    moderator_email: str
    moderator_secret: str


def set_the_pool_scene(live_server: LiveServer, title: str = "Saturday art group") -> Cast:
    """Leeds, a ULO with a moderator, a provider with one member of staff, and three holders.

    Written straight into the live server's database (the `site` fixture has bound `db` to it).
    Names get a suffix so that journeys sharing the live server never meet.
    """
    suffix = uuid4().hex[:8]
    cast = Cast(
        title=f"{title} {suffix}",
        provider_name=f"Leeds Art Tutors {suffix}",
        ada_email=f"ada-{suffix}@example.org",
        ben_email=f"ben-{suffix}@example.org",
        cas_email=f"cas-{suffix}@example.org",
        provider_email=f"pools-provider-{suffix}@example.org",
        moderator_email=f"pools-moderator-{suffix}@example.org",
        moderator_secret=pyotp.random_base32(),
    )
    with live_server.app.app_context():
        council = leeds()

        ulo = approved_ulo(f"Leeds Pools Network {suffix}", council)
        ulo_moderator(ulo, cast.moderator_email, cast.moderator_secret, "Mo Moderator")

        provider = OrganisationFactory(
            name=cast.provider_name,
            kind=OrganisationKind.PROVIDER.value,
            status=ApprovalStatus.APPROVED.value,
        )
        provider.councils.append(council)
        StaffFactory(
            organisation=provider,
            role=StaffRole.OWNER.value,
            user=UserFactory(
                email=cast.provider_email, display_name="Pat Provider", roles=["provider_staff"]
            ),
        )

        UserFactory(email=cast.ada_email, display_name=ADA)
        UserFactory(email=cast.ben_email, display_name=BEN)
        UserFactory(email=cast.cas_email, display_name=CAS)
        db.session.commit()
        db.scoped.remove()
    return cast


def open_pools(page: Page) -> None:
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Pools").click()
    expect(page).to_have_url(re.compile(r"/pools$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Pools")
    check_current(page)


def open_the_pool(page: Page, title: str) -> None:
    """From the navigation: Pools, then the pool in the list of open pools."""
    open_pools(page)
    page.get_by_role("link", name=title, exact=True).click()
    expect(page).to_have_url(re.compile(r"/pools/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    check_current(page)


def fill_date(page: Page, legend: str, when: str) -> None:
    """A GOV.UK date input: day, month and year boxes in a fieldset."""
    day, month, year = when.split()
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(day)
    group.get_by_label("Month").fill(month)
    group.get_by_label("Year").fill(year)


def in_days(days: int) -> str:
    when = utcnow().date() + timedelta(days=days)
    return f"{when.day} {when.month} {when.year}"


def fill_the_proposal(page: Page, title: str, fewest: str = "3", most: str = "5") -> None:
    """On "Propose a pool": an art group in LS6, Leeds, at most £40 a month for 3 months."""
    page.get_by_label("What service is the pool for?").fill(title)
    page.get_by_label("What is it, and why do you want it?").fill(DESCRIPTION)
    page.get_by_label("Council area").select_option(label="Leeds")
    page.get_by_label("Where? First part of the postcode (optional)").fill("LS6")
    page.get_by_label("How often, and for how long each time?").fill("Weekly, 2 hours")
    page.get_by_label("Fewest members it needs").fill(fewest)
    page.get_by_label("Most members it can take").fill(most)
    page.get_by_label("The most each member will pay a month, in pounds").fill("40")
    page.get_by_label("For how many months?").fill("3")
    fill_date(page, "Deadline to reach the fewest members", in_days(30))


def open_the_proposal_form(page: Page) -> None:
    open_pools(page)
    page.get_by_role("button", name="Propose a pool").click()
    expect(page).to_have_url(re.compile(r"/pools/propose$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Propose a pool")
    check_current(page)


def the_proposal_is_sent(page: Page) -> None:
    expect(page).to_have_url(re.compile(r"/pools/\d+$"))
    expect(
        page.get_by_text("Your proposal is sent to the local user-led organisation")
    ).to_be_visible()
    expect(
        page.get_by_text("Waiting for the local user-led organisation to check it")
    ).to_be_visible()


def propose_a_pool(page: Page, title: str) -> None:
    """Signed in: propose a pool for 3 to 5 members; it waits for the ULO to check it."""
    open_the_proposal_form(page)
    fill_the_proposal(page, title)
    submit_and_check(page, "Send the proposal")
    the_proposal_is_sent(page)


def moderator_approves(page: Page, cast: Cast, *titles: str) -> None:
    """The ULO moderator signs in with a second factor, approves these pools, signs out."""
    moderator_opens_the_queue(page, cast.moderator_email, cast.moderator_secret)
    for title in titles:
        item = f"Pool: {title}"
        page.get_by_role("link", name=item, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(item)
        proposal = page.locator(".govuk-summary-list")
        expect(proposal).to_contain_text(DESCRIPTION)
        expect(proposal).to_contain_text("3 to 5")
        expect(proposal).to_contain_text("£40")
        expect(proposal).to_contain_text("LS6")
        check_current(page)

        if page.get_by_role("button", name="I will deal with this").count():
            submit_and_check(page, "I will deal with this")
        page.get_by_label("Approve: open it for people to join").check()
        submit_and_check(page, "Save decision")
        expect(page).to_have_url(re.compile(r"/moderation$"))
        expect(page.get_by_text("Decision saved")).to_be_visible()
        expect(page.get_by_role("link", name=item, exact=True)).to_have_count(0)
    sign_out(page)


INVOICE_EMAIL = "invoices@leeds-direct-pay.example"


def join_pool(page: Page, title: str, pay_by: str, invoice_to: str | None = None) -> None:
    """From the pool page, pledge £40 and get to "Check your answers before joining"."""
    page.get_by_role("button", name="Join this pool").click()
    expect(page).to_have_url(re.compile(r"/pools/\d+/join$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Join {title}")
    check_current(page)
    most = page.get_by_label("The most you will pay a month, in pounds")
    expect(most).to_have_value("40.00")  # the pool's cap, to start with
    most.fill("40")
    page.get_by_role("group", name="How will you pay?").get_by_label(pay_by).check()
    if invoice_to:
        page.get_by_label("Who should the invoice go to? (not for card)").fill(invoice_to)
        page.get_by_label("Their email address for invoices (not for card)").fill(INVOICE_EMAIL)
        page.get_by_label("Their reference for you, if you have one (optional)").fill("LDP-0042")
    submit_and_check(page, "Continue")

    expect(page).to_have_url(re.compile(r"/pools/\d+/join/check$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers before joining")
    # The title names the pool: "Check your answers" alone does not say where you are.
    expect(page).to_have_title(f"Check your answers before joining {title} – Budget Marketplace")
    expect(page.get_by_text("£40 a month", exact=True)).to_be_visible()
    terms = page.locator("#terms")
    expect(terms).to_contain_text("nothing now")
    # Card members agree to charges, invoice members to invoices: never terms that do not apply.
    expect(terms).to_contain_text(
        "Each invoice will be for no more than £40"
        if invoice_to
        else "Each charge will be no more than £40"
    )
    expect(terms).to_contain_text("starting only if the pool reaches 3 members")


def join_by_card(page: Page, title: str, card: str = CARD) -> None:
    """Signed in: join the pool, saving this card (at localstripe) for it; nothing is charged."""
    open_the_pool(page, title)
    join_pool(page, title, "By card")
    submit_and_check(page, "Agree and add a card")

    expect(page).to_have_url(re.compile(r"/pools/\d+/join/card$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a card")
    expect(page.get_by_text("Nothing is charged now.")).to_be_visible()
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry month").fill("12")
    page.get_by_label("Expiry year").fill(str(utcnow().year + 4))
    page.get_by_label("Security code").fill("123")
    submit_and_check(page, "Save card and join")

    expect(page).to_have_url(re.compile(r"/pools/\d+$"))
    expect(
        page.get_by_text("You are a member of this pool. Nothing is charged now")
    ).to_be_visible()
    last4 = card.replace(" ", "")[-4:]
    expect(
        page.get_by_text(
            re.compile(
                "You are a member: you said you would pay at most £40 a month, "
                f"by Visa ending {last4}"
            )
        )
    ).to_be_visible()


def quote_for(
    page: Page, cast: Cast, title: str, start_in_days: int, total_pounds: str, each: str
) -> None:
    """Signed in as the provider: quote a group price a month for this pool."""
    # Nothing in the navigation or on "Your account" leads here: the address is typed.
    goto_and_check(page, "/provider/pools")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pools to quote for")
    expect(page.get_by_role("heading", name=cast.provider_name)).to_be_visible()
    listed = page.locator(".govuk-summary-card").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )
    listed.get_by_role("link", name=f"Quote for this pool as {cast.provider_name}").click()
    expect(page).to_have_url(re.compile(r"/pools/\d+/quote\?org=\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Quote for {title}")
    check_current(page)

    fill_date(page, "When could you start?", in_days(start_in_days))
    page.get_by_label("The price for the whole group, per month, in pounds").fill(total_pounds)
    page.get_by_label("Your terms (optional)").fill(TERMS)
    submit_and_check(page, "Send quote")
    expect(page).to_have_url(re.compile(r"/pools/\d+#quotes$"))
    expect(page.get_by_text("Your quote is sent")).to_be_visible()
    card = page.locator(".govuk-summary-card").filter(
        has=page.get_by_role("heading", name=cast.provider_name)
    )
    expect(card).to_contain_text(each)
    expect(card).to_contain_text(TERMS)


def open_the_vote(page: Page, title: str) -> None:
    """Signed in as the proposer: open a week's vote on the quotes."""
    open_the_pool(page, title)
    page.get_by_role("button", name="Open the vote").click()
    expect(page).to_have_url(re.compile(r"/pools/\d+/vote/open$"))
    check_current(page)
    page.get_by_role("group", name="How long the vote stays open").get_by_label("1 week").check()
    submit_and_check(page, "Open the vote")
    expect(page.get_by_text("The vote is open. Members can now choose a quote")).to_be_visible()
    expect(page.get_by_text("Members are voting on the quotes")).to_be_visible()


def vote_for_the_quote(page: Page, provider_name: str) -> None:
    """On the pool page, as a member: choose the provider's quote."""
    choice = page.get_by_role("group", name="Which quote do you choose?")
    choice.get_by_label(provider_name).check()
    submit_and_check(page, "Vote")
    expect(page.get_by_text("Thank you: your vote is counted")).to_be_visible()
    expect(page.get_by_text("You voted for this quote.")).to_be_visible()
    expect(page.get_by_role("button", name="Vote", exact=True)).to_have_count(0)


def run_the_jobs(live_server: LiveServer, now: datetime) -> None:
    """What the workers and the periodic `pools.charge_due` run do, as if it were `now`: queued
    jobs first (closing a vote queues `pools.fund`), then charge-due, committed, mail sent."""
    with live_server.app.app_context():
        while run_next(db.session, "test-worker") is not None:
            pass
        funding.charge_due(db.session, now=now)
        outbox.commit(db.session)
        db.scoped.remove()
