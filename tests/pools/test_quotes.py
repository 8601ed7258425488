"""Quotes and the members' vote, without Stripe."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.organisations.models import OrganisationKind
from marketplace.pools import quotes
from marketplace.pools.models import PoolStatus, QuoteStatus
from tests.factories import CouncilFactory, OrganisationFactory, StaffFactory, UserFactory
from tests.listing_helpers import ulo_moderator
from tests.pools.builders import approved_pool, in_days, join_by_invoice, quote

SOON = timedelta(days=7)


@pytest.fixture(autouse=True)
def _app_context(app):
    """Closing a vote emails the members, which needs the app (for links)."""
    with app.app_context():
        yield


def test_even_split_rounds_each_share_up_to_the_penny():
    assert quotes.even_split(10000, 3, 5) == {3: 3334, 4: 2500, 5: 2000}


def test_providers_see_pools_in_their_area_and_quote(db_session, council, moderator, provider):
    pool = approved_pool(db_session, council, moderator)
    staff, org = provider
    assert quotes.pools_to_quote(db_session, org) == [pool]
    offer = quote(db_session, provider, pool, total_pence=9000)
    assert offer.per_member_pence(3) == 3000 and offer.per_member_pence(5) == 1800
    assert offer.per_member_pence(6) is None
    # Quoting again replaces the earlier quote.
    again = quote(db_session, provider, pool, total_pence=8000)
    assert offer.status == QuoteStatus.WITHDRAWN.value
    assert quotes.live_quotes(pool) == [again]


def test_a_provider_outside_the_area_cannot_quote(db_session, council, moderator):
    pool = approved_pool(db_session, council, moderator)
    org = OrganisationFactory(kind=OrganisationKind.PROVIDER.value)
    org.councils.append(CouncilFactory())
    staff = UserFactory()
    StaffFactory(organisation=org, user=staff)
    with pytest.raises(DomainError, match="does not work in"):
        quote(db_session, (staff, org), pool)
    with pytest.raises(NotAllowed):  # not their organisation
        quote(db_session, (UserFactory(), org), pool)
    assert pool.quotes == []


def test_quotes_that_are_too_dear_or_incomplete_are_refused(
    db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator, cap_pence=2000)
    with pytest.raises(DomainError, match="more than the most anyone"):
        quote(db_session, provider, pool, total_pence=30000)  # 6,000p each at 5
    with pytest.raises(DomainError, match="group of 5"):
        quote(db_session, provider, pool, prices={3: 1500, 4: 1200})
    with pytest.raises(DomainError) as past:
        quote(db_session, provider, pool, start_date=in_days(0))
    assert past.value.field == "start_date"
    assert pool.quotes == []


def test_voting_one_member_one_vote_and_the_winner_fits_everyone(
    db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator)
    cheap = quote(db_session, provider, pool, total_pence=6000)  # 2,000p each at 3
    other_staff = UserFactory()
    other_org = OrganisationFactory(kind=OrganisationKind.PROVIDER.value)
    other_org.councils.append(council)
    StaffFactory(organisation=other_org, user=other_staff)
    dear = quote(db_session, (other_staff, other_org), pool, total_pence=11400)  # 3,800p at 3

    with pytest.raises(DomainError, match="needs 3 members"):
        quotes.open_vote(db_session, pool.proposer, pool, utcnow() + SOON)
    a, b = join_by_invoice(db_session, pool, 2, max_pence=4000)
    (c,) = join_by_invoice(db_session, pool, 1, max_pence=2500)  # can't afford the dear one
    with pytest.raises(NotAllowed):
        quotes.open_vote(db_session, a, pool, utcnow() + SOON)  # not the proposer or ULO
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + SOON)
    assert pool.status == PoolStatus.VOTING.value

    (d,) = join_by_invoice(db_session, pool, 1, max_pence=4000)  # does not vote
    quotes.vote(db_session, a, pool, dear)
    quotes.vote(db_session, b, pool, dear)
    quotes.vote(db_session, c, pool, cheap)
    with pytest.raises(DomainError, match="already voted"):
        quotes.vote(db_session, a, pool, cheap)
    with pytest.raises(NotAllowed):
        quotes.vote(db_session, UserFactory(), pool, cheap)

    # Nobody closes it by hand: the window ends and the job closes it.
    assert pool.status == PoolStatus.VOTING.value
    (closed,) = quotes.close_due_votes(db_session, now=utcnow() + SOON + timedelta(minutes=1))
    assert closed is pool
    # The dear quote had more votes but its share (2,850p at 4) is over c's maximum (2,500p).
    assert pool.status == PoolStatus.FUNDED.value and pool.chosen_quote_id == cheap.id
    assert (cheap.status, dear.status) == ("chosen", "not_chosen")
    assert pool.vote_outcome == (
        f"3 of the 4 members voted. {other_org.name} had more votes, but £28.50 is above one "
        f"member's maximum of £25, so {cheap.organisation.name}'s quote, which fits everyone, "
        "was chosen with 1 vote."
    )
    assert d  # counted as a member who did not vote


def test_with_no_fitting_quote_the_pool_goes_back_to_quotes(
    db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool, total_pence=11400)  # 3,800p each at 3
    people = join_by_invoice(db_session, pool, 3, max_pence=3000)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + SOON)
    for person in people:
        quotes.vote(db_session, person, pool, offer)
    # The last vote closed it, and no quote with votes fits.
    assert "fits every member" in pool.vote_outcome
    assert pool.status == PoolStatus.OPEN.value
    assert quotes.tally(db_session, pool) == {}  # a fresh vote next time


def test_the_vote_closes_at_its_deadline(db_session, council, moderator, provider):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool)
    (a, *_) = join_by_invoice(db_session, pool, 3)
    with pytest.raises(DomainError):
        quotes.open_vote(db_session, pool.proposer, pool, utcnow() - SOON)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + SOON)
    pool.vote_closes_at = utcnow() - timedelta(minutes=1)
    with pytest.raises(DomainError, match="Voting has closed"):
        quotes.vote(db_session, a, pool, offer)


def test_only_the_areas_ulo_runs_votes(db_session, council, moderator, provider):
    pool = approved_pool(db_session, council, moderator)
    quote(db_session, provider, pool)
    join_by_invoice(db_session, pool, 3)
    with pytest.raises(NotAllowed):
        quotes.open_vote(db_session, ulo_moderator(CouncilFactory()), pool, utcnow() + SOON)
    quotes.open_vote(db_session, moderator, pool, utcnow() + SOON)


def test_a_quote_is_shown_at_once_and_checked_in_the_queue_afterwards(
    db_session, council, moderator, provider
):
    pool = approved_pool(db_session, council, moderator)
    offer = quote(db_session, provider, pool)
    assert offer in quotes.live_quotes(pool)
    (item,) = moderation.open_entries_for(db_session, quotes.ITEM_QUOTE, offer.id)
    assert item.councils == [council.code]
    # Replacing the quote replaces its queue entry.
    newer = quote(db_session, provider, pool, total_pence=8000)
    assert moderation.open_entries_for(db_session, quotes.ITEM_QUOTE, offer.id) == []
    (item,) = moderation.open_entries_for(db_session, quotes.ITEM_QUOTE, newer.id)

    member, *_ = join_by_invoice(db_session, pool, pool.min_members)
    quotes.open_vote(db_session, pool.proposer, pool, utcnow() + timedelta(days=7))
    quotes.vote(db_session, member, pool, newer)
    moderation.decide(db_session, moderator, item, Decision.REJECT, "Misleading terms")
    assert newer.status == QuoteStatus.WITHDRAWN.value
    assert quotes.live_quotes(pool) == []
    assert quotes.vote_of(db_session, pool, member.id) is None  # they can choose again
    assert quotes.withdrawal_reason(db_session, newer) == "Misleading terms"
