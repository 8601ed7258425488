"""Pools end to end in Chromium, every page checked by axe, with real card charges.

Ada proposes a pool for an art group in Leeds, the local user-led organisation's moderator
approves it, Ada and Ben join by card (saved through localstripe) and Cas through her managed
account, a provider quotes, Ada opens the vote, Cas's vote (the last) closes it, and that
charges the two cards and invoices Cas. Ben then reads his statement and downloads it as CSV.
Last, the pools search with JavaScript off.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from marketplace import outbox
from marketplace.auth.models import User
from marketplace.extensions import db
from marketplace.jobs.services import run_next
from marketplace.payments.models import Charge
from marketplace.pools import funding, schedule
from marketplace.pools.models import Pool, PoolPayment
from tests.browser.conftest import LiveServer, check_current, goto_and_check, submit_and_check
from tests.browser.steps import (
    INVOICE_EMAIL,
    Cast,
    fill_date,
    fill_the_proposal,
    in_days,
    join_by_card,
    join_pool,
    moderator_approves,
    moderator_opens_the_queue,
    open_pools,
    open_the_pool,
    open_the_proposal_form,
    open_the_vote,
    quote_for,
    set_the_pool_scene,
    sign_in,
    sign_out,
    the_proposal_is_sent,
    vote_for_the_quote,
)
from tests.conftest import Mailbox

pytestmark = pytest.mark.browser


# --- The journey ----------------------------------------------------------------------------


def ada_proposes_a_pool(page: Page, cast: Cast) -> None:
    sign_in(page, cast.ada_email)
    open_the_proposal_form(page)
    fill_the_proposal(page, cast.title, fewest="6", most="5")
    submit_and_check(page, "Send the proposal")

    # Six is more than five: the error summary leads to the field, the message is beside it.
    most = page.get_by_label("Most members it can take")
    expect(page).to_have_title(re.compile(r"^Error: Propose a pool"))
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    message = "The most members must be the same as or more than the fewest"
    link = summary.get_by_role("link", name=message)
    expect(link).to_be_visible()
    target = link.get_attribute("href") or ""
    assert target.startswith("#"), f"the members error links to {target!r}"
    expect(page.locator(target)).to_have_count(1)
    expect(page.locator("#max_members-error")).to_contain_text(message)
    expect(most).to_have_attribute("aria-describedby", re.compile(r"\bmax_members-error\b"))
    # What she typed is kept.
    expect(page.get_by_label("What service is the pool for?")).to_have_value(cast.title)
    expect(most).to_have_value("5")

    page.get_by_label("Fewest members it needs").fill("3")
    submit_and_check(page, "Send the proposal")
    the_proposal_is_sent(page)
    sign_out(page)


def member_joins_by_card(page: Page, cast: Cast, email: str) -> None:
    sign_in(page, email)
    join_by_card(page, cast.title)
    sign_out(page)


def cas_joins_through_her_managed_account(page: Page, cast: Cast) -> None:
    sign_in(page, cast.cas_email)
    open_the_pool(page, cast.title)
    join_pool(
        page,
        cast.title,
        "From my managed account (we send an invoice)",
        invoice_to="Leeds Direct Pay Ltd",
    )
    expect(page.get_by_text("Invoice to Leeds Direct Pay Ltd")).to_be_visible()
    submit_and_check(page, "Agree and join")
    expect(page).to_have_url(re.compile(r"/pools/\d+$"))
    expect(
        page.get_by_text("You are a member of this pool. Nothing is charged now")
    ).to_be_visible()
    expect(page.locator("#progress")).to_contain_text("3 members: the 3 needed have joined")
    sign_out(page)


def provider_quotes(page: Page, cast: Cast) -> None:
    sign_in(page, cast.provider_email)
    quote_for(page, cast, cast.title, start_in_days=40, total_pounds="90", each="£30 a month")
    sign_out(page)


def ada_opens_the_vote(page: Page, cast: Cast) -> None:
    sign_in(page, cast.ada_email)
    open_the_vote(page, cast.title)


def member_votes(page: Page, cast: Cast, email: str) -> None:
    sign_in(page, email)
    open_the_pool(page, cast.title)
    vote_for_the_quote(page, cast.provider_name)
    sign_out(page)


def ulo_staff_of(pool: Pool):
    """ULO staff who moderate the pool's area (the approver)."""
    from marketplace.moderation import services as moderation

    for user in db.session.scalars(select(User)):
        areas = moderation.moderated_council_codes(db.session, user)
        if areas is not None and pool.council.code in areas:
            return user
    raise AssertionError("no ULO staff for the area")


