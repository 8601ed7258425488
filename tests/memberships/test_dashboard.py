"""The ULO's view: its own members only, standing, hours, CSV; and the privacy hooks."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from marketplace.errors import NotAllowed
from marketplace.memberships import dashboard, ledger, reciprocity, services
from marketplace.memberships.help_requests import HelpRequestData, post_request
from marketplace.memberships.models import TimeAccount, TimeLog
from marketplace.memberships.reciprocity import TimeGiven
from marketplace.memberships.services import OfferData
from marketplace.privacy import services as privacy
from tests.factories import PASSWORD, UserFactory
from tests.memberships.conftest import KINDS, NOW, matched, member


@pytest.fixture
def two_ulos(db_session, staff, org, reciprocity_offer, other_ulo):
    other_staff, other_org = other_ulo
    services.set_offer(db_session, other_staff, other_org, OfferData(None, 60, KINDS))
    # A joined on the 1st, so all of November's hours are asked of them.
    a, a_membership = member(db_session, org, now=NOW.replace(day=1))
    b, _ = member(db_session, other_org)
    return a, a_membership, b


def test_staff_of_ulo_a_see_nothing_of_ulo_b(db_session, staff, org, other_ulo, two_ulos):
    other_staff, other_org = other_ulo
    a, _, b = two_ulos
    assert [r.user_id for r in dashboard.members(db_session, staff, org, NOW.date())] == [a.id]
    for fn in (
        dashboard.members,
        dashboard.members_by_basis_and_standing,
        dashboard.hours_given_per_month,
        dashboard.fee_income_per_month,
        dashboard.confirmations_waiting,
        dashboard.open_help_requests,
        dashboard.members_csv,
    ):
        with pytest.raises(NotAllowed):
            fn(db_session, staff, other_org)
        with pytest.raises(NotAllowed):
            fn(db_session, UserFactory(), org)
    assert b.display_name not in dashboard.members_csv(db_session, staff, org, NOW.date())


def test_the_dashboard_data(db_session, staff, org, two_ulos):
    a, membership, _ = two_ulos
    first = reciprocity.log_time(db_session, a, org, TimeGiven("events", NOW.date(), 150), now=NOW)
    reciprocity.confirm(db_session, staff, first, now=NOW)
    waiting = reciprocity.log_time(
        db_session, a, org, TimeGiven("events", date(2026, 10, 20), 30), now=NOW
    )
    paused, _ = member(db_session, org)
    services.pause(db_session, paused, services.memberships_of(db_session, paused)[0], now=NOW)
    request = post_request(
        db_session,
        UserFactory(),
        org,
        HelpRequestData("DP paperwork", NOW.date(), "other"),
        now=NOW,
    )

    counts = dashboard.members_by_basis_and_standing(db_session, staff, org, NOW.date())
    assert counts == {"reciprocity": {"short": 1, "paused": 1}}
    hours = dashboard.hours_given_per_month(db_session, staff, org, months=2, today=NOW.date())
    assert hours == [(date(2026, 10, 1), 0), (date(2026, 11, 1), 150)]
    assert dashboard.confirmations_waiting(db_session, staff, org) == [waiting]
    assert dashboard.open_help_requests(db_session, staff, org) == [request]

    rows = list(csv.reader(io.StringIO(dashboard.members_csv(db_session, staff, org, NOW.date()))))
    assert rows[0][:3] == ["membership_id", "name", "basis"]
    mine = next(r for r in rows if r[0] == str(membership.id))
    assert mine[4:7] == ["short", "2:30", "4:00"]


def test_a_formula_in_a_name_is_defused_in_the_csv(db_session, staff, org, reciprocity_offer):
    person = UserFactory(display_name="=HYPERLINK(1)")
    services.join(db_session, person, org, "reciprocity", now=NOW)
    text = dashboard.members_csv(db_session, staff, org, NOW.date())
    assert "'=HYPERLINK(1)" in text


def test_export_and_erasure_keep_the_totals(db_session, staff, org, giver):
    person, membership = giver
    helped = UserFactory()
    matched(db_session, org, person, helped)
    entry = reciprocity.log_time(
        db_session,
        person,
        org,
        TimeGiven("buddy", NOW.date(), 120, helped.id, "Went to the GP"),
        now=NOW,
    )
    reciprocity.confirm(db_session, helped, entry, now=NOW)
    reciprocity.log_time(db_session, person, org, TimeGiven("buddy", NOW.date(), 60), now=NOW)
    exported = privacy.export_user_data(db_session, person)["memberships"]
    assert exported["memberships"][0]["basis"] == "reciprocity"
    assert {t["minutes"] for t in exported["time"]} == {120, 60}

    privacy.erase_account(db_session, person, PASSWORD)
    db_session.expire_all()
    assert membership.status == "ended"
    remaining = db_session.query(TimeLog).all()
    assert [(t.minutes, t.giver_id, t.membership_id, t.description) for t in remaining] == [
        (120, None, None, "")
    ]
    assert db_session.query(TimeAccount).filter_by(user_id=person.id).count() == 0
    result = ledger.check(db_session, org.id)
    assert result.balanced and result.confirmed_minutes == 120
