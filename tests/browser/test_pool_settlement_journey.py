"""Hold, then capture, in Chromium, every page checked by axe, against localstripe.

Ada, Ben and Cas start two pools together, an art group and a pottery class, all three paying
by card. For the art group Cas saves a card that saves but refuses every charge; for the
pottery class she saves a good one. A provider quotes for both, Ada opens both votes and
everyone votes; the last vote closes each, so both pools are funded.

On the art group's hold date the job holds Ada's and Ben's shares and Cas's card is refused:
Cas follows her email to the page that says what went wrong and by when to put it right; Ada
and Ben read that their share is held, not taken. Nobody puts it right, and on the start date
the pool lapses: every hold is cancelled at localstripe, nothing succeeded, nothing was
refunded, and every page and email says nobody paid. The pottery class is held on its hold
date and taken on its start date: each member's page and email say what localstripe took, and
the shares add up to the quote to the penny.

Each person uses their own browser and stays signed in. Time moves only for the jobs
(`run_the_jobs` runs them as if it were that moment); the pages are read in real time, which is
fine: what they say depends on the pool's dates, not on today.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.payments.models import PaymentCustomer
from marketplace.pools import schedule
from marketplace.pools.models import Pool, PoolStatus
from marketplace.web.template_globals import format_date
from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.steps import (
    Cast,
    join_by_card,
    moderator_approves,
    open_the_pool,
    open_the_vote,
    propose_a_pool,
    quote_for,
    run_the_jobs,
    set_the_pool_scene,
    sign_in,
    sign_out,
    vote_for_the_quote,
)
from tests.conftest import Mailbox
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

# localstripe saves this card, then declines every charge on it (as Stripe does).
REFUSED_CARD = "4000 0000 0000 0341"
ART_START_IN = 40  # days: the art group's quote starts then (hold date 5 days before)
POTTERY_START_IN = 50  # after the art group has lapsed, so the two never share a job run
HELD = "Held on your card, not taken yet"
RELEASED = "Hold released, nothing taken"
PUT_RIGHT = "Please put your pool payment right"
COMING_UP = "A pool payment is coming up"
LAPSED_SUBJECT = "Your pool will not go ahead"
GOING_AHEAD = "Your pool is going ahead"


@dataclass
class World:
    """Everything a step needs: the cast, the servers, the mail, and each person's browser."""

    cast: Cast
    live_server: LiveServer
    stripe_base: str
    mailbox: Mailbox
    shots: Path
    new_page: Callable[..., Page]
    art: str = ""
    pottery: str = ""
    browsers: dict[str, Page] = field(default_factory=dict)

    @property
    def members(self) -> tuple[str, str, str]:
        return (self.cast.ada_email, self.cast.ben_email, self.cast.cas_email)

    def browser_of(self, email: str) -> Page:
        """This person's own browser, signed in (opened and signed in the first time)."""
        if email not in self.browsers:
            page = self.new_page()
            goto_and_check(page, "/")
            sign_in(page, email)
            self.browsers[email] = page
        return self.browsers[email]

    def reads_the_pool(self, email: str, pool_id: int) -> Page:
        """They open the pool's page (the link every email about it carries)."""
        page = self.browser_of(email)
        goto_and_check(page, f"/pools/{pool_id}")
        return page


def pounds(pence: int) -> str:
    """£30 or £33.34, as the pages write money (whole pounds without pence)."""
    return f"£{pence // 100}" if pence % 100 == 0 else f"£{pence / 100:.2f}"


# --- What localstripe holds -----------------------------------------------------------------


def stripe_client(live_server: LiveServer, base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        live_server.app.config["STRIPE_API_KEY"], base_addresses={"api": base}
    )


def _all(list_page: Callable[[dict[str, object]], object]) -> list[dict[str, object]]:
    """Every object of a Stripe list endpoint, paging through it."""
    found: list[dict[str, object]] = []
    params: dict[str, object] = {"limit": 100}
    while True:
        page = list_page(params)
        items = list(page.data)
        found.extend(item.to_dict() for item in items)
        if not page.has_more or not items:
            return found
        params["starting_after"] = items[-1].id