def the_last_vote_closed_it(page: Page, cast: Cast, live_server: LiveServer) -> None:
    """Cas's vote was the last, so it closed the vote; nobody closes it by hand."""
    sign_in(page, cast.ada_email)
    # Chosen, so no longer in the list of open pools: Ada goes to its page (linked from emails).
    with live_server.app.app_context():
        pool_id = db.session.scalars(select(Pool.id).where(Pool.title == cast.title)).one()
        # Closing the vote queued the collection; a worker collects it, then the page says so.
        while run_next(db.session, "test-worker") is not None:
            pass
        pool = db.session.scalars(select(Pool).where(Pool.title == cast.title)).one()
        hold_at = schedule.start_of(schedule.hold_date(db.session, pool)) + timedelta(hours=1)
        funding.charge_due(db.session, now=hold_at)
        outbox.commit(db.session)
        for row in funding.payments_for(db.session, pool, 1):
            assert row.status in ("held", "invoiced")
            if row.status == "invoiced":
                funding.accept_invoice(db.session, ulo_staff_of(pool), row)
        outbox.commit(db.session)
        charge_at = schedule.start_of(schedule.charge_date(db.session, pool, 1))
        funding.charge_due(db.session, now=charge_at + timedelta(hours=1))
        outbox.commit(db.session)
        db.scoped.remove()
    goto_and_check(page, f"/pools/{pool_id}")
    expect(page.get_by_role("button", name="Close the vote")).to_have_count(0)
    expect(
        page.get_by_text(
            f"3 of the 3 members voted. {cast.provider_name}'s quote had the most votes (3) and "
            "fits every member's maximum, so it was chosen."
        )
    ).to_be_visible()
    expect(
        page.get_by_text(
            "Every member's first share was secured, then card shares were taken and invoices "
            "became due: the pool is running"
        )
    ).to_be_visible()
    expect(page.get_by_text("Running", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=f"{cast.provider_name} (chosen)")).to_be_visible()
    payments = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Month"))
    expect(payments.get_by_role("row").nth(1)).to_contain_text("£30")
    expect(payments.get_by_role("row").nth(1)).to_contain_text("Paid")
    sign_out(page)


