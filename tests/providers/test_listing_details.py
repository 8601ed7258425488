"""The details council directories carry: address, opening times, who it is for, how to get in,
registrations and when the provider last checked the listing; the form, the pages, the
"still right" button and the yearly reminder."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.providers import checks
from marketplace.providers.models import Listing, ListingStatus
from marketplace.providers.services import (
    ListingData,
    OpeningTime,
    create_listing,
    data_from_listing,
    update_listing,
)
from tests.factories import CouncilFactory
from tests.helpers import csrf_token, post, sign_in
from tests.listing_helpers import listing_data, provider_with_staff

LEEDS = "E08000035"

FULL = {
    "address_line_1": "Civic Hall",
    "address_line_2": "Calverley Street",
    "town": "Leeds",
    "postcode": "LS1 1UR",
    "opening_times": (
        OpeningTime(0, "09:30", "17:00"),
        OpeningTime(2, "18:00", "20:00", "women only"),
    ),
    "minimum_age": 18,
    "maximum_age": 65,
    "eligibility": "People living in Leeds.",
    "access": "both",
    "waiting_time": "About 2 weeks",
    "cqc_number": "1-123456789",
    "charity_number": "1123456",
    "company_number": "1234567",
    "dbs_checked": True,
    "delivery_modes": ("in_person", "at_home"),
}


@pytest.fixture
def leeds(db_session):
    return CouncilFactory(code=LEEDS, name="Leeds")


@pytest.fixture
def provider(db_session, leeds):
    org, staff, _ = provider_with_staff(leeds, name="Leeds Peer Support CIC")
    db_session.commit()
    return org, staff


def full_data(db_session, council, **overrides) -> ListingData:
    return listing_data(db_session, council, **(FULL | overrides))


def published(db_session, provider, council, **overrides) -> Listing:
    org, staff = provider
    listing = create_listing(db_session, staff, org, full_data(db_session, council, **overrides))
    listing.status = ListingStatus.PUBLISHED.value
    db_session.commit()
    return listing


# --- Rules ----------------------------------------------------------------------------------


def test_every_detail_is_kept_and_comes_back_for_editing(db_session, provider, leeds):
    listing = published(db_session, provider, leeds)
    assert listing.address_lines == ["Civic Hall", "Calverley Street", "Leeds", "LS1 1UR"]
    assert [(o.weekday, o.opens, o.closes, o.note) for o in listing.opening_times] == [
        (0, time(9, 30), time(17, 0), ""),
        (2, time(18, 0), time(20, 0), "women only"),
    ]
    assert listing.company_number == "01234567"  # Companies House numbers have 8 characters
    assert listing.last_checked_at == utcnow().date()
    data = data_from_listing(listing)
    assert data.opening_times == FULL["opening_times"]
    assert (data.minimum_age, data.maximum_age, data.access) == (18, 65, "both")
    # A pending edit keeps them too (it is stored as JSON until a moderator approves it).
    assert ListingData.from_json(data.to_json()) == data


def test_dbs_is_only_kept_for_services_that_visit_homes(db_session, provider, leeds):
    listing = published(db_session, provider, leeds, delivery_modes=("in_person",))
    assert listing.dbs_checked is None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"town": ""}, "town", "Enter the town or city of the address"),
        ({"address_line_1": ""}, "address_line_1", "Enter the first line of the address"),
        ({"postcode": None}, "postcode", "Enter the postcode of the address"),
        ({"minimum_age": 130}, "minimum_age", "Enter an age from 0 to 120"),
        ({"minimum_age": 30, "maximum_age": 20}, "maximum_age", "oldest age must be the same"),
        ({"access": "walk_in"}, "access", "Choose how people get into the service"),
        ({"cqc_number": "12345"}, "cqc_number", "1- and then digits"),
        ({"cqc_number": "1-12a"}, "cqc_number", "1- and then digits"),
        ({"charity_number": "12"}, "charity_number", "Enter a charity number"),
        ({"company_number": "ABC"}, "company_number", "Enter a company number"),
        (
            {"opening_times": (OpeningTime(0, "17:00", "09:00"),)},
            "opening_times",
            "closing time on Monday must be after the opening time",
        ),
        (
            {"opening_times": (OpeningTime(1, "9am", "17:00"),)},
            "opening_times",
            "Enter the time it opens on Tuesday. Use the 24-hour clock",
        ),
        (
            {"opening_times": (OpeningTime(4, "09:00", "12:00"), OpeningTime(4, "13:00", "15:00"))},
            "opening_times",
            "Give Friday once",
        ),
        ({"waiting_time": "x" * 201}, "waiting_time", "200 characters"),
    ],
)
def test_bad_details_are_refused_naming_the_field(
    db_session, provider, leeds, overrides, field, message
):
    org, staff = provider
    with pytest.raises(DomainError) as error:
        create_listing(db_session, staff, org, full_data(db_session, leeds, **overrides))
    assert error.value.field == field
    assert message in error.value.message


def test_registration_numbers_in_the_forms_people_write_them(db_session, provider, leeds):
    listing = published(
        db_session,
        provider,
        leeds,
        cqc_number=" 1-1234 56789 ",
        charity_number="sc012345",
        company_number="sc123456",
    )
    assert (listing.cqc_number, listing.charity_number, listing.company_number) == (
        "1-123456789",
        "SC012345",
        "SC123456",
    )


# --- Last checked, and the yearly reminder --------------------------------------------------


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert checks.add_months(date(2026, 3, 3), 11) == date(2027, 2, 3)
    assert checks.add_months(date(2026, 3, 31), 11) == date(2027, 2, 28)
    assert checks.add_months(date(2027, 2, 28), -11) == date(2026, 3, 28)


def test_confirming_sets_today_and_only_staff_may(db_session, provider, leeds):
    from tests.factories import UserFactory

    listing = published(db_session, provider, leeds)
    listing.last_checked_at = date(2025, 1, 2)
    listing.check_reminded_at = utcnow()
    org, staff = provider
    checks.confirm_checked(db_session, staff, listing, today=date(2026, 3, 3))
    assert listing.last_checked_at == date(2026, 3, 3)
    assert listing.check_reminded_at is None
    with pytest.raises(NotAllowed):
        checks.confirm_checked(db_session, UserFactory(), listing)


def test_out_of_date_after_a_year(db_session, provider, leeds):
    listing = published(db_session, provider, leeds)
    listing.last_checked_at = date(2025, 3, 3)
    assert not checks.is_out_of_date(listing, date(2026, 3, 3))
    assert checks.is_out_of_date(listing, date(2026, 3, 4))


def test_reminder_job_emails_staff_once_at_eleven_months(db_session, provider, leeds, monkeypatch):
    sent: list = []
    monkeypatch.setattr(
        checks, "send_email", lambda to, subject, body, **kw: sent.append((to, subject, body))
    )
    org, staff = provider
    listing = published(db_session, provider, leeds)
    draft = published(db_session, provider, leeds, name="A draft")
    draft.status = ListingStatus.DRAFT.value
    for each in (listing, draft):
        each.last_checked_at = date(2026, 3, 3)
    db_session.commit()

    day_before = datetime(2027, 2, 2, 9, 0, tzinfo=UTC)
    assert checks.send_check_reminders(db_session, day_before) == 0
    on_the_day = day_before + timedelta(days=1)
    assert checks.send_check_reminders(db_session, on_the_day) == 1
    db_session.commit()
    assert checks.send_check_reminders(db_session, on_the_day + timedelta(hours=1)) == 0
    assert checks.send_check_reminders(db_session, on_the_day + timedelta(days=40)) == 0
    [(to, subject, body)] = sent
    assert to == staff.email
    assert subject == "Please check your listing is still right"
    assert "3 March 2026" in body and f"/provider/listings/{listing.id}" in body
    assert listing.name not in subject

    # Confirming starts a new year: one more reminder, eleven months later.
    checks.confirm_checked(db_session, staff, listing, today=date(2027, 2, 10))
    db_session.commit()
    assert checks.send_check_reminders(db_session, on_the_day + timedelta(days=40)) == 0
    assert checks.send_check_reminders(db_session, datetime(2028, 1, 10, tzinfo=UTC)) == 1


def test_the_job_runs_through_the_worker(app, db_session, provider, leeds):
    from marketplace.jobs.services import enqueue, run_next

    listing = published(db_session, provider, leeds)
    listing.last_checked_at = utcnow().date() - timedelta(days=400)
    db_session.commit()
    enqueue(db_session, "providers.check_reminders")
    db_session.commit()
    outcome = run_next(db_session, "w")
    assert outcome is not None and outcome.outcome == "done"
    db_session.refresh(listing)
    assert listing.check_reminded_at is not None


# --- Pages ----------------------------------------------------------------------------------


def test_service_page_shows_every_detail(app, db_session, provider, leeds):
    listing = published(db_session, provider, leeds)
    listing.last_checked_at = date(2026, 3, 3)
    db_session.commit()
    html = app.test_client().get(f"/services/{listing.id}").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    for shown in (
        "Civic Hall Calverley Street Leeds LS1 1UR",
        "Monday: 9:30am to 5pm",
        "Wednesday: 6pm to 8pm (women only)",
        "Ages 18 to 65",
        "Who it is for People living in Leeds.",
        "Contact the provider yourself, or be referred",
        "Usual wait: About 2 weeks",
        "Care Quality Commission (CQC): 1-123456789",
        "Registered charity number: 1123456",
        "Company number: 01234567",
        "Staff who visit homes have a DBS check",
        "Last checked by the provider on 3 March 2026.",
    ):
        assert shown in text, shown


def test_service_page_says_plainly_when_it_may_be_out_of_date(app, db_session, provider, leeds):
    fresh = published(db_session, provider, leeds)
    old = published(db_session, provider, leeds, name="Old")
    old.last_checked_at = utcnow().date() - timedelta(days=367)
    db_session.commit()
    # What the sentence stands for: the rule is_out_of_date, which the page asks.
    assert checks.is_out_of_date(old) and not checks.is_out_of_date(fresh)
    client = app.test_client()
    assert 'id="listing-out-of-date"' not in client.get(f"/services/{fresh.id}").get_data(
        as_text=True
    )
    html = client.get(f"/services/{old.id}").get_data(as_text=True)
    assert 'id="listing-out-of-date"' in html
    assert "has not checked this listing for more than a year" in html


def test_provider_page_says_when_we_will_remind_and_we_do(
    app, client, db_session, provider, leeds, monkeypatch
):
    sent: list = []
    monkeypatch.setattr(checks, "send_email", lambda to, subject, body, **kw: sent.append(to))
    org, staff = provider
    listing = published(db_session, provider, leeds)
    listing.last_checked_at = date(2026, 3, 31)
    db_session.commit()
    sign_in(client, staff)
    html = client.get(f"/provider/listings/{listing.id}").get_data(as_text=True)
    said = re.search(r"We will email you a reminder to check it on (\d+ \w+ \d{4})\.", html)
    assert said is not None
    promised = datetime.strptime(said.group(1), "%d %B %Y").replace(tzinfo=UTC)
    assert said.group(1) == "28 February 2027"
    assert checks.send_check_reminders(db_session, promised - timedelta(days=1)) == 0
    assert checks.send_check_reminders(db_session, promised) == 1
    assert sent == [staff.email]
    db_session.commit()
    html = client.get(f"/provider/listings/{listing.id}").get_data(as_text=True)
    assert "We will email you a reminder" not in html  # already sent


def test_the_still_right_button(app, client, db_session, provider, leeds):
    org, staff = provider
    listing = published(db_session, provider, leeds)
    listing.last_checked_at = date(2025, 1, 2)
    db_session.commit()
    sign_in(client, staff)
    page = client.get(f"/provider/listings/{listing.id}").get_data(as_text=True)
    assert "Last checked on 2 January 2025. That is more than a year ago" in page
    assert f'action="/provider/listings/{listing.id}/confirm-checked"' in page
    response = post(
        client,
        f"/provider/listings/{listing.id}/confirm-checked",
        token_from=f"/provider/listings/{listing.id}",
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Listing, listing.id).last_checked_at == utcnow().date()
    page = client.get(f"/provider/listings/{listing.id}", follow_redirects=True).get_data(
        as_text=True
    )
    assert f"Last checked on {utcnow().date().day} " in page


def test_the_button_needs_csrf_and_staff(app, db_session, provider, leeds):
    from tests.factories import UserFactory

    listing = published(db_session, provider, leeds)
    listing.last_checked_at = date(2025, 1, 2)
    outsider = UserFactory(roles=["provider_staff"])
    db_session.commit()
    org, staff = provider
    client = app.test_client()
    sign_in(client, staff)
    client.post(f"/provider/listings/{listing.id}/confirm-checked", data={})
    other = app.test_client()
    sign_in(other, outsider)
    token = csrf_token(other, "/account")
    response = other.post(
        f"/provider/listings/{listing.id}/confirm-checked", data={"csrf_token": token}
    )
    assert response.status_code == 404
    db_session.expire_all()
    assert db_session.get(Listing, listing.id).last_checked_at == date(2025, 1, 2)


# --- The form -------------------------------------------------------------------------------


def form_fields(db_session, council, **overrides):
    from tests.providers.test_directory_http import listing_form

    fields = {
        "address_line_1": "Civic Hall",
        "address_line_2": "",
        "town": "Leeds",
        "day0_opens": "09:30",
        "day0_closes": "17:00",
        "day0_note": "",
        "day2_opens": "18:00",
        "day2_closes": "20:00",
        "day2_note": "women only",
        "minimum_age": "18",
        "maximum_age": "",
        "eligibility": "People living in Leeds.",
        "access": "self_referral",
        "waiting_time": "No wait",
        "cqc_number": "1-123456789",
        "charity_number": "",
        "company_number": "",
        "dbs_checked": "",
    }
    return listing_form(db_session, council, **(fields | overrides))


def test_the_form_saves_every_detail(client, db_session, provider, leeds):
    org, staff = provider
    sign_in(client, staff)
    response = post(
        client, f"/provider/organisations/{org.id}/listings/new", form_fields(db_session, leeds)
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    listing = db_session.scalars(select(Listing)).one()
    assert listing.address_lines == ["Civic Hall", "Leeds", "LS1 1UR"]
    assert [(o.weekday, o.note) for o in listing.opening_times] == [(0, ""), (2, "women only")]
    assert (listing.minimum_age, listing.maximum_age, listing.access) == (18, None, "self_referral")
    assert listing.cqc_number == "1-123456789"
    # The edit form comes back filled in.
    html = client.get(f"/provider/listings/{listing.id}/edit").get_data(as_text=True)
    assert re.search(r'name="day2_note"[^>]*value="women only"', html)
    assert re.search(r'value="self_referral"[^>]*checked', html)


def test_bad_details_show_beside_their_field_and_keep_what_was_typed(
    client, db_session, provider, leeds
):
    org, staff = provider
    sign_in(client, staff)
    bad = form_fields(
        db_session,
        leeds,
        day0_opens="9am",
        day2_closes="17:00",  # before it opens at 18:00
        minimum_age="eighteen",
        cqc_number="CQC123",
        day4_note="drop-in",  # a note but no times
    )
    response = post(client, f"/provider/organisations/{org.id}/listings/new", bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter the youngest age as a whole number, like 18" in html
    assert db_session.scalars(select(Listing)).all() == []
    # The form's own checks ran; the opening times then say every problem at once.
    good_age = form_fields(
        db_session,
        leeds,
        day0_opens="9am",
        day2_closes="17:00",
        day4_note="drop-in",
    )
    html = post(client, f"/provider/organisations/{org.id}/listings/new", good_age).get_data(
        as_text=True
    )
    assert "Enter the time it opens on Monday. Use the 24-hour clock" in html
    assert 'href="#day0_opens"' in html
    assert "The closing time on Wednesday must be after the opening time" in html
    assert 'href="#day2_closes"' in html
    assert "Enter when it opens and closes on Friday" in html
    assert 'value="9am"' in html and 'value="drop-in"' in html  # nothing typed is lost
    # And a rule only the service knows goes beside its field too.
    html = post(
        client,
        f"/provider/organisations/{org.id}/listings/new",
        form_fields(db_session, leeds, cqc_number="CQC123"),
    ).get_data(as_text=True)
    assert "Enter a CQC registration number as 1- and then digits" in html
    assert 'href="#cqc_number"' in html
    assert 'value="CQC123"' in html
    assert db_session.scalars(select(Listing)).all() == []


def test_editing_a_published_listing_keeps_the_details_pending(db_session, provider, leeds):
    org, staff = provider
    listing = published(db_session, provider, leeds)
    changed = replace(data_from_listing(listing), waiting_time="About 6 weeks")
    update_listing(db_session, staff, listing, changed)
    db_session.commit()
    assert listing.waiting_time == "About 2 weeks"
    assert ListingData.from_json(listing.pending_changes).waiting_time == "About 6 weeks"
