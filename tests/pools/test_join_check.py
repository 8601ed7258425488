"""The check-your-answers page before joining: its likely share, the most anyone can be asked and
the first payment date are read from the page and checked against shares, funding and schedule."""

from __future__ import annotations

import html
import re
from datetime import date

from marketplace.money import format_pence
from marketplace.pools import funding, joining, quotes, schedule, services, shares
from marketplace.pools.models import PaymentStatus
from marketplace.web.template_globals import format_date
from tests.factories import OrganisationFactory, StaffFactory, UserFactory
from tests.helpers import post, sign_in
from tests.pools.builders import (
    approved_pool,
    charge_month,
    invoice_pledge,
    join_by_invoice,
    quote,
    running_pool,
)

INVOICE = {
    "pay_by": "managed_account",
    "invoice_to": "Leeds Direct Pay",
    "invoice_email": "invoices@leeds-direct-pay.example",
}


def sentences(app, person, pool, max_pounds: str = "30", answers=None) -> dict[str, str]:
    """Go through the join form to the check page; its three sentences by id, as read."""
    client = app.test_client()
    sign_in(client, person)
    response = post(
        client, f"/pools/{pool.id}/join", {"max_pence": max_pounds, **(answers or INVOICE)}
    )
    assert response.headers["Location"].endswith(f"/pools/{pool.id}/join/check")
    page = client.get(f"/pools/{pool.id}/join/check").get_data(as_text=True)
    found = {}
    for key in ("likely-share", "most-you-pay", "first-payment"):
        match = re.search(rf'id="{key}">(.*?)</(?:dd|p)>', page, re.S)
        assert match, f"no #{key} on the page"
        found[key] = html.unescape(match.group(1)).strip()
    return found


def fresh(db_session, thing):
    """The same row in the test's session again (a request ends the session it was read in)."""
    return db_session.get(type(thing), thing.id)


def test_the_likely_share_counts_the_person_joining_and_is_what_shares_charges(
    app, db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator, min_members=3, max_members=5)
    offer = quote(db_session, provider, pool, total_pence=9000)  # 3: £30, 4: £22.50, 5: £18
    join_by_invoice(db_session, pool, 3)
    person = UserFactory()
    db_session.commit()
    said = sentences(app, person, pool)
    pool, offer = fresh(db_session, pool), fresh(db_session, offer)
    expected = joining.outlook(db_session, pool, 3000, "managed_account")
    assert said["likely-share"] == expected.share
    assert said["likely-share"] == (
        "With you, the pool has 4 members: each member's share would be £22.50 a month."
    )
    # Once they have joined, the share rule says the same for the first month.
    services.join(db_session, person, pool, invoice_pledge(3000))
    assert shares.quote_share(offer, pool, 1) == 2250
    assert len(shares.payers(pool, 1)) == 4


def test_below_the_minimum_the_share_is_the_one_at_the_minimum(
    app, db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator, min_members=3, max_members=5)
    offer = quote(db_session, provider, pool, total_pence=9000)
    person = UserFactory()
    db_session.commit()
    said = sentences(app, person, pool)
    assert said["likely-share"] == (
        "With you, 1 member will have joined. The pool needs at least 3 to go ahead. "
        "With 3 members: each member's share would be £30 a month."
    )
    assert fresh(db_session, offer).per_member_pence(3) == 3000


def test_several_quotes_give_a_range_and_none_say_so(app, db_session, council, moderator, provider):
    pool = approved_pool(db_session, council, moderator, min_members=2, max_members=4)
    other_staff = UserFactory(roles=["provider_staff"])
    other = OrganisationFactory(kind="provider")
    other.councils.append(council)
    StaffFactory(organisation=other, user=other_staff)
    person = UserFactory()
    db_session.commit()
    assert sentences(app, person, pool)["likely-share"] == (
        "With you, 1 member will have joined. The pool needs at least 2 to go ahead. "
        "With 2 members. No provider has quoted yet, so the share is not known yet."
    )
    pool = fresh(db_session, pool)
    provider = tuple(fresh(db_session, part) for part in provider)
    quote(db_session, provider, pool, total_pence=6000)  # 2: £30
    quote(db_session, (other_staff, fresh(db_session, other)), pool, total_pence=5000)  # 2: £25
    join_by_invoice(db_session, pool, 1)
    db_session.commit()
    said = sentences(app, UserFactory(), pool)
    assert said["likely-share"] == (
        "With you, the pool has 2 members: each member's share would be between £25 and £30 a "
        "month, depending on which quote the members choose."
    )
    pool = fresh(db_session, pool)
    # The page prices the pool as it would be with the person joining: 2 members.
    assert sorted(q.per_member_pence(2) or 0 for q in quotes.live_quotes(pool)) == [2500, 3000]