def customers_of(live_server: LiveServer, cast: Cast) -> dict[str, str]:
    """Each holder's Stripe customer id -> their email (from the live server's records)."""
    emails = (cast.ada_email, cast.ben_email, cast.cas_email)
    with live_server.app.app_context():
        rows = db.session.execute(
            select(PaymentCustomer.stripe_customer_id, User.email)
            .join(User, User.id == PaymentCustomer.user_id)
            .where(User.email.in_(emails))
        ).all()
        db.scoped.remove()
    return {str(customer): str(email) for customer, email in rows}


def intents_for(
    live_server: LiveServer, base: str, cast: Cast, pool_id: int
) -> dict[str, dict[str, object]]:
    """The PaymentIntents localstripe holds for this pool, by member email (one each, at most:
    a share is held once; a refused card is asked once by the job)."""
    customers = customers_of(live_server, cast)
    client = stripe_client(live_server, base)
    found: dict[str, dict[str, object]] = {}
    for intent in _all(lambda params: client.v1.payment_intents.list(params=params)):
        metadata = intent.get("metadata") or {}
        if intent.get("customer") in customers and metadata.get("pool") == str(pool_id):
            email = customers[str(intent["customer"])]
            assert email not in found, f"two intents for {email} in pool {pool_id}"
            found[email] = intent
    return found


def refunds_of(
    live_server: LiveServer, base: str, intents: dict[str, dict[str, object]]
) -> list[dict[str, object]]:
    """Every refund at localstripe of any of these intents (or their charges)."""
    client = stripe_client(live_server, base)
    ids = {str(i["id"]) for i in intents.values()}
    charges = {
        str(c["id"]) if isinstance(c, dict) else str(c)
        for c in (i.get("latest_charge") for i in intents.values())
        if c
    }
    return [
        r
        for r in _all(lambda params: client.v1.refunds.list(params=params))
        if r.get("payment_intent") in ids or r.get("charge") in charges
    ]


# --- What the people read, and what the live server holds ------------------------------------


def mail_to(mailbox: Mailbox, email: str, subject: str | None = None) -> list[Message]:
    return [m for m in mailbox.messages if m["To"] == email and subject in (None, m["Subject"])]


def body(message: Message) -> str:
    text = message.get_payload(decode=True)
    assert isinstance(text, bytes)
    return " ".join(text.decode().split())  # one line: the body wraps nowhere we care about


@dataclass(frozen=True)
class PoolFacts:
    id: int
    title: str
    status: str
    start: date  # month one's charge date
    second: date  # month two's


def facts(live_server: LiveServer, title: str) -> PoolFacts:
    """The pool as the live server holds it; its dates from `schedule`, as jobs and pages."""
    with live_server.app.app_context():
        pool = db.session.scalars(select(Pool).where(Pool.title == title)).one()
        start = schedule.charge_date(db.session, pool, 1)
        second = schedule.charge_date(db.session, pool, 2)
        assert start is not None and second is not None
        found = PoolFacts(pool.id, pool.title, pool.status, start, second)
        db.scoped.remove()
    return found


def an_hour_into(day: date) -> datetime:
    """When the periodic job has run on that day (it runs at least hourly)."""
    return schedule.start_of(day) + timedelta(hours=1)


def payments_row(page: Page) -> Locator:
    """The first row of "Your payments" (month 1) on the pool page."""
    table = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Month"))
    row = table.get_by_role("row").nth(1)
    expect(row.get_by_role("cell").first).to_have_text("1")
    return row


def shot(w: World, page: Page, name: str) -> None:
    page.screenshot(path=str(w.shots / f"{name}.png"), full_page=True)


# --- Both pools: proposed, approved, joined, quoted, voted ----------------------------------


