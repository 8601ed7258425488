"""Pool pages through the test client: forms, check-your-answers, cards, votes, authorisation."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.db import utcnow
from marketplace.moderation import services as moderation
from marketplace.payments.gateway import get_gateway
from marketplace.pools import funding, invoices, quotes, schedule, services
from marketplace.pools.models import Invoice, MemberStatus, Pool, PoolPayment, PoolStatus
from tests.factories import CouncilFactory, UserFactory
from tests.helpers import csrf_token, post, sign_in
from tests.pools.builders import (
    approved_pool,
    charge_time,
    hold_time,
    in_days,
    join_by_invoice,
    quote,
    run_jobs,
)

GOOD = "4242424242424242"
DECLINED = "4000000000000002"


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def proposal(council, **overrides) -> dict:
    deadline = in_days(30)
    form = {
        "title": "Peer support walking group",
        "description": "A weekly walk with a peer worker.",
        "council_id": str(council.id),
        "area": "LS6",
        "frequency": "Weekly, 2 hours",
        "min_members": "3",
        "max_members": "6",
        "cap_pence": "40",
        "months": "3",
        "deadline": [str(deadline.day), str(deadline.month), str(deadline.year)],
    }
    form.update(overrides)
    return form


def pool_count(db_session) -> int:
    return db_session.scalar(select(func.count(Pool.id))) or 0


@pytest.mark.parametrize(
    ("overrides", "message", "field"),
    [
        (
            {"min_members": "5", "max_members": "3"},
            "The most members must be the same as or more than the fewest",
            "max_members",
        ),
        ({"cap_pence": "0"}, "Enter the most each member will pay a month", "cap_pence"),
        (
            {"cap_pence": "1,000,000"},
            "The most each member pays must be £5,000 a month or less",
            "cap_pence",
        ),
        ({"cap_pence": "lots"}, "Enter an amount in pounds, like 25 or 25.50", "cap_pence"),
        ({"deadline": ["1", "1", "2020"]}, "The deadline must be in the future", "deadline"),
        ({"deadline": ["31", "2", "2030"]}, "Enter a real date, like 27 3 2026", "deadline"),
        ({"title": ""}, "Say what service the pool is for", "title"),
    ],
)
def test_bad_proposals_show_the_message_beside_the_field_and_save_nothing(
    app, db_session, council, overrides, message, field
):
    client = signed_in(app, UserFactory())
    before = pool_count(db_session)
    response = post(client, "/pools/propose", proposal(council, **overrides))
    assert response.status_code == 200
    page = text(response)
    assert "There is a problem" in page
    assert message in page
    assert f'id="{field}-error"' in page
    assert pool_count(db_session) == before


def test_propose_moderate_and_join_by_invoice(app, db_session, council, moderator):
    proposer = UserFactory()
    db_session.commit()
    client = signed_in(app, proposer)
    response = post(client, "/pools/propose", proposal(council))
    assert response.status_code == 302
    assert "sent to the local user-led organisation to check" in text(client.get("/pools"))
    pool = db_session.scalars(select(Pool).where(Pool.proposer_id == proposer.id)).one()
    assert pool.status == PoolStatus.PENDING.value and pool.cap_pence == 4000
    # Not public yet.
    assert app.test_client().get(f"/pools/{pool.id}").status_code == 404

    (item,) = moderation.open_entries_for(db_session, services.ITEM_POOL, pool.id)
    staff = signed_in(app, moderator)
    page = text(staff.get(f"/moderation/items/{item.id}"))
    assert "Peer support walking group" in page and "£40" in page and "LS6" in page
    post(staff, f"/moderation/items/{item.id}/claim", token_from=f"/moderation/items/{item.id}")
    response = post(staff, f"/moderation/items/{item.id}", {"decision": "approve", "reason": ""})
    assert response.status_code == 302
    db_session.refresh(pool)
    assert pool.status == PoolStatus.OPEN.value

    listing = text(app.test_client().get(f"/pools?council={council.id}&q=walking"))
    assert "Peer support walking group" in listing
    assert "0 of the 3 members needed, 30 days left" in listing

    joiner = UserFactory()
    db_session.commit()
    member = signed_in(app, joiner)
    # A pledge above the cap is refused beside the field.
    response = post(member, f"/pools/{pool.id}/join", {"max_pence": "45", "pay_by": "card"})
    assert 'id="max_pence-error"' in text(response)
    assert "The most anyone pays in this pool is £40 a month" in text(response)
    # Invoice members must say who to invoice.
    response = post(
        member, f"/pools/{pool.id}/join", {"max_pence": "30", "pay_by": "managed_account"}
    )
    assert 'id="invoice_to-error"' in text(response)
    response = post(
        member,
        f"/pools/{pool.id}/join",
        {"max_pence": "30", "pay_by": "managed_account", "invoice_to": "Leeds Direct Pay"},
    )
    assert 'id="invoice_email-error"' in text(response)  # and where to send the invoices
    response = post(
        member,
        f"/pools/{pool.id}/join",
        {
            "max_pence": "30",
            "pay_by": "managed_account",
            "invoice_to": "Leeds Direct Pay",
            "invoice_email": "not an address",
        },
    )
    assert "Enter an email address in the correct format" in text(response)
    response = post(
        member,
        f"/pools/{pool.id}/join",
        {
            "max_pence": "30",
            "pay_by": "managed_account",
            "invoice_to": "Leeds Direct Pay",
            "invoice_email": "invoices@leeds-direct-pay.example",
            "invoice_reference": "LDP-77",
        },
    )
    assert response.headers["Location"].endswith(f"/pools/{pool.id}/join/check")
    check = text(member.get(f"/pools/{pool.id}/join/check"))
    terms = services.terms_text(pool, 3000, "managed_account")
    assert "send an invoice" in terms and "card" not in terms
    assert terms.replace("'", "&#39;") in check
    assert "Nothing is charged now" in check and "Change" in check
    assert services.member_record(db_session, pool, joiner.id) is None  # nothing saved yet
    response = post(member, f"/pools/{pool.id}/join/check")
    assert response.status_code == 302
    record = services.member_record(db_session, pool, joiner.id)
    assert record is not None and record.status == MemberStatus.MEMBER.value
    page = text(member.get(f"/pools/{pool.id}"))
    assert "You are a member" in page
    assert "1 of the 3 members needed" in page
    assert joiner.display_name not in page  # members are a count, not names

    # Joining twice is refused beside the field.
    response = post(
        member,
        f"/pools/{pool.id}/join",
        {
            "max_pence": "30",
            "pay_by": "managed_account",
            "invoice_to": "Leeds Direct Pay",
            "invoice_email": "invoices@leeds-direct-pay.example",
        },
    )
    assert response.status_code == 200
    assert "You have already joined this pool" in text(response)

    # The discussion shows the author's display name.
    response = post(
        member, f"/pools/{pool.id}/messages", {"body": "Hello all"}, token_from=f"/pools/{pool.id}"
    )
    assert response.status_code == 302
    page = text(member.get(f"/pools/{pool.id}"))
    assert "Hello all" in page and joiner.display_name in page
    # The address a refused message leaves in the browser shows the pool when opened again.
    response = member.get(f"/pools/{pool.id}/messages")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/pools/{pool.id}#discussion"


def test_join_by_card_through_check_and_card_pages(
    app, db_session, council, moderator, stripe_clean
):
    pool = approved_pool(db_session, council, moderator)
    person = UserFactory()
    db_session.commit()
    client = signed_in(app, person)
    post(client, f"/pools/{pool.id}/join", {"max_pence": "35", "pay_by": "card"})
    response = post(client, f"/pools/{pool.id}/join/check")
    assert response.headers["Location"].endswith(f"/pools/{pool.id}/join/card")
    page = text(client.get(f"/pools/{pool.id}/join/card"))
    assert "4242 4242 4242 4242" in page

    card = {"exp_month": "12", "exp_year": "2034", "cvc": "123"}
    response = post(client, f"/pools/{pool.id}/join/card", {"number": DECLINED, **card})
    assert response.status_code == 200
    page = text(response)
    assert 'id="number-error"' in page and "declined" in page.lower()
    assert DECLINED not in page  # never echoed
    assert services.member_record(db_session, pool, person.id) is None

    response = post(client, f"/pools/{pool.id}/join/card", {"number": GOOD, **card})
    assert response.status_code == 302
    record = services.member_record(db_session, pool, person.id)
    assert record is not None and record.status == MemberStatus.MEMBER.value
    assert record.payment_method_id and record.card_description.endswith("4242")
    assert "You are a member of this pool" in text(client.get(f"/pools/{pool.id}"))


def test_a_full_pool_puts_a_card_joiner_on_the_waiting_list(
    app, db_session, council, moderator, stripe_clean
):
    pool = approved_pool(db_session, council, moderator, min_members=2, max_members=2)
    join_by_invoice(db_session, pool, 2)
    person = UserFactory()
    db_session.commit()
    client = signed_in(app, person)
    post(client, f"/pools/{pool.id}/join", {"max_pence": "40", "pay_by": "card"})
    response = post(
        client,
        f"/pools/{pool.id}/join/card",
        {"number": GOOD, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
        token_from=f"/pools/{pool.id}/join/card",
    )
    assert response.status_code == 302
    assert "waiting list, number 1" in text(client.get(f"/pools/{pool.id}"))


def test_provider_quotes_members_vote_and_closing_funds_the_pool(
    app, db_session, council, moderator, provider, stripe_clean, mailbox
):
    staff, org = provider
    pool = approved_pool(db_session, council, moderator)
    db_session.commit()
    provider_client = signed_in(app, staff)
    assert pool.title in text(provider_client.get("/provider/pools"))
    start = in_days(40)
    path = f"/pools/{pool.id}/quote?org={org.id}"
    response = post(
        provider_client,
        path,
        {"start_date": [str(start.day), str(start.month), str(start.year)], "total": "0.5x"},
    )
    assert 'id="total-error"' in text(response)
    response = post(
        provider_client,
        path,
        {
            "start_date": [str(start.day), str(start.month), str(start.year)],
            "total": "90",
            "terms": "A month's notice.",
        },
    )
    assert response.status_code == 302
    pool = db_session.get(Pool, pool.id)
    (offer,) = quotes.live_quotes(pool)
    assert offer.per_member_pence(3) == 3000

    # Three card members, through the pages.
    people = []
    for _ in range(3):
        person = UserFactory()
        db_session.commit()
        client = signed_in(app, person)
        post(client, f"/pools/{pool.id}/join", {"max_pence": "40", "pay_by": "card"})
        post(client, f"/pools/{pool.id}/join/check")
        response = post(
            client,
            f"/pools/{pool.id}/join/card",
            {"number": GOOD, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
        )
        assert response.status_code == 302
        people.append(client)
    page = text(people[0].get(f"/pools/{pool.id}"))
    assert "£30 a month" in page  # each share at 3 members

    # A non-member cannot vote; the proposer opens the vote.
    stranger = signed_in(app, UserFactory())
    proposer = signed_in(app, pool.proposer)
    response = post(
        proposer, f"/pools/{pool.id}/vote/open", {"days": "7"}, token_from=f"/pools/{pool.id}"
    )
    assert response.status_code == 302
    db_session.refresh(pool)
    assert pool.status == PoolStatus.VOTING.value
    response = post(
        stranger, f"/pools/{pool.id}/vote", {"quote": str(offer.id)}, token_from="/pools"
    )
    assert response.status_code == 403
    for client in people:
        response = post(
            client, f"/pools/{pool.id}/vote", {"quote": str(offer.id)}, token_from="/pools"
        )
        assert response.status_code == 302
    # Nobody closes a vote by hand: the last member's vote closed it.
    assert "Every member has now voted, so the vote has closed" in text(
        people[2].get(f"/pools/{pool.id}")
    )
    run_jobs(app, db_session)  # closing the vote queued month one: not due yet
    db_session.expire_all()
    pool = db_session.get(Pool, pool.id)
    assert pool.status == PoolStatus.FUNDED.value
    assert db_session.scalars(select(PoolPayment)).all() == []  # nothing held before its date
    page = " ".join(html.unescape(text(people[0].get(f"/pools/{pool.id}"))).split())
    first = schedule.charge_date(db_session, pool, 1)
    hold_on = schedule.hold_date(db_session, pool)
    said = (
        f"Nothing is taken yet. From {hold_on.day} {hold_on:%B %Y} your first share is held on "
        "your card (your bank reserves it, nothing is taken), and it is taken on "
        f"{first.day} {first:%B %Y} only if every member's share is secured by then."
    )
    assert said in page
    # True: the day before the hold date nothing is held; on it every card share is.
    with app.app_context():
        funding.charge_due(db_session, now=hold_time(db_session, pool) - timedelta(days=1))
        db_session.commit()
    assert db_session.scalars(select(PoolPayment)).all() == []
    with app.app_context():
        funding.charge_due(db_session, now=hold_time(db_session, pool))
        db_session.commit()
    held = db_session.scalars(select(PoolPayment).where(PoolPayment.pool_id == pool.id)).all()
    assert [p.status for p in held] == ["held"] * 3
    page = " ".join(html.unescape(text(people[0].get(f"/pools/{pool.id}"))).split())
    assert "Held on your card, not taken yet" in page
    assert (
        "Your first share is held on your card: your bank reserves it, nothing is taken yet. "
        f"It is taken on {first.day} {first:%B %Y} only if every member's share is secured"
    ) in page
    with app.app_context():
        funding.charge_due(db_session, now=charge_time(db_session, pool))  # the start date
        db_session.commit()
    db_session.expire_all()
    pool = db_session.get(Pool, pool.id)
    assert pool.status == PoolStatus.RUNNING.value
    paid = db_session.scalars(select(PoolPayment).where(PoolPayment.pool_id == pool.id)).all()
    assert [p.status for p in paid] == ["paid"] * 3
    told = mailbox.last_to(paid[0].user.email, "Your pool is going ahead")
    said = " ".join(told.get_payload(decode=True).decode().split())
    assert f"Your first share of £{paid[0].amount_pence // 100} has now been taken." in said

    # The statement (tests/statements): the old addresses lead to the one statement.
    assert people[0].get("/pools/statement").headers["Location"] == "/statement"
    assert people[0].get("/pools/statement.csv").headers["Location"] == "/statement.csv"

    # Running: leaving takes effect at the end of the paid month.
    page = text(people[0].get(f"/pools/{pool.id}/leave"))
    assert "end of month 1, which is already paid" in page
    response = post(people[0], f"/pools/{pool.id}/leave")
    assert response.status_code == 302


def test_leave_before_funding_costs_nothing(app, db_session, council, moderator):
    pool = approved_pool(db_session, council, moderator)
    (person,) = join_by_invoice(db_session, pool, 1)
    db_session.commit()
    client = signed_in(app, person)
    assert "you will not be charged" in text(client.get(f"/pools/{pool.id}/leave"))
    response = post(client, f"/pools/{pool.id}/leave")
    assert response.status_code == 302
    assert services.member_record(db_session, pool, person.id).status == MemberStatus.LEFT.value
    assert client.get(f"/pools/{pool.id}/leave").status_code == 404


def test_invoices_are_recorded_paid_only_by_the_areas_ulo(
    app, db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool)
    people = join_by_invoice(db_session, pool, 3)
    with app.app_context():  # closing the vote and funding email the people concerned
        quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
        for person in people:
            quotes.vote(db_session, person, pool, offer)
        assert pool.chosen_quote_id == offer.id  # the last member's vote closed the vote
        funding.fund(db_session, pool, now=hold_time(db_session, pool))
        db_session.commit()  # funding leaves the commit to its caller
    rows = db_session.scalars(select(PoolPayment).where(PoolPayment.pool_id == pool.id)).all()
    row = rows[0]
    assert row.status == "invoiced"

    # Before the pool runs, ULO staff of the area accept each invoice (nobody else may).
    member = signed_in(app, people[0])
    response = post(member, f"/pools/payments/{row.id}/accepted", token_from="/pools")
    assert response.status_code == 403
    staff = signed_in(app, moderator)
    page = text(staff.get(f"/pools/{pool.id}"))
    assert "Accept: the account holder will pay" in page and "Record a payment" not in page
    for each in rows:
        response = post(staff, f"/pools/payments/{each.id}/accepted", token_from="/pools")
        assert response.status_code == 302
    assert {db_session.get(PoolPayment, r.id, populate_existing=True).status for r in rows} == {
        "accepted"
    }
    with app.app_context():
        funding.charge_due(db_session, now=charge_time(db_session, pool))
        db_session.commit()
    assert db_session.get(Pool, pool.id, populate_existing=True).status == "running"
    assert db_session.get(PoolPayment, row.id, populate_existing=True).status == "invoiced"

    # Someone else's payment fix page is hidden (and so is the running pool).
    assert signed_in(app, UserFactory()).get(f"/pools/{pool.id}/payments/1/fix").status_code == 404

    # The invoice page: the member sees it, ULO staff for another area and strangers do not.
    invoice = invoices.invoice_of(db_session, row)
    assert invoice is not None
    page_path = f"/invoices/{invoice.number}"
    member = signed_in(app, people[0])
    assert invoice.number in text(member.get(page_path))
    assert "Record a payment" not in text(member.get(page_path))
    from tests.listing_helpers import ulo_moderator

    elsewhere = ulo_moderator(CouncilFactory())
    stranger = UserFactory()
    db_session.commit()
    for outsider in (elsewhere, stranger):
        client = signed_in(app, outsider)
        assert client.get(page_path).status_code == 404
    # Only area staff can record money; a member posting is told the invoice does not exist.
    form = {
        "amount": "10",
        "received_on": [str(utcnow().day), str(utcnow().month), str(utcnow().year)],
        "reference": "BACS 77",
    }
    response = post(member, f"{page_path}/payments", form, token_from=page_path)
    assert response.status_code == 404
    response = post(signed_in(app, elsewhere), f"{page_path}/payments", form, token_from="/pools")
    assert response.status_code == 404
    assert db_session.get(PoolPayment, row.id).status == "invoiced"

    # Bad input is refused beside its field, and nothing is recorded.
    assert "Record a payment" in text(staff.get(f"/pools/{pool.id}"))
    too_much = {**form, "amount": str(row.amount_pence // 100 + 1)}
    response = post(staff, f"{page_path}/payments", too_much, token_from=page_path)
    assert response.status_code == 200 and 'id="amount-error"' in text(response)
    assert "still to pay" in text(response) and text(response).count("<title>Error: ") == 1
    no_reference = {**form, "reference": ""}
    response = post(staff, f"{page_path}/payments", no_reference, token_from=page_path)
    assert 'id="reference-error"' in text(response)
    assert db_session.get(Invoice, invoice.id, populate_existing=True).received == []

    # Part, then the rest: the share is paid once nothing is left.
    response = post(staff, f"{page_path}/payments", form, token_from=page_path)
    assert response.status_code == 302
    assert "Part of the invoice is still to pay" in text(staff.get(page_path))
    assert db_session.get(PoolPayment, row.id, populate_existing=True).status == "invoiced"
    rest = {**form, "amount": f"{(row.amount_pence - 1000) / 100:.2f}", "reference": "BACS 78"}
    response = post(staff, f"{page_path}/payments", rest, token_from=page_path)
    assert response.status_code == 302
    assert "The invoice is paid in full" in text(staff.get(page_path))
    assert db_session.get(PoolPayment, row.id, populate_existing=True).status == "paid"


def test_a_refused_payment_is_put_right_with_a_new_card(
    app, db_session, council, moderator, provider, stripe_clean
):
    from marketplace.payments import services as payments

    pool = approved_pool(db_session, council, moderator, min_members=2, max_members=3)
    offer = quote(db_session, provider, pool, total_pence=6000)
    people = [UserFactory(), UserFactory()]
    with app.app_context():
        for person, number in zip(people, ["4000000000000341", GOOD], strict=True):
            card = payments.save_card(
                db_session, person, payments.CardDetails(number, 12, 2034, "123"), {}
            )
            services.join(
                db_session,
                person,
                pool,
                services.Pledge(4000, "card", payment_method_id=card.payment_method_id),
            )
        quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
        for person in people:
            quotes.vote(db_session, person, pool, offer)
        assert pool.chosen_quote_id == offer.id  # the last member's vote closed the vote
        funding.fund(db_session, pool, now=hold_time(db_session, pool))
        db_session.commit()  # funding leaves the commit to its caller
    refused, fine = people
    # Not yours, or not refused: 404.
    assert signed_in(app, fine).get(f"/pools/{pool.id}/payments/1/fix").status_code == 404
    client = signed_in(app, refused)
    assert "Put this payment right" in text(client.get(f"/pools/{pool.id}"))
    path = f"/pools/{pool.id}/payments/1/fix"
    card = {"exp_month": "12", "exp_year": "2034", "cvc": "123"}
    response = post(client, path, {"number": DECLINED, **card})
    assert 'id="number-error"' in text(response)
    response = post(client, path, {"number": GOOD, **card})
    assert response.status_code == 302
    row = db_session.scalars(
        select(PoolPayment).where(PoolPayment.pool_id == pool.id, PoolPayment.user_id == refused.id)
    ).one()
    assert row.status == "held"  # secured; taken on the start date with the others
    with app.app_context():
        funding.charge_due(db_session, now=charge_time(db_session, pool))
        db_session.commit()
    assert db_session.get(PoolPayment, row.id, populate_existing=True).status == "paid"
    assert db_session.get(Pool, pool.id, populate_existing=True).status == PoolStatus.RUNNING.value


def test_a_bank_confirmation_is_made_on_a_page_of_its_own(
    app, db_session, council, moderator, provider, stripe_clean, mailbox
):
    from marketplace.payments import services as payments

    pool = approved_pool(db_session, council, moderator, min_members=2, max_members=3)
    offer = quote(db_session, provider, pool, total_pence=6000)
    people = [UserFactory(), UserFactory()]
    with app.app_context():
        for person, number in zip(people, ["4000002760003184", GOOD], strict=True):
            card = payments.save_card(
                db_session, person, payments.CardDetails(number, 12, 2034, "123"), {}
            )
            services.join(
                db_session,
                person,
                pool,
                services.Pledge(4000, "card", payment_method_id=card.payment_method_id),
            )
        quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
        for person in people:
            quotes.vote(db_session, person, pool, offer)
        assert pool.chosen_quote_id == offer.id  # the last member's vote closed the vote
        funding.fund(db_session, pool, now=hold_time(db_session, pool))
        db_session.commit()
    asked, fine = people
    path = f"/pools/{pool.id}/payments/1/confirm"
    email = mailbox.last_to(asked.email).get_payload(decode=True).decode()
    assert path in email  # the email links to the confirmation page, not only "add a card"
    assert signed_in(app, fine).get(path).status_code == 404  # not theirs
    assert app.test_client().get(path).status_code == 302  # sign in first
    client = signed_in(app, asked)
    assert path in text(client.get(f"/pools/{pool.id}"))  # linked from the pool page
    page = " ".join(text(client.get(path)).split())
    assert "Confirming puts a hold on your card: nothing is taken now." in page
    response = client.post(path, data={})  # no CSRF token: refused, nothing happens
    assert response.status_code in (200, 400)
    response = post(client, path, {})
    assert response.status_code == 302
    row = db_session.scalars(
        select(PoolPayment).where(PoolPayment.pool_id == pool.id, PoolPayment.user_id == asked.id)
    ).one()
    db_session.refresh(row)
    assert row.status == "held"
    with app.app_context():
        (intent,) = [
            p
            for p in get_gateway().recent_payment_intents()
            if p.metadata.get("charge_key", "").endswith(f"member:{asked.id}:month:1")
        ]
    assert intent.status == "requires_capture"  # confirmed, and still nothing taken
    assert client.get(path).status_code == 404  # nothing left to confirm


def test_a_lapsed_pool_is_hidden_from_strangers_but_readable_by_members(
    app, db_session, council, moderator
):
    pool = approved_pool(db_session, council, moderator)
    (person,) = join_by_invoice(db_session, pool, 1)
    with app.app_context():  # lapsing emails the members
        funding.lapse(db_session, pool, "The pool did not reach its minimum by the deadline")
        db_session.commit()  # lapse leaves the commit to its caller
    assert app.test_client().get(f"/pools/{pool.id}").status_code == 404
    assert signed_in(app, UserFactory()).get(f"/pools/{pool.id}").status_code == 404
    page = text(signed_in(app, person).get(f"/pools/{pool.id}"))
    assert "Ended without going ahead" in page
    assert "Join this pool" not in page


def test_search_filters_and_shows_online_pools(app, db_session, council, moderator):
    approved_pool(db_session, council, moderator, title="Online art group", area=None)
    other = CouncilFactory()
    db_session.commit()
    page = text(app.test_client().get("/pools?q=art"))
    assert "Online art group" in page and "Online" in page
    page = text(app.test_client().get(f"/pools?council={other.id}"))
    assert "Online art group" not in page
    assert "No open pools match" in page
    assert csrf_token  # helpers imported for the other tests
