"""Seven days' notice of a rise in the share: told at least a week before it is charged, once,
and leaving before the date it names costs nothing. Through localstripe."""

from __future__ import annotations

from datetime import timedelta

from marketplace.pools import funding, schedule, services
from marketplace.pools.models import ShareNotice
from marketplace.web.template_globals import format_date
from tests.helpers import sign_in
from tests.pools.builders import charge_time, due_time, go_ahead, notice_time
from tests.pools.test_funding import GOOD, funded_pool, intents, rows

RISE = "Your share of a pool is going up"


def words(message) -> str:
    return " ".join(message.get_payload(decode=True).decode().split())


def rises_to(mailbox, person) -> list:
    return [m for m in mailbox.messages if m["To"] == person.email and m["Subject"] == RISE]


def running(db_session, gateway, council, moderator, provider, count=4):
    """`count` card members sharing £90 a month; month one taken."""
    pool, people = funded_pool(
        db_session, gateway, council, moderator, provider, [GOOD] * count, min_members=3
    )
    go_ahead(db_session, pool)
    return pool, people


def test_a_rise_told_a_week_ahead_is_charged_on_the_charge_date_and_told_once(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, people = running(db_session, gateway, council, moderator, provider)
    funding.leave_running(db_session, people[0], pool)  # 4 -> 3: £22.50 -> £30
    told = notice_time(db_session, pool, 2)
    assert told < charge_time(db_session, pool, 2) - timedelta(days=schedule.NOTICE_DAYS)
    report = funding.charge_due(db_session, now=told)
    funding.charge_due(db_session, now=told + timedelta(hours=5))  # run again: nothing new
    db_session.commit()
    assert report.told == 3
    on = schedule.charge_date(db_session, pool, 2)
    assert schedule.due_date(db_session, pool, 2) == on  # told in time: the date stands
    for person in people[1:]:
        (rise,) = rises_to(mailbox, person)
        said = words(rise)
        assert "goes from £22.50 to £30." in said
        assert f"It will be charged on {format_date(on)}, never before." in said
        assert f"You can leave the pool before {format_date(on)} and pay nothing more" in said
        assert f"/pools/{pool.id}/leave" in said
    assert rises_to(mailbox, people[0]) == []
    # Never before the date it said; on it, once.
    funding.charge_due(db_session, now=schedule.start_of(on) - timedelta(minutes=1))
    assert rows(db_session, pool, 2) == {} and len(intents(gateway, pool.id)) == 4
    funding.charge_due(db_session, now=charge_time(db_session, pool, 2))
    funding.charge_due(db_session, now=charge_time(db_session, pool, 2))
    assert {r.amount_pence for r in rows(db_session, pool, 2).values()} == {3000}
    assert len(intents(gateway, pool.id)) == 4 + 3
    db_session.commit()
    assert all(len(rises_to(mailbox, p)) == 1 for p in people[1:])


def test_a_rise_found_three_days_ahead_is_told_then_and_charged_a_week_later(
    app, db_session, gateway, council, moderator, provider, mailbox
):
    pool, people = running(db_session, gateway, council, moderator, provider)
    funding.leave_running(db_session, people[0], pool)
    found = charge_time(db_session, pool, 2) - timedelta(days=3)  # the job was not run before
    funding.charge_due(db_session, now=found)
    db_session.commit()
    due = schedule.due_date(db_session, pool, 2)
    assert due == found.date() + timedelta(days=schedule.NOTICE_DAYS + 1)  # rounded up a day
    assert f"It will be charged on {format_date(due)}, never before." in words(
        mailbox.last_to(people[1].email, RISE)
    )
    # The page says the same date, and that leaving before it costs nothing.
    client = app.test_client()
    sign_in(client, people[1])
    page = " ".join(client.get(f"/pools/{pool.id}").get_data(as_text=True).split())
    assert f"For month 2 you pay £30, on {format_date(due)}." in page
    assert f"Leave before {format_date(due)} and you pay nothing more." in page
    leave_page = " ".join(client.get(f"/pools/{pool.id}/leave").get_data(as_text=True).split())
    assert f"Leave before {format_date(due)} and you pay nothing more." in leave_page
    # Nothing on the charge date, nor the day before the due date; everything on it.
    for early in (charge_time(db_session, pool, 2), schedule.start_of(due) - timedelta(hours=1)):
        funding.charge_due(db_session, now=early)
        assert rows(db_session, pool, 2) == {} and len(intents(gateway, pool.id)) == 4
    # The reminder goes three days before the date the month is really charged, with it.
    db_session.commit()
    reminder = mailbox.last_to(people[2].email, "A pool payment is coming up")
    assert f"your share of £30, will be taken on {format_date(due)}" in words(reminder)
    funding.charge_due(db_session, now=due_time(db_session, pool, 2))
    assert {r.amount_pence for r in rows(db_session, pool, 2).values()} == {3000}
    assert len(intents(gateway, pool.id)) == 4 + 3
    db_session.commit()
    assert len(rises_to(mailbox, people[1])) == 1


def test_leaving_after_a_rise_is_told_and_before_its_date_pays_nothing_for_that_month(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, people = running(db_session, gateway, council, moderator, provider, count=5)
    funding.leave_running(db_session, people[0], pool)  # 5 -> 4: £18 -> £22.50
    funding.charge_due(db_session, now=charge_time(db_session, pool, 2) - timedelta(days=3))
    first_due = schedule.due_date(db_session, pool, 2)
    # Told of the rise, the second member leaves before the date it named.
    leaver = funding.leave_running(db_session, people[1], pool)
    assert leaver.leave_after_month == 1
    funding.charge_due(db_session, now=schedule.start_of(first_due) + timedelta(hours=1))
    db_session.commit()
    assert people[1].id not in rows(db_session, pool, 2)  # nothing for month two
    assert services.member_record(db_session, pool, people[1].id).status == "left"
    # The three who stay are told again (£22.50 -> £30), so month two moves on a week more.
    later = schedule.due_date(db_session, pool, 2)
    assert later > first_due and rows(db_session, pool, 2) == {}
    said = words(mailbox.last_to(people[2].email, RISE))
    assert "goes from £22.50 to £30." in said and format_date(later) in said
    funding.charge_due(db_session, now=due_time(db_session, pool, 2))
    assert {u: r.amount_pence for u, r in rows(db_session, pool, 2).items()} == {
        p.id: 3000 for p in people[2:]
    }
    notices = db_session.query(ShareNotice).filter_by(pool_id=pool.id, month=2).all()
    assert (
        {n.user_id: n.amount_pence for n in notices}
        == {
            people[1].id: 2250,  # told, then left: never charged it
            **{p.id: 3000 for p in people[2:]},
        }
    )


def test_an_unchanged_share_needs_no_notice_and_month_one_is_not_delayed(
    db_session, gateway, council, moderator, provider, mailbox
):
    pool, people = running(db_session, gateway, council, moderator, provider, count=3)
    # Month one was charged on its start date: the vote's shares, told in the going-ahead email.
    assert schedule.due_date(db_session, pool, 1) == schedule.charge_date(db_session, pool, 1)
    # Nobody's share changes for month two: nobody is told anything and it is charged on time.
    assert funding.charge_due(db_session, now=notice_time(db_session, pool, 2)).told == 0
    funding.charge_due(db_session, now=charge_time(db_session, pool, 2))
    assert {r.amount_pence for r in rows(db_session, pool, 2).values()} == {3000}
    db_session.commit()
    assert all(rises_to(mailbox, p) == [] for p in people)
