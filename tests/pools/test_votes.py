"""Votes everyone can trust: a stated window, closing by itself, half the members at least, an
explained result, and a proposer told in time (issue 17, item 3). No Stripe: members pay by
invoice, and time moves through `now=` arguments as in test_funding.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from marketplace.db import utcnow
from marketplace.errors import DomainError
from marketplace.jobs.models import Job
from marketplace.jobs.services import enqueue
from marketplace.organisations.models import OrganisationKind
from marketplace.pools import funding, quotes, services
from marketplace.pools.models import PoolStatus
from marketplace.web.template_globals import format_date, format_datetime
from tests.factories import OrganisationFactory, StaffFactory, UserFactory
from tests.pools.builders import (
    approved_pool,
    in_days,
    invoice_pledge,
    join_by_invoice,
    quote,
    run_jobs,
)

WEEK = timedelta(days=7)


@pytest.fixture(autouse=True)
def _app_context(app):
    """Closing a vote emails the members, which needs the app (for links)."""
    with app.app_context():
        yield


def second_provider(db_session, council):
    org = OrganisationFactory(kind=OrganisationKind.PROVIDER.value)
    org.councils.append(council)
    staff = UserFactory()
    StaffFactory(organisation=org, user=staff)
    return staff, org


def body(message) -> str:
    return message.get_payload(decode=True).decode()


# --- the window ---------------------------------------------------------------------------------


def test_a_vote_lasts_at_least_48_hours_and_closes_before_the_deadline(
    db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator, deadline=in_days(10))
    quote(db_session, provider, pool)
    join_by_invoice(db_session, pool, 3)
    now = utcnow()
    with pytest.raises(DomainError, match="at least 48 hours") as short:
        quotes.open_vote(db_session, pool.proposer, pool, now + timedelta(hours=47), now=now)
    assert short.value.field == "closes_at"
    end = quotes.vote_must_end_by(pool)
    assert end == datetime.combine(pool.deadline, datetime.min.time(), tzinfo=UTC)
    with pytest.raises(DomainError, match="before the pool's deadline") as late:
        quotes.open_vote(db_session, pool.proposer, pool, end + timedelta(minutes=1), now=now)
    assert late.value.field == "closes_at"
    assert format_datetime(end) in late.value.message
    assert pool.status == PoolStatus.OPEN.value

    quotes.open_vote(db_session, pool.proposer, pool, now + quotes.MIN_VOTE_WINDOW, now=now)
    assert pool.status == PoolStatus.VOTING.value
    assert pool.vote_closes_at == now + timedelta(hours=48)


def test_no_vote_can_be_opened_once_there_is_no_time_for_48_hours(
    db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator, deadline=in_days(10))
    quote(db_session, provider, pool)
    join_by_invoice(db_session, pool, 3)
    too_late = quotes.open_vote_by(pool) + timedelta(minutes=1)
    with pytest.raises(DomainError, match="no longer time for a vote"):
        quotes.open_vote(
            db_session, pool.proposer, pool, quotes.vote_must_end_by(pool), now=too_late
        )
    # Up to that moment, the shortest vote still fits.
    just_in_time = quotes.open_vote_by(pool)
    quotes.open_vote(
        db_session, pool.proposer, pool, quotes.vote_must_end_by(pool), now=just_in_time
    )
    assert pool.status == PoolStatus.VOTING.value


def test_the_proposer_alone_cannot_open_vote_and_close(db_session, council, moderator, provider):
    """The issue's bug: the proposer opened, voted and closed in seconds. Now their vote is one
    of four, and nothing but every member voting or the end of the window closes it."""
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool)
    services.join(db_session, pool.proposer, pool, invoice_pledge())
    join_by_invoice(db_session, pool, 3)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + WEEK)
    quotes.vote(db_session, pool.proposer, pool, offer)
    assert pool.status == PoolStatus.VOTING.value
    assert not hasattr(quotes, "close_vote_by_hand")
    # The job before the window ends changes nothing.
    assert list(quotes.close_due_votes(db_session, now=utcnow() + timedelta(days=6))) == []
    assert pool.status == PoolStatus.VOTING.value


# --- closing by itself --------------------------------------------------------------------------


def test_the_last_members_vote_closes_the_vote_in_the_same_call(
    db_session, council, moderator, provider, mailbox
):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool)
    people = join_by_invoice(db_session, pool, 3)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + WEEK)
    quotes.vote(db_session, people[0], pool, offer)
    quotes.vote(db_session, people[1], pool, offer)
    assert pool.status == PoolStatus.VOTING.value
    quotes.vote(db_session, people[2], pool, offer)
    assert pool.status == PoolStatus.FUNDED.value and pool.chosen_quote_id == offer.id
    assert db_session.scalars(select(Job).where(Job.kind == quotes.FUND_JOB)).one()
    name = offer.organisation.name
    assert pool.vote_outcome == (
        f"3 of the 3 members voted. {name}'s quote had the most votes (3) and fits every "
        "member's maximum, so it was chosen."
    )
    db_session.commit()  # emails go after the commit
    email = mailbox.last_to(people[0].email, "Your pool's vote chose a quote")
    assert pool.vote_outcome in body(email)


def test_the_job_closes_votes_whose_window_has_ended(db_session, council, moderator, provider, app):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool)
    people = join_by_invoice(db_session, pool, 4)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + WEEK)
    for person in people[:3]:
        quotes.vote(db_session, person, pool, offer)
    # Time moves past the window (the row says so) and the periodic job runs in the worker.
    pool.vote_closes_at = utcnow() - timedelta(minutes=1)
    enqueue(db_session, "pools.votes")
    db_session.commit()
    run_jobs(app, db_session)
    db_session.expire_all()
    assert pool.status in (PoolStatus.FUNDED.value, PoolStatus.RUNNING.value)
    assert pool.chosen_quote_id == offer.id
    assert pool.vote_outcome.startswith("3 of the 4 members voted.")
    with pytest.raises(DomainError):
        quotes.vote(db_session, people[3], pool, offer)


# --- half of the members, at least --------------------------------------------------------------


@pytest.mark.parametrize(("members", "needed"), [(5, 3), (4, 2), (3, 2), (2, 1), (1, 1)])
def test_at_least_half_must_vote_rounded_up(members, needed):
    assert quotes.votes_needed(members) == needed


def test_too_few_voting_makes_the_vote_void_and_a_new_one_may_be_opened(
    db_session, council, moderator, provider, mailbox
):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool)
    people = join_by_invoice(db_session, pool, 5)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + WEEK)
    for person in people[:2]:
        quotes.vote(db_session, person, pool, offer)
    later = utcnow() + WEEK + timedelta(minutes=1)
    assert list(quotes.close_due_votes(db_session, now=later)) == [pool]
    assert pool.status == PoolStatus.OPEN.value and pool.chosen_quote_id is None
    assert quotes.tally(db_session, pool) == {}
    assert pool.vote_outcome == (
        "Only 2 of the 5 members voted. At least 3 of the 5 members must vote for the vote to "
        "choose a quote, so no quote was chosen."
    )
    db_session.commit()
    for person in [*people, pool.proposer]:
        email = mailbox.last_to(person.email, "Your pool's vote did not choose a quote")
        text = body(email)
        assert pool.vote_outcome in text
        assert f"A new vote can be opened until {format_datetime(quotes.open_vote_by(pool))}" in (
            text
        )
    # As the email says: a new vote can be opened.
    quotes.open_vote(db_session, pool.proposer, pool, later + WEEK, now=later)
    assert pool.status == PoolStatus.VOTING.value and pool.vote_outcome is None


def test_two_of_four_is_enough(db_session, council, moderator, provider):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool)
    people = join_by_invoice(db_session, pool, 4)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + WEEK)
    for person in people[:2]:
        quotes.vote(db_session, person, pool, offer)
    list(quotes.close_due_votes(db_session, now=utcnow() + WEEK + timedelta(minutes=1)))
    assert pool.chosen_quote_id == offer.id


def test_a_void_vote_near_the_deadline_says_there_is_no_time_and_the_pool_lapses(
    db_session, council, moderator, provider, mailbox
):
    pool = approved_pool(db_session, council, moderator, deadline=in_days(4))
    offer = quote(db_session, provider, pool)
    people = join_by_invoice(db_session, pool, 3)
    quotes.open_vote(db_session, pool.proposer, pool, quotes.vote_must_end_by(pool))
    quotes.vote(db_session, people[0], pool, offer)
    end = quotes.vote_must_end_by(pool)
    list(quotes.close_due_votes(db_session, now=end))
    assert pool.status == PoolStatus.OPEN.value
    db_session.commit()
    text = body(mailbox.last_to(people[0].email, "Your pool's vote did not choose a quote"))
    assert "There is no longer time for another vote before the pool's deadline " in text
    assert f"({format_date(pool.deadline)}), so the pool ends after it without going ahead" in text
    # Each part of that sentence: no vote can be opened, and the pool lapses after the deadline.
    with pytest.raises(DomainError, match="no longer time"):
        quotes.open_vote(db_session, pool.proposer, pool, end + WEEK, now=end)
    after = datetime.combine(pool.deadline + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    funding.charge_due(db_session, now=after + timedelta(hours=1))
    assert pool.status == PoolStatus.LAPSED.value


def test_a_member_who_leaves_takes_their_vote_with_them(db_session, council, moderator, provider):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool)
    people = join_by_invoice(db_session, pool, 4)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + WEEK)
    quotes.vote(db_session, people[0], pool, offer)
    services.leave(db_session, people[0], pool)
    assert quotes.tally(db_session, pool) == {}


def test_when_the_last_member_yet_to_vote_leaves_the_vote_closes_as_a_last_vote_would(
    db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool)
    people = join_by_invoice(db_session, pool, 4)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + WEEK)
    for person in people[:3]:
        quotes.vote(db_session, person, pool, offer)
    assert pool.status == PoolStatus.VOTING.value  # one still to vote
    quotes.leave(db_session, people[3], pool)
    assert pool.status == PoolStatus.FUNDED.value
    assert pool.chosen_quote_id == offer.id
    assert pool.vote_outcome.startswith("3 of the 3 members voted.")


def test_leaving_before_everyone_voted_leaves_the_vote_open(
    db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool)
    people = join_by_invoice(db_session, pool, 4)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + WEEK)
    quotes.vote(db_session, people[0], pool, offer)
    quotes.leave(db_session, people[3], pool)
    assert pool.status == PoolStatus.VOTING.value


# --- the result explains itself -----------------------------------------------------------------


def test_more_votes_above_a_maximum_lose_to_the_quote_that_fits_everyone(
    db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator, min_members=3, max_members=5)
    harbour = quote(db_session, provider, pool, total_pence=7500)  # £25 each at 3
    bridge = quote(db_session, second_provider(db_session, council), pool, total_pence=10500)
    people = join_by_invoice(db_session, pool, 2, max_pence=4000)
    people += join_by_invoice(db_session, pool, 1, max_pence=3000)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + WEEK)
    quotes.vote(db_session, people[0], pool, bridge)
    quotes.vote(db_session, people[1], pool, bridge)
    result = quotes.vote(db_session, people[2], pool, harbour)
    assert result is not None and pool.chosen_quote_id == harbour.id
    assert pool.vote_outcome == (
        f"3 of the 3 members voted. {bridge.organisation.name} had more votes, but £35 is above "
        f"one member's maximum of £30, so {harbour.organisation.name}'s quote, which fits "
        "everyone, was chosen with 1 vote."
    )


def test_a_tie_is_said_plainly_and_the_lower_share_wins(db_session, council, moderator, provider):
    pool = approved_pool(db_session, council, moderator)
    dearer = quote(db_session, provider, pool, total_pence=9000)  # £30 each at 3... at 4: £22.50
    cheaper = quote(db_session, second_provider(db_session, council), pool, total_pence=8000)
    people = join_by_invoice(db_session, pool, 4)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + WEEK)
    quotes.vote(db_session, people[0], pool, dearer)
    quotes.vote(db_session, people[1], pool, cheaper)
    quotes.vote(db_session, people[2], pool, dearer)
    quotes.vote(db_session, people[3], pool, cheaper)
    assert pool.chosen_quote_id == cheaper.id
    low, high = cheaper.organisation.name, dearer.organisation.name
    assert pool.vote_outcome == (
        f"4 of the 4 members voted. It was a tie: {low} and {high} had 2 votes each and both "
        f"fit everyone. {low}'s share is the lowest (£20 a month), so {low}'s quote was chosen."
    )


def test_a_tie_at_the_same_share_goes_to_the_quote_sent_first(
    db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator)
    first = quote(db_session, provider, pool, total_pence=9000)
    second = quote(db_session, second_provider(db_session, council), pool, total_pence=9000)
    people = join_by_invoice(db_session, pool, 4)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + WEEK)
    for person, choice in zip(people, [second, first, second, first], strict=True):
        quotes.vote(db_session, person, pool, choice)
    assert pool.chosen_quote_id == first.id
    assert (
        f"at the same share of £22.50 a month. {first.organisation.name}'s quote was sent "
        "first, so it was chosen."
    ) in pool.vote_outcome


# --- told in time ---------------------------------------------------------------------------


def test_the_proposer_is_emailed_once_when_the_last_day_to_open_a_vote_is_near(
    db_session, council, moderator, provider, mailbox
):
    soon = approved_pool(db_session, council, moderator, deadline=in_days(5))
    later = approved_pool(db_session, council, moderator, deadline=in_days(30))
    open_by = quotes.open_vote_by(soon)
    early = open_by - quotes.OPEN_BY_REMINDER - timedelta(minutes=1)
    assert list(quotes.remind_open_by(db_session, now=early)) == []
    near = open_by - quotes.OPEN_BY_REMINDER
    assert list(quotes.remind_open_by(db_session, now=near)) == [soon]
    assert list(quotes.remind_open_by(db_session, now=near + timedelta(hours=1))) == []  # once
    assert later.open_by_reminded_at is None
    db_session.commit()
    text = body(mailbox.last_to(soon.proposer.email, "Open your pool's vote soon"))
    assert f"A vote must be opened by {format_datetime(open_by)}." in text
    assert "lasts at least 48 hours and closes before the pool's deadline" in text
    assert f"({format_date(soon.deadline)})" in text


def test_flask_pools_close_votes_does_what_the_job_does(
    db_session, council, moderator, provider, app
):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool)
    people = join_by_invoice(db_session, pool, 3)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + WEEK)
    quotes.vote(db_session, people[0], pool, offer)
    quotes.vote(db_session, people[1], pool, offer)
    pool.vote_closes_at = utcnow() - timedelta(minutes=1)  # the window has ended
    db_session.commit()
    result = app.test_cli_runner().invoke(args=["pools", "close-votes"])
    assert "Closed 1 vote(s)" in result.output
    db_session.expire_all()
    assert pool.status == PoolStatus.FUNDED.value and pool.chosen_quote_id == offer.id