def both_pools_are_set_up_and_funded(w: World) -> None:
    cast = w.cast
    ada = w.browser_of(cast.ada_email)
    propose_a_pool(ada, w.art)
    propose_a_pool(ada, w.pottery)
    moderator = w.new_page()
    goto_and_check(moderator, "/")
    moderator_approves(moderator, cast, w.art, w.pottery)  # signs in, approves, signs out

    for email in (cast.ada_email, cast.ben_email):
        join_by_card(w.browser_of(email), w.art)
        join_by_card(w.browser_of(email), w.pottery)
    cas = w.browser_of(cast.cas_email)
    join_by_card(cas, w.art, REFUSED_CARD)  # saved: only charging it is refused
    join_by_card(cas, w.pottery)

    provider = w.browser_of(cast.provider_email)
    quote_for(provider, cast, w.art, ART_START_IN, "90", "£90 split 3 ways: each pays £30")
    quote_for(
        provider,
        cast,
        w.pottery,
        POTTERY_START_IN,
        "100",
        "£100 split 3 ways: 1 person pays £33.34 and 2 pay £33.33",
    )
    sign_out(provider)

    for title in (w.art, w.pottery):
        open_the_vote(ada, title)
        vote_for_the_quote(ada, cast.provider_name)
    for email in (cast.ben_email, cast.cas_email):  # Cas votes last: her votes close both
        for title in (w.art, w.pottery):
            open_the_pool(w.browser_of(email), title)
            vote_for_the_quote(w.browser_of(email), cast.provider_name)


def nothing_is_held_before_the_hold_date(w: World, art: PoolFacts) -> None:
    """Funded, and the page says nothing is taken yet and when the hold starts: true at
    localstripe, which has no intent for the pool, even after the queued `pools.fund` ran."""
    run_the_jobs(w.live_server, utcnow())
    assert facts(w.live_server, art.title).status == PoolStatus.FUNDED.value
    page = w.reads_the_pool(w.cast.ada_email, art.id)
    expect(
        page.get_by_text(
            "A quote was chosen: it goes ahead on its start date if every member's share is "
            "secured",
            exact=True,
        )
    ).to_be_visible()
    hold_on = art.start - timedelta(days=schedule.HOLD_LEAD_DAYS)
    expect(page.locator("#money-promise")).to_contain_text(
        f"Nothing is taken yet. From {format_date(hold_on)} your first share is held on your "
        f"card (your bank reserves it, nothing is taken), and it is taken on "
        f"{format_date(art.start)} only if every member's share is secured by then."
    )
    expect(page.locator("#my-share")).to_have_text(
        f"For month 1 you pay £30, on {format_date(art.start)}."
    )
    assert intents_for(w.live_server, w.stripe_base, w.cast, art.id) == {}


# --- The art group: a refused card, then the pool lapses ------------------------------------


