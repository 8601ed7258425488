"""Statement pages through the test client: every role on every route, the date form's errors
beside its fields, the CSV and printable versions, the holder's details, and the old URLs."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date

import pyotp
import pytest
from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.carers import services as carers
from marketplace.carers.models import CarerAction, CarerScope
from marketplace.db import utcnow
from marketplace.privacy import services as privacy
from marketplace.statements import services
from marketplace.statements.models import StatementDetails
from tests.factories import PASSWORD, OrganisationFactory, StaffFactory, UserFactory
from tests.helpers import post, sign_in
from tests.statements.builders import fee_member, pay_fee

ROUTES = ["/statement", "/statement.csv", "/statement/print"]
# Every day of January 2026, where the fees below were paid.
JANUARY = "start=1&start=1&start=2026&end=31&end=1&end=2026"


def text(response) -> str:
    """The page's words, without its tags."""
    words = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(words).split())


@pytest.fixture
def world(app, client, db_session):
    holder = UserFactory(display_name="Sam Holder", roles=["holder"])
    fee_member(db_session, holder)
    pay_fee(app, client, "in_jan", date(2026, 1, 3), (date(2026, 1, 3), date(2026, 2, 3)))
    other_holder = UserFactory(roles=["holder"])
    carer = UserFactory(roles=["carer"])
    _grant, token = carers.invite_carer(
        db_session, holder, carer.email, [CarerScope.VIEW], ttl_seconds=3600
    )
    carers.accept_invitation(db_session, carer, token)
    # Helps the holder, but only with pools: not allowed to see their account.
    pools_carer = UserFactory(roles=["carer"])
    _grant, token = carers.invite_carer(
        db_session, holder, pools_carer.email, [CarerScope.POOLS], ttl_seconds=3600
    )
    carers.accept_invitation(db_session, pools_carer, token)
    provider_staff = UserFactory(roles=["provider_staff"])
    StaffFactory(organisation=OrganisationFactory(), user=provider_staff)
    admin = UserFactory(
        roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
    )
    db_session.commit()
    return {
        "holder": holder,
        "other holder": other_holder,
        "carer with the grant": carer,
        "carer without the grant": pools_carer,
        "provider staff": provider_staff,
        "admin": admin,
    }


def client_for(app, person):
    client = app.test_client()
    if person is not None:
        sign_in(client, person)
    return client


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("holder", 200),
        ("carer with the grant", 200),
        ("carer without the grant", 404),
        ("other holder", 404),
        ("provider staff", 404),
        ("admin", 404),
        (None, 302),
    ],
)
def test_only_the_holder_and_a_carer_with_the_grant_see_the_holders_statement(
    app, db_session, world, route, who, expected
):
    holder = world["holder"]
    client = client_for(app, world.get(who))
    query = f"?{JANUARY}" if who == "holder" else f"?for_whom={holder.id}&{JANUARY}"
    response = client.get(route + query)
    assert response.status_code == expected
    if expected == 302:
        assert "/sign-in" in response.headers["Location"]
    if expected != 200:
        assert "in_jan" not in response.get_data(as_text=True)
        return
    body = response.get_data(as_text=True)
    assert "in_jan" in body and "Sam Holder" in body
    looks = db_session.scalars(select(CarerAction).where(CarerAction.holder_id == holder.id))
    assert (len(list(looks)) == 1) == (who == "carer with the grant")  # the holder sees it


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("who", ["other holder", "provider staff", "admin"])
def test_everyone_else_sees_only_their_own_empty_statement(app, world, route, who):
    response = client_for(app, world[who]).get(f"{route}?{JANUARY}")
    assert response.status_code == 200
    assert "in_jan" not in response.get_data(as_text=True)


def test_the_page_lists_the_line_and_offers_the_councils_periods(app, world):
    response = client_for(app, world["holder"]).get(f"/statement?{JANUARY}")
    page = text(response)
    assert "Your statement" in page
    assert "Dates 1 January 2026 to 31 January 2026" in page
    assert "3 January 2026 to 2 February 2026" in page  # the service period
    assert "Membership fee: Leeds Disabled People's Organisation" in page
    assert "1 Park Row Leeds LS1 5AB" in page
    assert services.fee_held("Leeds Disabled People's Organisation") in page
    assert "Total paid £7" in page and "Net total £7" in page
    for choice in services.quick_choices():
        assert f"{choice.label} ({choice.range.words})" in page
    # The download and printable links keep the dates chosen.
    links = html.unescape(response.get_data(as_text=True))
    csv_link = re.search(r'href="(/statement\.csv\?[^"]+)"', links).group(1)
    print_link = re.search(r'href="(/statement/print\?[^"]+)"', links).group(1)
    client = client_for(app, world["holder"])
    assert "2026-01-01-to-2026-01-31" in client.get(csv_link).headers["Content-Disposition"]
    assert "1 January 2026 to 31 January 2026" in text(client.get(print_link))


