"""Logging and confirming time: bad input names the field and saves nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships import ledger, reciprocity
from marketplace.memberships.models import LogStatus, TimeLog
from marketplace.memberships.reciprocity import TimeGiven
from tests.factories import UserFactory
from tests.memberships.conftest import NOW, matched, member


def logs(db_session):
    return db_session.scalar(select(func.count()).select_from(TimeLog))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"minutes": -30}, "minutes"),
        ({"minutes": 0}, "minutes"),
        ({"minutes": 24 * 60 + 1}, "minutes"),
        ({"given_on": NOW.date() + timedelta(days=1)}, "given_on"),
        ({"given_on": date(2026, 9, 30)}, "given_on"),  # September is closed in November
        ({"kind": "juggling"}, "kind"),
        ({"recipient_id": "self"}, "recipient"),
    ],
)
def test_bad_time_names_the_field_and_saves_nothing(db_session, org, giver, change, field):
    person, _ = giver
    values = {"kind": "buddy", "given_on": NOW.date(), "minutes": 60, "recipient_id": None}
    values.update(change)
    if values["recipient_id"] == "self":
        values["recipient_id"] = person.id
    with pytest.raises(DomainError) as error:
        reciprocity.log_time(db_session, person, org, TimeGiven(**values), now=NOW)
    assert error.value.field == field
    assert logs(db_session) == 0


def test_last_month_is_still_open(db_session, org, giver):
    person, _ = giver
    entry = reciprocity.log_time(
        db_session, person, org, TimeGiven("events", date(2026, 10, 1), 24 * 60), now=NOW
    )
    assert entry.status == LogStatus.LOGGED and entry.for_ulo


def test_a_member_of_another_ulo_cannot_log_here(db_session, org, other_ulo, giver):
    person, _ = giver
    with pytest.raises(NotAllowed) as error:
        reciprocity.log_time(
            db_session, person, other_ulo[1], TimeGiven("buddy", NOW.date(), 60), now=NOW
        )
    assert error.value.field == "organisation"
    with pytest.raises(NotAllowed):
        reciprocity.log_time(
            db_session, UserFactory(), org, TimeGiven("buddy", NOW.date(), 60), now=NOW
        )
    assert logs(db_session) == 0


def test_nobody_confirms_their_own_hours_not_even_staff(db_session, staff, org, reciprocity_offer):
    # The member of staff is also a reciprocity member of their own ULO.
    from marketplace.memberships import services

    services.join(db_session, staff, org, "reciprocity", now=NOW)
    entry = reciprocity.log_time(
        db_session, staff, org, TimeGiven("events", NOW.date(), 90), now=NOW
    )
    with pytest.raises(DomainError) as error:
        reciprocity.confirm(db_session, staff, entry, now=NOW)
    assert error.value.field == "log"
    assert entry.status == LogStatus.LOGGED


def test_only_the_person_helped_or_staff_of_this_ulo_confirm(
    db_session, staff, org, other_ulo, giver
):
    person, _ = giver
    helped = UserFactory()
    matched(db_session, org, person, helped)
    entry = reciprocity.log_time(
        db_session, person, org, TimeGiven("buddy", NOW.date(), 90, helped.id), now=NOW
    )
    for stranger in (UserFactory(), other_ulo[0]):
        with pytest.raises(NotAllowed):
            reciprocity.confirm(db_session, stranger, entry, now=NOW)
    assert reciprocity.waiting_for(db_session, helped) == [entry]
    reciprocity.confirm(db_session, helped, entry, now=NOW)
    assert entry.status == LogStatus.CONFIRMED and entry.decided_by_id == helped.id
    with pytest.raises(DomainError):  # confirmed once, posted once
        reciprocity.confirm(db_session, staff, entry, now=NOW)
    assert ledger.check(db_session, org.id).balanced
    assert ledger.check(db_session, org.id).confirmed_minutes == 90


def test_rejected_time_never_counts(db_session, staff, org, giver):
    person, membership = giver
    entry = reciprocity.log_time(
        db_session, person, org, TimeGiven("other", NOW.date(), 300), now=NOW
    )
    reciprocity.reject(db_session, staff, entry, now=NOW)
    assert entry.status == LogStatus.REJECTED
    assert reciprocity.confirmed_minutes(db_session, membership.id, NOW.date()) == 0
    assert ledger.check(db_session).total_minutes == 0


def test_a_kind_the_ulo_does_not_accept_is_refused(db_session, staff, org, reciprocity_offer):
    from marketplace.memberships import services
    from marketplace.memberships.services import OfferData

    services.set_offer(db_session, staff, org, OfferData(None, 240, ("events",)))
    person, _ = member(db_session, org)
    with pytest.raises(DomainError) as error:
        reciprocity.log_time(db_session, person, org, TimeGiven("buddy", NOW.date(), 60), now=NOW)
    assert error.value.field == "kind"


def test_staff_confirming_or_rejecting_hours_is_audited_and_the_person_helped_is_not(
    db_session, staff, org, giver
):
    from marketplace import audit

    person, _ = giver
    helped = UserFactory()
    matched(db_session, org, person, helped)
    by_helped = reciprocity.log_time(
        db_session, person, org, TimeGiven("buddy", NOW.date(), 60, helped.id), now=NOW
    )
    by_staff = reciprocity.log_time(
        db_session, person, org, TimeGiven("other", NOW.date(), 90), now=NOW
    )
    refused = reciprocity.log_time(
        db_session, person, org, TimeGiven("other", NOW.date(), 30), now=NOW
    )
    reciprocity.confirm(db_session, helped, by_helped, now=NOW)
    reciprocity.confirm(db_session, staff, by_staff, now=NOW)
    reciprocity.reject(db_session, staff, refused, now=NOW)
    db_session.flush()
    # The person helped uses no special power: nothing for the audit log.
    assert audit.entries_for(db_session, "time_log", by_helped.id) == []
    ((confirmed,),) = [
        [
            (e.actor_id, e.action, e.detail)
            for e in audit.entries_for(db_session, "time_log", by_staff.id)
        ]
    ]
    assert confirmed == (staff.id, "hours.confirmed", f"90 minutes for organisation {org.id}")
    assert [
        (e.actor_id, e.action) for e in audit.entries_for(db_session, "time_log", refused.id)
    ] == [(staff.id, "hours.rejected")]
