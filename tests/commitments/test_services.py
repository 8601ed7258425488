"""Your commitments, read from the rules that own them: every kind of commitment, every pool
state, nothing due, breaks, and what a carer sees."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.commitments import services
from marketplace.db import utcnow
from marketplace.memberships import billing, help_requests, reciprocity
from marketplace.memberships import services as memberships
from marketplace.memberships.charts import hours_text
from marketplace.memberships.common import month_end
from marketplace.memberships.services import OfferData
from marketplace.payments.services import CardDetails
from marketplace.pools import funding, quotes, schedule, shares
from marketplace.pools import services as pools
from marketplace.pools.models import MemberStatus, PaymentStatus, PoolPayment, PoolStatus
from marketplace.web.template_globals import format_date
from marketplace.wellbeing import breaks
from tests.commitments.builders import (
    asked_for_help,
    carer_of,
    gathering_pool,
    giving_time_ulo,
    paired,
)
from tests.factories import UserFactory
from tests.memberships.conftest import KINDS, make_ulo
from tests.pools.builders import approved_pool, invoice_pledge, join_by_invoice, running_pool


def one_pool(found: services.Commitments) -> services.PoolCommitment:
    (item,) = found.pools
    return item


def test_someone_who_has_joined_nothing_has_nothing_due(db_session):
    person = UserFactory()
    found = services.commitments_of(db_session, person)
    assert found.is_empty and found.on_break is None
    assert found.person_name == person.display_name


# --- pools, in every state ----------------------------------------------------------------------


@pytest.mark.parametrize("voting", [False, True])
def test_a_gathering_pool_asks_nothing_yet_and_says_the_most(
    db_session, council, moderator, provider, voting
):
    person = UserFactory()
    pool, _offer = gathering_pool(db_session, council, moderator, provider, person)
    if voting:
        join_by_invoice(db_session, pool, 2)
        quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
    item = one_pool(services.commitments_of(db_session, person))
    assert item.pool_status == (PoolStatus.VOTING if voting else PoolStatus.OPEN).value
    assert item.place == MemberStatus.MEMBER.value and item.place_words == "You are a member."
    assert item.due is None
    assert item.due_words == (
        "Nothing is due. You pay only if the pool goes ahead, from the start date of the quote "
        "the members choose, and never more than £30 a month."
    )
    assert not item.ended and item.can_open


def test_waiting_for_a_place_costs_nothing(db_session, council, moderator, provider):
    pool = approved_pool(db_session, council, moderator, min_members=2, max_members=2)
    join_by_invoice(db_session, pool, 2)
    person = UserFactory()
    pools.join(db_session, person, pool, invoice_pledge())
    item = one_pool(services.commitments_of(db_session, person))
    assert item.place == MemberStatus.WAITING.value
    assert item.place_words == "You are number 1 on the waiting list."
    assert item.due_words == "Nothing is due. You pay nothing while you are on the waiting list."


def test_a_funded_pool_shows_the_next_payment_from_the_dating_rule(
    db_session, council, moderator, provider
):
    person = UserFactory()
    pool, offer = gathering_pool(db_session, council, moderator, provider, person)
    others = join_by_invoice(db_session, pool, 2)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
    for voter in [person, *others]:
        quotes.vote(db_session, voter, pool, offer)
    assert pool.chosen_quote_id == offer.id  # the last vote closed it: funded, not yet run
    member = pools.member_record(db_session, pool, person.id)
    assert member is not None
    item = one_pool(services.commitments_of(db_session, person))
    assert item.pool_status == PoolStatus.FUNDED.value
    due = schedule.next_due(db_session, pool, member)
    assert item.due == due
    assert due is not None and due.month == 1
    assert due.on == schedule.charge_date(db_session, pool, 1) == offer.start_date
    assert due.pence == shares.member_share(db_session, pool, member, 1) == 3000
    assert item.due_words == f"£30 for month 1 of 3, on {format_date(offer.start_date)}."


def test_a_running_pool_shows_the_next_month_and_what_the_last_one_did(
    db_session, council, moderator, provider
):
    person = UserFactory()
    pool, _members, _waiting = running_pool(
        db_session, council, moderator, provider, members=[person, UserFactory(), UserFactory()]
    )
    member = pools.member_record(db_session, pool, person.id)
    assert member is not None
    item = one_pool(services.commitments_of(db_session, person))
    due = schedule.next_due(db_session, pool, member)
    assert item.due == due and due is not None
    assert pool.months_started == 1  # month one invoiced and settled
    assert (due.month, due.on) == (2, schedule.charge_date(db_session, pool, 2))
    assert due.pence == shares.member_share(db_session, pool, member, 2) == 3000
    assert item.due_words == f"£30 for month 2 of 3, on {format_date(due.on)}."
    # Once every month is collected, nothing more is due.
    pool.months_started = pool.months
    item = one_pool(services.commitments_of(db_session, person))
    assert item.due is None
    assert item.due_words == "Nothing is due. Every month of the pool has been collected."


def test_a_payment_to_put_right_is_named_with_its_deadline(
    db_session, council, moderator, provider
):
    person = UserFactory()
    pool, _members, _waiting = running_pool(
        db_session, council, moderator, provider, members=[person, UserFactory(), UserFactory()]
    )
    due_by = utcnow() + timedelta(days=3)
    db_session.add(
        PoolPayment(
            pool_id=pool.id,
            user_id=person.id,
            month=2,
            amount_pence=3000,
            pay_by="card",
            status=PaymentStatus.FAILED.value,
            due_by=due_by,
        )
    )
    db_session.flush()
    item = one_pool(services.commitments_of(db_session, person))
    assert item.attention == (
        "Month 2 (£30): The payment did not go through. Please put it right by "
        f"{format_date(due_by)}, or your place goes to the next person waiting."
    )
    assert item.fix_month == 2
    # A carer sees what needs doing, but the card page is the person's own.
    carer = carer_of(db_session, person)
    seen = one_pool(services.commitments_of(db_session, person, viewer=carer))
    assert seen.attention == item.attention and seen.fix_month is None


@pytest.mark.parametrize(
    ("status", "words", "ended"),
    [
        (PoolStatus.WINDING_DOWN, "The pool ends after the last month already paid.", False),
        (PoolStatus.CLOSED, "The pool has ended.", True),
        (PoolStatus.LAPSED, "The pool has ended.", True),
        (PoolStatus.CANCELLED, "The pool has ended.", True),
    ],
)
def test_a_pool_that_is_ending_or_ended_asks_nothing_more(
    db_session, council, moderator, provider, status, words, ended
):
    person = UserFactory()
    pool, _members, _waiting = running_pool(
        db_session, council, moderator, provider, members=[person, UserFactory(), UserFactory()]
    )
    pool.status = status.value
    item = one_pool(services.commitments_of(db_session, person))
    assert item.pool_status == status.value
    assert item.due is None and item.due_words == f"Nothing is due. {words}"
    assert item.ended is ended


def test_a_pool_left_and_a_pool_only_proposed_are_listed(db_session, council, moderator, provider):
    person = UserFactory()
    pool, _offer = gathering_pool(db_session, council, moderator, provider, person)
    pools.leave(db_session, person, pool)
    proposed = pools.propose(
        db_session,
        person,
        pools.PoolData(
            title="Swimming with support",
            description="Weekly, with a support worker.",
            council_id=council.id,
            frequency="Weekly",
            min_members=2,
            max_members=4,
            cap_pence=3000,
            months=2,
            deadline=utcnow().date() + timedelta(days=20),
        ),
    )
    found = services.commitments_of(db_session, person)
    by_id = {item.pool_id: item for item in found.pools}
    left = by_id[pool.id]
    assert left.place == MemberStatus.LEFT.value and left.ended
    assert left.place_words.startswith("You left on ")
    assert left.due_words == "Nothing is due."
    mine = by_id[proposed.id]
    assert mine.place == services.PROPOSER and not mine.ended
    assert mine.place_words == "You proposed this pool. You have not joined it."
    assert mine.due_words == "Nothing is due. The local user-led organisation is checking the pool."
    assert [item.ended for item in found.pools] == [False, True]  # live ones first


# --- buddies, memberships, help -----------------------------------------------------------------


def test_buddy_pairings_show_the_other_person_by_display_name_only(db_session, council, moderator):
    seeker = UserFactory(display_name="Sam Seeker")
    buddy, match = paired(db_session, council, moderator, seeker)
    (item,) = services.commitments_of(db_session, seeker).buddies
    assert item.kind == "pairing" and item.ref_id == match.id
    assert item.heading == "Bo Buddy is your buddy"
    assert item.status_words == f"Active since {format_date(match.accepted_at)}."
    assert buddy.email not in repr(item)
    pairings = [
        b for b in services.commitments_of(db_session, buddy).buddies if b.kind == "pairing"
    ]
    assert [b.heading for b in pairings] == ["You are Sam Seeker's buddy"]
    offer = next(b for b in services.commitments_of(db_session, buddy).buddies if b.kind == "offer")
    assert offer.status_words == "Confirmed: you can be a buddy to up to 2 people at once."


def test_a_membership_giving_time_says_the_hours_due_this_month(db_session):
    _staff, org = giving_time_ulo(db_session)
    person = UserFactory()
    membership = memberships.join(db_session, person, org, "reciprocity")
    (item,) = services.commitments_of(db_session, person).memberships
    assert item.membership_id == membership.id and item.organisation_name == org.name
    assert item.basis_words == "Giving 4 hours of time a month"
    today = utcnow().date()
    # Joining today asks only for the rest of the month, pro rata (memberships reciprocity.owed).
    owed = reciprocity.owed(db_session, membership, today).minutes
    assert item.due_words == (
        f"{hours_text(owed)} by {format_date(month_end(today))}: 0 hours confirmed so far."
    )
    memberships.pause(db_session, person, membership)
    (item,) = services.commitments_of(db_session, person).memberships
    assert item.due_words == "Nothing is due. Paused: no hours are asked of you until you resume."


def test_a_fee_membership_says_the_next_fee_and_its_date(db_session, gateway):
    staff, org = make_ulo(db_session, name="Bradford Together")
    billing.set_offer(db_session, staff, org, OfferData(700, None, KINDS), gateway)
    person = UserFactory()
    membership = billing.join_paying(
        db_session, person, org, CardDetails("4242424242424242", 12, 2034, "123"), gateway=gateway
    )
    subscription = memberships.current_subscription(membership)
    assert subscription is not None and subscription.current_period_end is not None
    (item,) = services.commitments_of(db_session, person).memberships
    assert item.basis_words == "A fee of £7 a month"
    assert item.due_words == f"£7 on {format_date(subscription.current_period_end)}."
    billing.leave(db_session, person, membership, gateway=gateway)
    (item,) = services.commitments_of(db_session, person).memberships
    assert item.due_words == (
        f"Nothing more is taken. You stay a member until "
        f"{format_date(subscription.current_period_end)}."
    )


def test_help_asked_for_and_offered_never_shows_someone_elses_words(db_session):
    _staff, org = giving_time_ulo(db_session)
    asker, helper = UserFactory(), UserFactory()
    memberships.join(db_session, helper, org, "reciprocity")
    mine = asked_for_help(db_session, asker, org, what="Help with my support plan")
    theirs = asked_for_help(db_session, UserFactory(), org, what="Private words about my day")
    help_requests.offer_help(db_session, helper, theirs)
    (asked,) = services.commitments_of(db_session, asker).help
    assert asked.asked and asked.request_id == mine.id and asked.what == "Help with my support plan"
    assert asked.status == "open" and not asked.ended
    (offered,) = services.commitments_of(db_session, helper).help
    assert not offered.asked and offered.request_id == theirs.id
    assert offered.what is None and offered.status == "offered"
    assert "Private words" not in repr(offered)


# --- breaks -------------------------------------------------------------------------------------


def test_a_break_says_what_it_paused_and_what_is_still_due(
    db_session, council, moderator, provider
):
    person = UserFactory()
    _buddy, match = paired(db_session, council, moderator, person)
    _staff, org = giving_time_ulo(db_session)
    membership = memberships.join(db_session, person, org, "reciprocity")
    pool, _members, _waiting = running_pool(
        db_session, council, moderator, provider, members=[person, UserFactory(), UserFactory()]
    )
    brk = breaks.start_break(db_session, person, "month")
    found = services.commitments_of(db_session, person)
    assert found.on_break is not None
    assert found.on_break.words.startswith(
        f"You are taking a break until {format_date(brk.ends_at)}."
    )
    (pairing,) = [b for b in found.buddies if b.kind == "pairing"]
    assert pairing.ref_id == match.id
    assert pairing.break_words == "Paused for your break. It starts again when you come back."
    (kept,) = found.memberships
    assert kept.membership_id == membership.id
    assert kept.break_words == (
        "Paused for your break: no hours are expected, and no month is short."
    )
    item = one_pool(found)
    assert item.pool_id == pool.id
    assert item.break_words == (
        "Kept while you are away. Your share is still due, because the service carries on."
    )


def test_a_place_lent_during_a_break_owes_nothing_for_those_months(
    db_session, council, moderator, provider
):
    person = UserFactory()
    pool, _members, _waiting = running_pool(
        db_session,
        council,
        moderator,
        provider,
        waiting_count=1,
        members=[person, UserFactory(), UserFactory()],
    )
    breaks.start_break(db_session, person, "open", offer_pool_places=True)
    member = pools.member_record(db_session, pool, person.id)
    assert member is not None and pool.loans
    item = one_pool(services.commitments_of(db_session, person))
    due = schedule.next_due(db_session, pool, member)
    assert due is not None and due.pence == 0 == item.due.pence  # type: ignore[union-attr]
    assert item.due_words == (
        f"Nothing for month {due.month} of 3, on {format_date(due.on)}: your place is lent to "
        "someone on the waiting list while you are away."
    )
    assert item.break_words is not None and item.break_words.startswith("Your place is lent")


# --- who is looking -----------------------------------------------------------------------------


def test_a_carer_sees_the_same_commitments_but_opens_only_what_they_may(
    db_session, council, moderator, provider
):
    person = UserFactory()
    paired(db_session, council, moderator, person)
    running, _members, _waiting = running_pool(
        db_session, council, moderator, provider, members=[person, UserFactory(), UserFactory()]
    )
    gathering, _offer = gathering_pool(db_session, council, moderator, provider, person)
    carer = carer_of(db_session, person)
    assert services.people_i_can_see(db_session, carer) == [person]
    own = services.commitments_of(db_session, person)
    seen = services.commitments_of(db_session, person, viewer=carer)
    assert [p.due_words for p in seen.pools] == [p.due_words for p in own.pools]
    opens = {p.pool_id: p.can_open for p in seen.pools}
    assert opens == {gathering.id: True, running.id: False}  # as the pool pages decide
    assert all(p.can_open for p in own.pools)
    (pairing,) = [b for b in seen.buddies if b.kind == "pairing"]
    assert not pairing.can_open  # the conversation is the two people's alone


def test_looking_is_recorded_for_the_holder_and_refused_without_the_grant(db_session):
    from marketplace.carers import services as carers
    from marketplace.errors import NotAllowed

    person = UserFactory()
    carer = carer_of(db_session, person)
    services.record_look(db_session, carer, person)
    (action,) = carers.actions_for_holder(db_session, person)
    assert action.description == "Looked at your commitments" and action.carer_id == carer.id
    stranger = UserFactory()
    with pytest.raises(NotAllowed):
        services.record_look(db_session, stranger, person)
    assert services.people_i_can_see(db_session, stranger) == []


def test_funding_rules_are_untouched_by_looking(db_session, council, moderator, provider):
    """The page reads: it never changes a pool, a payment or a member."""
    person = UserFactory()
    pool, _members, _waiting = running_pool(
        db_session, council, moderator, provider, members=[person, UserFactory(), UserFactory()]
    )
    db_session.flush()
    before = (pool.status, pool.months_started, len(pools.payments_of(db_session, pool, person.id)))
    services.commitments_of(db_session, person)
    assert not db_session.dirty and not db_session.new
    after = (pool.status, pool.months_started, len(pools.payments_of(db_session, pool, person.id)))
    assert after == before


def test_a_held_first_share_is_not_a_payment_to_put_right(
    app, db_session, council, moderator, provider, stripe_clean
):
    from marketplace.payments import services as payments
    from tests.pools.builders import hold_time

    person = UserFactory()
    pool, offer = gathering_pool(db_session, council, moderator, provider, person)
    others = join_by_invoice(db_session, pool, 2)
    with app.app_context():
        card = payments.save_card(
            db_session, person, payments.CardDetails("4242424242424242", 12, 2034, "123"), {}
        )
        member = pools.member_record(db_session, pool, person.id)
        member.pay_by, member.payment_method_id = "card", card.payment_method_id
        quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
        for voter in [person, *others]:
            quotes.vote(db_session, voter, pool, offer)
        funding.fund(db_session, pool, now=hold_time(db_session, pool))
        db_session.commit()
        item = one_pool(services.commitments_of(db_session, person))
    assert (
        item.due_words
        == "Month 1 (£30) is held on your card, not taken yet. Nothing else is due yet."
    )