def test_a_quick_choice_link_shows_that_period(app, world):
    client = client_for(app, world["holder"])
    weeks = services.quick_choices()[0].range
    page = text(client.get("/statement"))
    start = weeks.start
    link = f"start={start.day}&amp;start={start.month}&amp;start={start.year}"
    assert link in client.get("/statement").get_data(as_text=True)
    page = text(
        client.get(
            f"/statement?start={start.day}&start={start.month}&start={start.year}"
            f"&end={weeks.end.day}&end={weeks.end.month}&end={weeks.end.year}"
        )
    )
    assert f"Dates {weeks.words}" in page and "No payments or refunds on these dates" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=31&start=2&start=2026", "Enter a real date, like 27 3 2026"),
        ("start=1&start=&start=2026", "Enter the start date as a day, month and year"),
        ("start=2&start=1&start=2026&end=1&end=1&end=2026", "must be the same as or after"),
        ("start=1&start=1&start=2999", "The start date must be today or in the past"),
    ],
)
def test_a_wrong_range_says_why_beside_the_field(app, world, query, message):
    client = client_for(app, world["holder"])
    response = client.get(f"/statement?{query}")
    assert response.status_code == 200
    page = text(response)
    assert page.count(message) == 2  # in the summary and beside the field
    assert "Error: Your statement" in page and "in_jan" not in page
    # The CSV and printable versions go back to the form to say so, never a wrong statement.
    for route in ("/statement.csv", "/statement/print"):
        back = client.get(f"{route}?{query}")
        assert back.status_code == 302 and back.headers["Location"].startswith("/statement?")


def test_the_csv_is_a_download_with_the_holders_details(app, db_session, world):
    holder = world["holder"]
    services.save_details(db_session, holder, "Samantha Holder", None, "DP-778")
    db_session.commit()
    response = client_for(app, world["holder"]).get(f"/statement.csv?{JANUARY}")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="statement-2026-01-01-to-2026-01-31.csv"'
    )
    found = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert found[0] == ["Statement for", "Samantha Holder"]
    assert found[2] == ["Direct-payment reference", "DP-778"]
    assert services.CSV_COLUMNS in found


def test_the_printable_version_is_plain_with_print_css_and_no_script(app, world):
    response = client_for(app, world["holder"]).get(f"/statement/print?{JANUARY}")
    body = response.get_data(as_text=True)
    assert "/static/css/statement-print." in body and "<script" not in body  # hashed name
    assert "govuk-service-navigation" not in body  # no menu on paper
    assert "Statement from Budget Marketplace" in body and "in_jan" in body
    assert 'href="/statement?' in body  # back to the page with the same dates


def test_the_holder_sets_their_details_and_a_carer_cannot(app, db_session, world, council):
    holder = world["holder"]
    client = client_for(app, holder)
    too_long = post(client, "/statement/details", {"name": "x" * 121, "reference": ""})
    assert "The name must be 120 characters or fewer" in text(too_long)
    done = post(
        client,
        "/statement/details",
        {"name": "Samantha Holder", "council_id": str(council.id), "reference": "DP-1"},
    )
    assert done.status_code == 302
    page = text(client.get(f"/statement?{JANUARY}"))
    assert "Name Samantha Holder" in page and f"Council {council.name}" in page
    assert "Direct-payment reference DP-1" in page
    # The carer's own details page is their own: it never shows or changes the holder's.
    carer = client_for(app, world["carer with the grant"])
    assert "Samantha Holder" not in text(carer.get("/statement/details"))
    post(carer, "/statement/details", {"name": "Carer", "reference": ""})
    details = db_session.scalars(
        select(StatementDetails).where(StatementDetails.user_id == holder.id)
    ).one()
    assert details.name_for_statements == "Samantha Holder"
    assert client_for(app, None).get("/statement/details").status_code == 302


def test_the_details_are_in_the_export_and_go_with_the_account(db_session, world, council):
    holder = db_session.get(User, world["holder"].id)
    services.save_details(db_session, holder, "Samantha Holder", council.id, "DP-1")
    exported = privacy.export_user_data(db_session, holder)["statements"]
    assert exported == {
        "name_for_statements": "Samantha Holder",
        "council": council.name,
        "direct_payment_reference": "DP-1",
    }
    privacy.erase_account(db_session, holder, PASSWORD)
    assert services.details_of(db_session, holder) is None
    # The payments themselves are financial records and stay, under the anonymised account.
    statement = services.statement_for(
        db_session, holder, services.DateRange(None, date(2100, 1, 1))
    )
    assert statement.holder_name == "Former member" and len(statement.lines) == 1


@pytest.mark.parametrize(
    ("old", "new"), [("/pools/statement", "/statement"), ("/pools/statement.csv", "/statement.csv")]
)
def test_the_old_statement_addresses_move_to_the_new_one(app, world, old, new):
    response = client_for(app, world["holder"]).get(old)
    assert response.status_code == 301 and response.headers["Location"] == new


@pytest.mark.parametrize("route", ["/statement", "/statement/print"])
def test_the_statement_names_who_made_it_and_who_holds_the_money(app, world, route):
    page = text(client_for(app, world["holder"]).get(f"{route}?{JANUARY}"))
    assert ", by Budget Marketplace" in page
    assert "Budget Marketplace takes each payment, holds it and pays it on" in page