def the_art_group_is_held_but_cas_is_refused(w: World, art: PoolFacts) -> str:
    """The hold date's job run. Returns the deadline Cas was given, as she was told it."""
    cast = w.cast
    ada_and_ben = (cast.ada_email, cast.ben_email)
    before = {email: len(mail_to(w.mailbox, email)) for email in ada_and_ben}
    run_the_jobs(w.live_server, an_hour_into(art.start - timedelta(days=schedule.HOLD_LEAD_DAYS)))
    assert facts(w.live_server, art.title).status == PoolStatus.FUNDED.value  # still time

    intents = intents_for(w.live_server, w.stripe_base, cast, art.id)
    assert set(intents) == set(w.members)
    for email in ada_and_ben:
        held = intents[email]
        assert (held["status"], held["capture_method"], held["amount"]) == (
            "requires_capture",
            "manual",
            3000,
        ), held
    refused = intents[cast.cas_email]
    assert refused["status"] == "requires_payment_method", refused  # declined: nothing held
    assert refused["capture_method"] == "manual", refused

    # Ada and Ben have nothing to do, and are not emailed: nothing was taken.
    for email in ada_and_ben:
        assert len(mail_to(w.mailbox, email)) == before[email], mail_to(w.mailbox, email)[-1]
    # Cas is told what went wrong, for how much, by when, and what happens if not.
    (told,) = mail_to(w.mailbox, cast.cas_email, PUT_RIGHT)
    text = body(told)
    assert f"Your payment did not go through for month 1 of {art.title} (£30)." in text
    deadline = re.search(
        r"Please put it right by ((?:midnight at the end of )?\d{1,2} \w+ \d{4}),", text
    )
    assert deadline, text
    assert (
        "or the pool cannot go ahead: every hold is then released and nobody pays anything" in text
    )
    link = re.search(r"(\S*/pools/\d+/payments/1/fix)\b", text)
    assert link, text
    assert "0341" not in text  # never card details

    # On her phone, signed out, she follows the link, signs in, and lands on the page.
    phone = w.new_page()
    goto_and_check(phone, urlsplit(link.group(1)).path)
    expect(phone).to_have_url(re.compile(r"/sign-in"))
    phone.get_by_label("Email address").fill(cast.cas_email)
    phone.get_by_label("Password", exact=True).fill(PASSWORD)
    submit_and_check(phone, "Sign in")
    expect(phone).to_have_url(re.compile(rf"/pools/{art.id}/payments/1/fix$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Put your payment right")
    expect(
        phone.get_by_text(
            f"Month 1 of {art.title}: £30. Your card was declined. Please try a different card "
            "or contact your bank.",
            exact=True,
        )
    ).to_be_visible()
    expect(phone.locator("#fix-deadline")).to_have_text(
        f"Please put it right by {deadline.group(1)}. If every member's share is not secured by "
        "then, every hold is released and nobody pays anything."
    )
    expect(
        phone.get_by_text(
            "Add a card and we will hold your share on it straight away (nothing is taken until "
            "the start date)."
        )
    ).to_be_visible()
    shot(w, phone, "1-cas-put-your-payment-right")

    # She goes back to the pool: her month one is not paid, with the same deadline.
    phone.get_by_role("link", name="Back").click()
    expect(phone).to_have_url(re.compile(rf"/pools/{art.id}$"))
    check_current(phone)
    row = payments_row(phone)
    expect(row).to_contain_text("£30")
    expect(row).to_contain_text("Not paid yet: Your card was declined")
    expect(row).to_contain_text(f"(put it right by {deadline.group(1)})")
    expect(row.get_by_role("link", name="Put this payment right")).to_be_visible()
    expect(phone.locator("#funding")).to_contain_text(
        "Some shares need putting right before the start date, or every hold is released and "
        "nobody pays."
    )
    # Signing out ends every session of hers, so she carries on here, on her phone.
    w.browsers[cast.cas_email] = phone

    for email in ada_and_ben:
        page = w.reads_the_pool(email, art.id)
        row = payments_row(page)
        expect(row).to_contain_text("£30")
        expect(row).to_contain_text(HELD)
        expect(page.locator("#money-promise")).to_have_text(
            "Your first share is held on your card: your bank reserves it, nothing is taken "
            f"yet. It is taken on {format_date(art.start)} only if every member's share is "
            "secured by then. If not, every hold is released, every invoice is cancelled and "
            "nobody pays anything."
        )
        expect(page.locator("#my-share")).to_have_text(
            f"For month 1 you pay £30, on {format_date(art.start)}."
        )
        # Someone's share still needs putting right, and they are told so.
        expect(page.locator("#funding")).to_contain_text("Some shares need putting right")
        if email == cast.ben_email:
            shot(w, page, "2-ben-share-held")
    return deadline.group(1)


def everyone_is_reminded(w: World, art: PoolFacts) -> None:
    """Three days before: the reminder's promise is conditional, as the hold is."""
    run_the_jobs(w.live_server, an_hour_into(art.start - timedelta(days=schedule.REMINDER_DAYS)))
    for email in w.members:
        (reminder,) = mail_to(w.mailbox, email, COMING_UP)
        assert (
            f"Your first share of {art.title}, £30, will be taken on {format_date(art.start)} if "
            "every member's share is secured by then; if not, nothing is taken from anyone."
        ) in body(reminder)


def the_art_group_lapses_and_nobody_paid(w: World, art: PoolFacts) -> None:
    cast = w.cast
    run_the_jobs(w.live_server, an_hour_into(art.start))
    assert facts(w.live_server, art.title).status == PoolStatus.LAPSED.value

    # localstripe: nothing succeeded, every hold was cancelled, nothing was refunded.
    intents = intents_for(w.live_server, w.stripe_base, cast, art.id)
    statuses = {email: intent["status"] for email, intent in intents.items()}
    assert statuses == {
        cast.ada_email: "canceled",
        cast.ben_email: "canceled",
        cast.cas_email: "requires_payment_method",  # refused: there was never a hold
    }, statuses
    assert refunds_of(w.live_server, w.stripe_base, intents) == []

    last_day = format_date(art.start - timedelta(days=1))
    reason = (
        f"Not every share could be secured by midnight at the end of {last_day}, so nobody paid"
    )
    for email in w.members:
        (told,) = mail_to(w.mailbox, email, LAPSED_SUBJECT)
        text = body(told)
        assert f"{art.title} will not go ahead: {reason}." in text
        assert (
            "Nothing was taken from anyone for it: any hold on your card has been released and "
            "any invoice cancelled."
        ) in text
        assert all(art.title not in body(m) for m in mail_to(w.mailbox, email, GOING_AHEAD))

        page = w.reads_the_pool(email, art.id)
        expect(
            page.get_by_text("Ended without going ahead: nobody paid", exact=True)
        ).to_be_visible()
        expect(page.get_by_text(f"{reason}.", exact=True)).to_be_visible()
        expect(page.locator("#funding")).to_contain_text(
            "Not every share could be secured, so the pool ended and nobody paid."
        )
        expect(page.locator("#money-promise")).to_have_count(0)  # no promise left to keep
        row = payments_row(page)
        expect(row).to_contain_text("£30")
        expect(row).to_contain_text("nothing taken")
        expect(row.get_by_role("link")).to_have_count(0)  # nothing left to put right
        if email != cast.cas_email:
            expect(row.get_by_role("cell").nth(2)).to_have_text(RELEASED)

    # The page to put Cas's payment right has gone with the pool.
    goto_and_check(w.browser_of(cast.cas_email), f"/pools/{art.id}/payments/1/fix", status=404)


# --- The pottery class: held, then taken ----------------------------------------------------


def the_pottery_class_is_held(w: World, pottery: PoolFacts) -> dict[str, int]:
    """Returns each member's held amount at localstripe, by email."""
    before = {email: len(mail_to(w.mailbox, email)) for email in w.members}
    run_the_jobs(
        w.live_server, an_hour_into(pottery.start - timedelta(days=schedule.HOLD_LEAD_DAYS))
    )
    assert facts(w.live_server, pottery.title).status == PoolStatus.FUNDED.value

    intents = intents_for(w.live_server, w.stripe_base, w.cast, pottery.id)
    assert set(intents) == set(w.members)
    for intent in intents.values():
        assert (intent["status"], intent["capture_method"]) == ("requires_capture", "manual")
    held = {email: int(str(intent["amount"])) for email, intent in intents.items()}
    assert sum(held.values()) == 10000, held  # the group's £100, to the penny
    assert held[w.cast.ada_email] == 3334, held  # the earliest to join pays the odd penny

    for email in w.members:
        assert len(mail_to(w.mailbox, email)) == before[email]  # nothing to do, nothing taken
        page = w.reads_the_pool(email, pottery.id)
        share = pounds(held[email])
        row = payments_row(page)
        expect(row).to_contain_text(share)
        expect(row.get_by_role("cell").nth(2)).to_have_text(HELD)
        expect(page.locator("#my-share")).to_have_text(
            f"For month 1 you pay {share}, on {format_date(pottery.start)}."
        )
        expect(page.locator("#money-promise")).to_contain_text(
            "Your first share is held on your card: your bank reserves it, nothing is taken "
            f"yet. It is taken on {format_date(pottery.start)} only if every member's share is "
            "secured by then."
        )
        expect(page.locator("#funding")).to_contain_text(
            "Each card member's first share is held on their card, nothing taken, and taken on "
            "the start date only if every share is secured."
        )
    return held


def the_pottery_class_goes_ahead(w: World, pottery: PoolFacts, held: dict[str, int]) -> None:
    run_the_jobs(w.live_server, an_hour_into(pottery.start))
    assert facts(w.live_server, pottery.title).status == PoolStatus.RUNNING.value

    intents = intents_for(w.live_server, w.stripe_base, w.cast, pottery.id)
    taken = {}
    for email, intent in intents.items():
        assert intent["status"] == "succeeded", intent
        charge: Any = intent["latest_charge"]
        assert charge["captured"] is True and charge["amount"] == intent["amount"], charge
        taken[email] = int(str(intent["amount"]))
    assert taken == held  # exactly what was held, for each member
    assert sum(taken.values()) == 10000  # the quote's group price
    assert refunds_of(w.live_server, w.stripe_base, intents) == []

    for email, pence in taken.items():
        (told,) = mail_to(w.mailbox, email, GOING_AHEAD)
        text = body(told)
        assert f"Every member's share was secured, so {pottery.title} is going ahead." in text
        assert f"Your first share of {pounds(pence)} has now been taken." in text

        page = w.reads_the_pool(email, pottery.id)
        expect(page.get_by_text("Running", exact=True)).to_be_visible()
        expect(page.locator("#funding")).to_contain_text(
            "Every member's first share was secured, then card shares were taken and invoices "
            "became due: the pool is running."
        )
        row = payments_row(page)
        expect(row).to_contain_text(pounds(pence))
        expect(row.get_by_role("cell").nth(2)).to_have_text("Paid")
        # What comes next is month two, on its own date, for the same share.
        expect(page.locator("#my-share")).to_have_text(
            f"For month 2 you pay {pounds(pence)}, on {format_date(pottery.second)}."
        )
        if email == w.cast.ada_email:
            shot(w, page, "3-ada-pottery-paid")

    # The provider is told what was taken, which is what localstripe took.
    (chosen,) = [
        m
        for m in mail_to(w.mailbox, w.cast.provider_email, "Your quote for a pool has been chosen")
        if pottery.title in body(m)
    ]
    assert f"Of its first month, {pounds(sum(taken.values()))} has been taken by card." in body(
        chosen
    )


# --- The test -------------------------------------------------------------------------------


def test_a_refused_card_lapses_one_pool_and_a_held_pool_goes_ahead(
    live_server: LiveServer,
    live_stripe: str,
    new_page: Callable[..., Page],
    mailbox: Mailbox,
    tmp_path: Path,
) -> None:
    cast = set_the_pool_scene(live_server, "Saturday art group")
    w = World(cast, live_server, live_stripe, mailbox, tmp_path, new_page)
    w.art = cast.title
    w.pottery = cast.title.replace("Saturday art group", "Pottery class")

    both_pools_are_set_up_and_funded(w)
    art = facts(live_server, w.art)
    pottery = facts(live_server, w.pottery)
    assert art.start == utcnow().date() + timedelta(days=ART_START_IN)  # the quote's date
    nothing_is_held_before_the_hold_date(w, art)

    deadline = the_art_group_is_held_but_cas_is_refused(w, art)
    everyone_is_reminded(w, art)
    the_art_group_lapses_and_nobody_paid(w, art)

    held = the_pottery_class_is_held(w, pottery)
    the_pottery_class_goes_ahead(w, pottery, held)
    for email in w.members:
        sign_out(w.browser_of(email))

    # Cas was told the moment her deadline ends as the end of the day before the start date:
    # the job lapses the pool in the first minutes of the start date.
    last_day = art.start - timedelta(days=1)
    assert deadline == f"midnight at the end of {format_date(last_day)}"
