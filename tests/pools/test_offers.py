"""A place offered from the waiting list: confirmed before anything is held, told at least a
week before its first charge, declined or left to end for free, and never offered twice.
Services through localstripe, then the routes for every role."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.errors import DomainError
from marketplace.pools import funding, maximum, offers, schedule, services
from marketplace.pools.models import OFFER_DAYS, MemberStatus, PoolStatus
from marketplace.web.template_globals import format_date, format_datetime
from tests.factories import UserFactory
from tests.helpers import post, sign_in
from tests.listing_helpers import ulo_moderator
from tests.pools.builders import (
    approved_pool,
    charge_time,
    go_ahead,
    invoice_pledge,
    join_by_invoice,
    notice_time,
)
from tests.pools.test_funding import (
    GOOD,
    funded_pool,
    intents,
    join_by_card,
    join_by_card_when_funded,
    rows,
)

OFFERED = "A place in a pool is free for you"
GONE = "The pool place offered to you has gone"


def words(message) -> str:
    return " ".join(message.get_payload(decode=True).decode().split())


def status(db_session, pool, person) -> str:
    return services.member_record(db_session, pool, person.id).status


def running_with_waiting(db_session, gateway, council, moderator, provider, waiting=1, **kw):
    """Four card members (£22.50 each of £90), `waiting` card people on the list; month one
    taken; the first member leaves after it."""
    pool, people = funded_pool(
        db_session, gateway, council, moderator, provider, [GOOD] * 4, max_members=4, **kw
    )
    queue = [join_by_card_when_funded(db_session, gateway, pool) for _ in range(waiting)]
    assert go_ahead(db_session, pool) == PoolStatus.RUNNING.value
    funding.leave_running(db_session, people[0], pool)
    return pool, people, queue


def test_an_offered_place_is_told_a_week_ahead_and_nothing_is_taken_until_it_is_confirmed(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, people, (first,) = running_with_waiting(db_session, gateway, council, moderator, provider)
    told = notice_time(db_session, pool, 2)
    funding.charge_due(db_session, now=told)
    funding.charge_due(db_session, now=told + timedelta(hours=2))  # again: one offer, one email
    db_session.commit()
    place = services.member_record(db_session, pool, first.id)
    assert place.status == MemberStatus.OFFERED.value
    assert place not in pool.current_members and place not in funding.billable_members(pool, 2)
    (email,) = [m for m in mailbox.messages if m["To"] == first.email and m["Subject"] == OFFERED]
    on = schedule.charge_date(db_session, pool, 2)
    expires = told + timedelta(days=OFFER_DAYS)
    said = words(email)
    assert (
        f"If you take it, your share is £22.50 a month (you said you would pay at most £40), "
        f"from month 2, charged on {format_date(on)}." in said
    )
    assert f"Take it by {format_datetime(expires)} or it goes to the next person waiting" in said
    assert "Nothing is held or taken unless you take the place." in said
    assert on >= schedule.counts_from(told)  # at least a week after they were told
    assert len(intents(gateway, pool.id)) == 4  # month one only: nothing held for them

    # They say yes: a member from month two, charged with everyone else on its date.
    services.accept_offer(db_session, first, pool, now=told + timedelta(days=2))
    assert place.status == "member" and place.from_month == 2
    funding.charge_due(db_session, now=charge_time(db_session, pool, 2))
    paid = rows(db_session, pool, 2)
    assert set(paid) == {p.id for p in people[1:]} | {first.id}
    assert paid[first.id].amount_pence == 2250 and paid[first.id].status == "paid"
    assert people[0].id not in paid and len(intents(gateway, pool.id)) == 4 + 4


def test_an_offer_left_to_end_goes_to_the_next_person_and_nobody_offered_pays(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, people, (first, second) = running_with_waiting(
        db_session, gateway, council, moderator, provider, waiting=2
    )
    told = notice_time(db_session, pool, 2)
    funding.charge_due(db_session, now=told)
    assert (status(db_session, pool, first), status(db_session, pool, second)) == (
        "offered",
        "waiting",
    )
    ended = told + timedelta(days=OFFER_DAYS, minutes=1)
    with pytest.raises(DomainError, match=f"This offer ended on {format_date(ended)}"):
        services.accept_offer(db_session, first, pool, now=ended)
    report = funding.charge_due(db_session, now=ended)
    assert report.offers_ended == 1
    assert funding.charge_due(db_session, now=ended + timedelta(hours=1)).offers_ended == 0
    db_session.commit()
    assert (status(db_session, pool, first), status(db_session, pool, second)) == (
        "left",
        "offered",
    )
    gone = words(mailbox.last_to(first.email, GONE))
    assert "it has gone to the next person waiting" in gone and "join again" in gone
    assert mailbox.last_to(second.email, OFFERED)
    # Month two is charged without either of them: the second was told too late for it.
    funding.charge_due(db_session, now=charge_time(db_session, pool, 2))
    paid = rows(db_session, pool, 2)
    assert set(paid) == {p.id for p in people[1:]}
    assert len(intents(gateway, pool.id)) == 4 + 3
    assert (
        offers.describe(
            db_session, pool, services.member_record(db_session, pool, second.id), ended
        ).month
        == 3
    )  # their first month would be three, told more than a week ahead


def test_a_share_above_the_maximum_waits_for_a_raised_maximum(
    db_session, gateway, council, moderator, provider
):
    pool, people = funded_pool(
        db_session, gateway, council, moderator, provider, [GOOD] * 4, max_members=4
    )
    status_was = pool.status
    pool.status = PoolStatus.OPEN.value
    careful = join_by_card(db_session, gateway, pool, GOOD, max_pence=2000)
    pool.status = status_was
    go_ahead(db_session, pool)
    funding.leave_running(db_session, people[0], pool)
    told = notice_time(db_session, pool, 2)
    funding.charge_due(db_session, now=told)
    with pytest.raises(DomainError, match=r"£22.50 a month, more than the most you agreed to pay"):
        services.accept_offer(db_session, careful, pool, now=told)
    assert status(db_session, pool, careful) == "offered"
    maximum.raise_maximum(db_session, careful, pool, 2500, now=told)
    services.accept_offer(db_session, careful, pool, now=told)
    assert status(db_session, pool, careful) == "member"


def test_in_a_gathering_pool_a_place_is_never_offered_twice_and_a_no_passes_it_on(
    app, db_session, council, moderator, mailbox
):
    pool = approved_pool(db_session, council, moderator, max_members=3)
    people = join_by_invoice(db_session, pool, 5)  # 3 members, 2 waiting
    with app.app_context():
        offered = services.leave(db_session, people[0], pool)
        assert offered.user_id == people[3].id and offered.status == "offered"
        # The place is held: someone new joins the waiting list, not the pool.
        late = UserFactory()
        assert services.join(db_session, late, pool, invoice_pledge()).status == "waiting"
        assert offers.places_held(pool) == pool.max_members
        assert len(pool.current_members) == 2  # not counted towards the minimum or the vote
        services.decline_offer(db_session, people[3], pool)
        assert status(db_session, pool, people[3]) == "left"
        assert status(db_session, pool, people[4]) == "offered"  # next in line, not `late`
        assert offers.places_held(pool) == pool.max_members
        db_session.commit()
    said = words(mailbox.last_to(people[4].email, OFFERED))
    assert "No quote has been chosen yet" in said and "never more than £40 a month" in said


@pytest.mark.parametrize("ending", ["lapse", "cancel"])
def test_an_offer_ends_with_the_pool_and_the_person_is_told(
    app, db_session, council, moderator, mailbox, ending
):
    from marketplace.pools import cancel

    pool = approved_pool(db_session, council, moderator, max_members=3)
    people = join_by_invoice(db_session, pool, 4)  # 3 members, 1 waiting
    with app.app_context():
        services.leave(db_session, people[0], pool)
        assert status(db_session, pool, people[3]) == "offered"
        if ending == "lapse":
            funding.lapse(db_session, pool, "It did not go ahead")
            subject = "Your pool will not go ahead"
        else:
            cancel.cancel(db_session, moderator, pool, "The venue closed")
            subject = "A pool you are in has been cancelled"
        assert status(db_session, pool, people[3]) == "left"
        assert offers.places_held(pool) == 2  # nobody holds a place in an ended pool by offer
        with pytest.raises(DomainError):
            services.accept_offer(db_session, people[3], pool)
        db_session.commit()
    assert mailbox.last_to(people[3].email, subject)


# --- the routes, for every role ----------------------------------------------------------------


@pytest.fixture
def offer_setup(app, db_session, council, moderator):
    """A gathering pool with one place offered to `holder`, whose carer has the pools grant."""
    with app.app_context():
        pool = approved_pool(db_session, council, moderator, max_members=3)
        people = join_by_invoice(db_session, pool, 4)  # 3 members, 1 waiting
        holder = people[3]
        carer, stranger_carer = UserFactory(), UserFactory()
        _, token = carers.invite_carer(db_session, holder, carer.email, [CarerScope.POOLS], 3600)
        carers.accept_invitation(db_session, carer, token)
        services.leave(db_session, people[0], pool)
        db_session.commit()
    assert status(db_session, pool, holder) == "offered"
    return pool, people, holder, carer, stranger_carer


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_only_the_person_offered_or_their_carer_can_answer(
    app, db_session, offer_setup, council, action
):
    pool, people, holder, carer, stranger_carer = offer_setup
    page = f"/pools/{pool.id}"
    path = f"/pools/{pool.id}/offer/{action}"
    admin = UserFactory(roles=["admin"])
    staff = ulo_moderator(council)
    db_session.commit()
    for who in (people[1], stranger_carer, staff, admin):  # another holder, a carer, ULO, admin
        assert post(signed_in(app, who), path, token_from=page).status_code == 404
    # A carer without the grant cannot act for the holder through the `for` argument.
    wrong = post(signed_in(app, stranger_carer), f"{path}?for={holder.id}", token_from=page)
    assert wrong.status_code == 404
    anonymous = post(app.test_client(), path, token_from="/sign-in")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]
    assert signed_in(app, holder).post(path).status_code == 400  # no CSRF token
    assert status(db_session, pool, holder) == "offered"
    # The carer acting for them with their consent may answer, and it is recorded.
    response = post(signed_in(app, carer), f"{path}?for={holder.id}", token_from=page)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    db_session.expire_all()
    assert status(db_session, pool, holder) == ("member" if action == "accept" else "left")
    (done,) = carers.actions_for_holder(db_session, holder)
    assert pool.title in done.description


def test_the_pool_page_and_commitments_show_the_offer_and_its_buttons_work(
    app, db_session, offer_setup
):
    pool, people, holder, carer, _ = offer_setup
    client = signed_in(app, holder)
    place = services.member_record(db_session, pool, holder.id)
    sentence = offers.words(offers.describe(db_session, pool, place, offers.told_at(place)))
    page = " ".join(client.get(f"/pools/{pool.id}").get_data(as_text=True).split())
    assert sentence in page and "Take the place" in page and "No thanks" in page
    mine = " ".join(client.get("/commitments").get_data(as_text=True).split())
    assert sentence in mine and "A place has been offered to you from the waiting list." in mine
    assert f"/pools/{pool.id}/offer/accept" in mine
    # Another member sees no offer.
    other = " ".join(
        signed_in(app, people[1]).get(f"/pools/{pool.id}").get_data(as_text=True).split()
    )
    assert "Take the place" not in other
    # What the page says is what the button does: nothing is held, and the place is theirs.
    response = post(client, f"/pools/{pool.id}/offer/accept", token_from=f"/pools/{pool.id}")
    assert response.status_code == 302
    db_session.expire_all()
    assert status(db_session, pool, holder) == "member"
    assert funding.payments_for(db_session, pool, 1) == []
    # Answering twice is refused plainly (no offer any more: not found).
    again = post(client, f"/pools/{pool.id}/offer/decline", token_from=f"/pools/{pool.id}")
    assert again.status_code == 404