def test_a_full_pool_says_the_waiting_list_costs_nothing(
    app, db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator, min_members=2, max_members=2)
    quote(db_session, provider, pool, total_pence=6000)
    join_by_invoice(db_session, pool, 2)
    person = UserFactory()
    db_session.commit()
    said = sentences(app, person, pool)
    assert said["likely-share"] == (
        "The pool is full, so you would join the waiting list. You pay nothing while you wait. "
        "If a place comes free, the pool has 2 members: each member's share would be £30 a month."
    )
    pool = fresh(db_session, pool)
    member = services.join(db_session, person, pool, invoice_pledge(3000))
    assert member.status == "waiting"
    assert shares.member_share(db_session, pool, member, 1) == 0  # nothing while waiting


def test_the_most_is_the_persons_own_maximum(app, db_session, council, moderator, provider):
    pool = approved_pool(db_session, council, moderator, min_members=2, max_members=3)
    quote(db_session, provider, pool, total_pence=9000)
    person = UserFactory()
    db_session.commit()
    said = sentences(app, person, pool, max_pounds="40")
    assert said["most-you-pay"] == (
        "The most you can be asked to pay in a month is £40, the maximum you chose. No invoice "
        "is ever more than that: if the share goes above it, nothing is taken from you unless "
        "you agree to pay more."
    )
    card = sentences(app, UserFactory(), pool, max_pounds="35", answers={"pay_by": "card"})
    assert card["most-you-pay"].startswith("The most you can be asked to pay in a month is £35")
    assert "No charge is ever more than that" in card["most-you-pay"]


def test_the_rule_behind_the_most_nothing_above_a_maximum_is_taken(
    app, db_session, council, moderator, provider
):
    # The rule the sentence states: a share above someone's maximum is held back, never
    # invoiced or charged.
    with app.app_context():  # funding emails the members
        running, members, _ = running_pool(db_session, council, moderator, provider, min_members=2)
        funding.leave_running(db_session, members[0], running)  # 2 left: £45 each, over £40
        charge_month(db_session, running, 2)
        for stayed in members[1:]:
            (_month_one, payment) = services.payments_of(db_session, running, stayed.id)
            assert payment.month == 2 and payment.amount_pence == 4500
            assert payment.status == PaymentStatus.FAILED.value  # held back, not invoiced
            assert payment.message == funding.OVER_MAXIMUM


def test_the_first_payment_is_the_chosen_quotes_start_date(
    app, db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool, start_date=date(2027, 1, 31))
    person = UserFactory()
    db_session.commit()
    said = sentences(app, person, pool)
    assert said["first-payment"] == (
        "Your first invoice is sent on the start date of the quote the members choose (the "
        "quotes so far start on 31 January 2027). Nothing is invoiced before that date, and you "
        "will be told the date before anything is taken."
    )
    pool, offer = fresh(db_session, pool), fresh(db_session, offer)
    assert schedule.charge_date(db_session, pool, 1) is None  # no quote chosen: no date yet

    # Once a quote is chosen, the page gives the date the dating rule gives.
    pool.chosen_quote_id = offer.id
    db_session.commit()
    first = schedule.charge_date(db_session, pool, 1)
    assert first == date(2027, 1, 31)
    card = sentences(app, UserFactory(), pool, answers={"pay_by": "card"})
    pool = fresh(db_session, pool)
    assert card["first-payment"] == (
        f"Your first payment is taken from your card on {format_date(first)}. "
        "No money is taken before then."
    )
    said = sentences(app, UserFactory(), fresh(db_session, pool))
    assert format_pence(3000) in said["likely-share"]  # the chosen quote's share at 3


def test_the_check_page_still_says_nothing_is_charged_now(
    app, db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator)
    quote(db_session, provider, pool)
    person = UserFactory()
    db_session.commit()
    client = app.test_client()
    sign_in(client, person)
    post(client, f"/pools/{pool.id}/join", {"max_pence": "30", **INVOICE})
    page = client.get(f"/pools/{pool.id}/join/check").get_data(as_text=True)
    assert "Nothing is charged now" in page
    assert services.member_record(db_session, pool, person.id) is None  # nothing saved yet


def test_a_share_that_does_not_divide_says_the_penny_and_is_what_the_joiner_pays(
    app, db_session, council, moderator, provider
):
    # £100 among 3: the earliest member pays £33.34, the person joining £33.33.
    pool = approved_pool(db_session, council, moderator, min_members=3, max_members=3)
    offer = quote(db_session, provider, pool, total_pence=10000)
    join_by_invoice(db_session, pool, 2)
    person = UserFactory()
    db_session.commit()
    said = sentences(app, person, pool, max_pounds="40")
    offer = fresh(db_session, offer)
    assert said["likely-share"] == (
        "With you, the pool has 3 members: your share would be £33.33 a month. £100 split 3 "
        "ways: 1 person pays £33.34 and 2 pay £33.33 (the earliest to join pay the odd "
        "pennies)."
    )
    pool = fresh(db_session, pool)
    services.join(db_session, person, pool, invoice_pledge(4000))
    # The rule that splits the chosen quote's price when the month is collected.
    everyone = shares.amounts(offer, pool.current_members)
    assert everyone is not None and everyone[person.id] == 3333
    assert sorted(everyone.values()) == [3333, 3333, 3334]
    assert sum(everyone.values()) == 10000