def the_cards_were_charged_through_stripe(live_server: LiveServer, cast: Cast, stripe: str) -> None:
    """Two card payments succeeded at localstripe; Cas's month is an invoice, not a charge."""
    with live_server.app.app_context():
        pool = db.session.scalars(select(Pool).where(Pool.title == cast.title)).one()
        rows = db.session.scalars(
            select(PoolPayment).where(PoolPayment.pool_id == pool.id).order_by(PoolPayment.id)
        ).all()
        assert sorted((r.pay_by, r.status, r.amount_pence) for r in rows) == [
            ("card", "paid", 3000),
            ("card", "paid", 3000),
            ("managed_account", "invoiced", 3000),  # accepted, then due once running
        ]
        intents = [
            db.session.get(Charge, r.charge_id).stripe_payment_intent_id
            for r in rows
            if r.pay_by == "card"
        ]
        db.scoped.remove()
    key = live_server.app.config["STRIPE_API_KEY"]
    for intent in intents:
        assert intent, "a card payment has no Stripe payment intent"
        request = urllib.request.Request(
            f"{stripe}/v1/payment_intents/{intent}", headers={"Authorization": f"Bearer {key}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            answer = json.load(response)
        assert answer["status"] == "succeeded", answer
        assert answer["amount"] == 3000, answer


def ben_reads_and_downloads_his_statement(page: Page, cast: Cast) -> None:
    sign_in(page, cast.ben_email)
    open_pools(page)
    page.get_by_role("link", name="Your statement").click()
    expect(page).to_have_url(re.compile(r"/statement$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your statement")
    check_current(page)
    # The journey's jobs took month one on the pool's start date, 40 days from now: a range
    # reaching past it.
    fill_date(page, "To", in_days(60))
    page.get_by_role("button", name="Show the statement").click()
    check_current(page)
    table = page.get_by_role("table", name="Payments and refunds")
    row = table.get_by_role("row").filter(has_text=cast.title)
    expect(row).to_contain_text(cast.provider_name)
    expect(row).to_contain_text("£30")
    expect(row).to_contain_text("Card")
    expect(row).to_contain_text("owed to")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as a spreadsheet (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.startswith("statement-start-to-")
    path = download.path()
    assert path is not None
    csv_text = path.read_text(encoding="utf-8")
    assert cast.title in csv_text
    assert cast.provider_name in csv_text
    assert "£30" in csv_text and ",3000," in csv_text
    sign_out(page)


def the_account_holder_gets_the_invoice(page: Page, cast: Cast, mailbox: Mailbox) -> str:
    """Cas's account holder is emailed a numbered invoice with a private link, and nothing
    private: no pool, no service. The link opens the printable invoice with no account."""
    message = next(
        m
        for m in reversed(mailbox.messages)
        if m["To"] == INVOICE_EMAIL and m["Subject"].startswith("Invoice INV-")
    )
    number = message["Subject"].split()[1]
    body = message.get_payload(decode=True).decode()
    assert cast.title not in body and cast.provider_name not in body
    assert "Amount: £30" in body and "Your reference LDP-0042" not in body
    assert "(your reference LDP-0042)" in body
    # A path when the job ran with no SERVER_NAME (as here); the full address under `make run`.
    link = re.search(r"/invoices/shared/\S+", body)
    assert link, body
    assert mailbox.last_to(cast.cas_email, f"Invoice {number} has been sent for your share")
    goto_and_check(page, link.group(0))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {number}")
    expect(page.locator("#what-for")).to_contain_text(cast.title)
    expect(page.locator("#their-reference")).to_have_text("Your reference: LDP-0042")
    expect(page.locator("#balance")).to_have_text("£30")
    expect(page.locator("#paid-so-far")).to_have_text("£0")
    expect(page.get_by_role("heading", name="Record a payment")).to_have_count(0)
    return number


def pool_path(live_server: LiveServer, cast: Cast) -> str:
    """A running pool is no longer listed in the search: people reach it from emails."""
    with live_server.app.app_context():
        pool_id = db.session.scalars(select(Pool.id).where(Pool.title == cast.title)).one()
        db.scoped.remove()
    return f"/pools/{pool_id}"


def staff_record_a_part_payment_then_the_rest(page: Page, cast: Cast, number: str, at: str) -> None:
    moderator_opens_the_queue(page, cast.moderator_email, cast.moderator_secret)
    goto_and_check(page, at)
    page.get_by_role("link", name=f"Record a payment on invoice {number}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {number}")
    check_current(page)
    today = in_days(0)
    page.get_by_label("Amount received, in pounds").fill("40")  # more than is owed
    fill_date(page, "Date it was received", today)
    page.get_by_label("Payment reference").fill("BACS 1001")
    submit_and_check(page, "Record this payment")
    expect(page).to_have_title(re.compile(f"^Error: Invoice {number} "))
    expect(page.locator("#amount-error")).to_contain_text("That is more than the £30 still to pay")
    page.get_by_label("Amount received, in pounds").fill("10")
    submit_and_check(page, "Record this payment")
    part = "Payment recorded. Part of the invoice is still to pay"
    expect(page.get_by_text(part)).to_be_visible()
    expect(page.locator("#balance")).to_have_text("£20")
    expect(page.locator("#status")).to_have_text("Part paid")
    page.get_by_label("Amount received, in pounds").fill("20")
    fill_date(page, "Date it was received", today)
    page.get_by_label("Payment reference").fill("BACS 1002")
    submit_and_check(page, "Record this payment")
    expect(page.get_by_text("Payment recorded. The invoice is paid in full")).to_be_visible()
    expect(page.locator("#status")).to_have_text("Paid")
    expect(page.locator("#balance")).to_have_text("£0")
    expect(page.locator("#paid-so-far")).to_have_text("£30")
    expect(page.locator("#received")).to_contain_text("£10, reference BACS 1001")
    expect(page.locator("#received")).to_contain_text("£20, reference BACS 1002")
    expect(page.get_by_role("heading", name="Record a payment")).to_have_count(0)
    sign_out(page)


def cas_sees_it_paid_on_her_statement(
    page: Page, cast: Cast, number: str, mailbox: Mailbox, at: str
) -> None:
    assert mailbox.last_to(cast.cas_email, f"Invoice {number} has been paid")
    sign_in(page, cast.cas_email)
    goto_and_check(page, at)
    page.get_by_role("link", name=f"Invoice {number}").click()
    expect(page.locator("#status")).to_have_text("Paid")
    check_current(page)
    goto_and_check(page, "/statement")
    fill_date(page, "From", in_days(-1))
    fill_date(page, "To", in_days(1))
    page.get_by_role("button", name="Show the statement").click()
    check_current(page)
    table = page.get_by_role("table", name="Payments and refunds")
    row = table.get_by_role("row").filter(has_text=cast.title)
    expect(row).to_contain_text("£30")
    expect(row).to_contain_text(f"{number} (paid with BACS 1001, BACS 1002)")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as a spreadsheet (CSV)").click()
    path = download_info.value.path()
    assert path is not None
    assert f"{number} (paid with BACS 1001, BACS 1002)" in path.read_text(encoding="utf-8")
    sign_out(page)


def test_holders_propose_join_choose_a_quote_and_pay(
    live_server: LiveServer, live_stripe: str, new_page: Callable[..., Page], mailbox: Mailbox
) -> None:
    cast = set_the_pool_scene(live_server)
    # One browser, one person after another, as on a shared computer.
    page = new_page()
    goto_and_check(page, "/")
    ada_proposes_a_pool(page, cast)
    moderator_approves(page, cast, cast.title)
    member_joins_by_card(page, cast, cast.ada_email)
    member_joins_by_card(page, cast, cast.ben_email)
    cas_joins_through_her_managed_account(page, cast)
    provider_quotes(page, cast)

    ada_opens_the_vote(page, cast)
    vote_for_the_quote(page, cast.provider_name)  # Ada is a member too
    sign_out(page)
    member_votes(page, cast, cast.ben_email)
    member_votes(page, cast, cast.cas_email)  # the last member: her vote closes the vote
    the_last_vote_closed_it(page, cast, live_server)
    the_cards_were_charged_through_stripe(live_server, cast, live_stripe)
    for email in (cast.ada_email, cast.ben_email, cast.cas_email):  # as the page promised
        assert mailbox.last_to(email, "Your pool is going ahead")
    ben_reads_and_downloads_his_statement(page, cast)
    number = the_account_holder_gets_the_invoice(page, cast, mailbox)
    at = pool_path(live_server, cast)
    staff_record_a_part_payment_then_the_rest(page, cast, number, at)
    cas_sees_it_paid_on_her_statement(page, cast, number, mailbox, at)

    # Without JavaScript: the pools search is a plain GET form and the pool page still reads.
    page = new_page(java_script_enabled=False)
    page.goto("/pools")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pools")
    check_current(page)
    page.get_by_label("Council").select_option(label="Leeds")
    page.get_by_label("Words").fill("art group")
    submit_and_check(page, "Search")
    expect(page).to_have_url(re.compile(r"/pools\?.*q=art\+group"))
    # Running now, so no longer open: the search says so and offers to propose one.
    expect(page.get_by_role("link", name=cast.title)).to_have_count(0)
    expect(page.get_by_text("No open pools match.")).to_be_visible()
