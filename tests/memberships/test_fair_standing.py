"""Giving time back, fair and kind (issue 21, item 9): the hours a month asks are pro rata by
the days someone was a member and not paused (one rule: reciprocity.owed), a month still going
is never "short", and the pages say so in those words."""

from __future__ import annotations

from datetime import UTC, date, datetime

from marketplace.memberships import reciprocity, services
from marketplace.memberships.models import Standing
from marketplace.memberships.reciprocity import TimeGiven
from tests.memberships.conftest import member

DEC_1 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def at(day: int) -> datetime:
    return DEC_1.replace(day=day)


def test_pausing_and_resuming_on_the_same_day_does_not_wipe_the_month(db_session, org, giver):
    """Issue 21: pause and resume on the same day, and the month owed nothing."""
    person, membership = member(db_session, org, now=DEC_1)
    services.pause(db_session, person, membership, now=at(10))
    services.resume(db_session, person, membership, now=at(10))
    found = reciprocity.standing(db_session, membership, date(2026, 12, 1), today=date(2027, 1, 2))
    assert found.commitment_minutes == 240 * 30 // 31  # one day of 31 paused
    assert found.standing == Standing.SHORT  # the month is over and nothing was given
    # Paused all month (from the 1st, never resumed): nothing is asked.
    other, paused = member(db_session, org, now=DEC_1)
    services.pause(db_session, other, paused, now=DEC_1)
    none = reciprocity.standing(db_session, paused, date(2026, 12, 1), today=date(2027, 1, 2))
    assert (none.standing, none.commitment_minutes) == (Standing.PAUSED, 0)


def test_a_pause_asks_for_the_other_days_pro_rata(db_session, org, giver):
    person, membership = member(db_session, org, now=DEC_1)
    services.pause(db_session, person, membership, until=date(2026, 12, 16), now=at(1))
    asked = reciprocity.owed(db_session, membership, date(2026, 12, 1))
    assert asked == reciprocity.Owed(240 * 15 // 31, True)  # the 17th to the 31st


def test_on_the_3rd_nobody_is_short_yet(db_session, org, giver):
    """Issue 21: on the 3rd of the month every member already saw "Short of the hours"."""
    _, membership = member(db_session, org, now=DEC_1)
    found = reciprocity.standing(db_session, membership, date(2026, 12, 1), today=date(2026, 12, 3))
    assert (found.standing, found.days_left, found.commitment_minutes) == (Standing.SO_FAR, 29, 240)
    assert found.standing != Standing.SHORT
    # Once the month is over, a shortfall is a shortfall (and staff can forgive it).
    after = reciprocity.standing(db_session, membership, date(2026, 12, 1), today=date(2027, 1, 1))
    assert after.standing == Standing.SHORT


def test_joining_asks_only_for_the_days_from_joining(db_session, org, giver):
    """Issue 21: "Short of the hours: 0 of 2" on the day someone joined."""
    _, membership = member(db_session, org, now=at(20))
    found = reciprocity.standing(
        db_session, membership, date(2026, 12, 1), today=date(2026, 12, 20)
    )
    assert found.commitment_minutes == 240 * 12 // 31  # the 20th to the 31st
    assert (found.standing, found.days_left) == (Standing.SO_FAR, 12)


def test_hours_given_meet_the_pro_rata_month(db_session, staff, org, giver):
    person, membership = member(db_session, org, now=at(20))
    entry = reciprocity.log_time(
        db_session, person, org, TimeGiven("events", date(2026, 12, 21), 93), now=at(21)
    )
    reciprocity.confirm(db_session, staff, entry, now=at(21))
    found = reciprocity.standing(db_session, membership, date(2026, 12, 1), today=date(2027, 1, 5))
    assert (found.standing, found.confirmed_minutes) == (Standing.GOOD, 93)
