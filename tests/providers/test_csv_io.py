"""Importing listings from CSV and exporting search results, at the service level."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.audit import AuditEntry
from marketplace.db import utcnow
from marketplace.errors import NotAllowed
from marketplace.providers import csv_io, services
from marketplace.providers.csv_io import RowError
from marketplace.providers.models import Listing, ListingStatus
from marketplace.providers.search import Hit
from tests.factories import CouncilFactory, UserFactory
from tests.listing_helpers import listing_data, provider_with_staff

LEEDS = "E08000035"


@pytest.fixture(autouse=True)
def _app_context(app):
    with app.test_request_context():
        yield


@pytest.fixture
def leeds(db_session):
    return CouncilFactory(code=LEEDS, name="Leeds")


@pytest.fixture
def provider(db_session, leeds):
    org, staff, _ = provider_with_staff(leeds)
    db_session.commit()
    return org, staff


def good_row(**overrides: str) -> dict[str, str]:
    row = {
        "name": "Tuesday peer group",
        "summary": "A weekly group run by people with lived experience.",
        "description": "We meet on Tuesdays.",
        "categories": "Peer support",
        "tags": "hearing voices; evening",
        "delivery_modes": "in person; online",
        "price_1_amount": "4.50",
        "price_1_unit": "per session",
        "councils": "Leeds",
    }
    row.update(overrides)
    return row


def make_csv(rows: list[dict[str, str]], columns: tuple[str, ...] = csv_io.COLUMN_NAMES) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        if row:
            writer.writerow(row)
        else:
            buffer.write("," * (len(columns) - 1) + "\r\n")  # a blank spreadsheet row
    return buffer.getvalue()


def listings(db_session) -> list[Listing]:
    return list(db_session.scalars(select(Listing).order_by(Listing.id)))


MIXED = [
    good_row(name="Good one"),  # row 2
    good_row(name=""),  # 3
    good_row(price_1_amount="twelve quid"),  # 4
    good_row(postcode="LS99 9ZZ"),  # 5 (a postcode's shape, but no such postcode)
    good_row(councils="Leeds; Atlantis"),  # 6
    good_row(postcode="LS1 1UR", radius_miles="-4"),  # 7
    good_row(description="x" * 10_000),  # 8
    good_row(name="<script>alert(1)</script>"),  # 9 (valid: stored as text)
    good_row(categories="Basket weaving", delivery_modes="by pigeon", takes_direct_payments="ok"),
    {},  # 11: blank, skipped
    good_row(price_1_amount="", price_1_unit=""),  # 12
    good_row(councils="", postcode=""),  # 13
    good_row(price_1_amount="5", price_1_unit=""),  # 14
    good_row(website="www.example.org", contact_email="not an email"),  # 15
]

MIXED_ERRORS = [
    RowError(3, "name", "Enter the name of the service"),
    RowError(4, "price_1_amount", "Enter an amount in pounds, like 12.50"),
    RowError(
        5,
        "postcode",
        "We could not find the postcode LS99 9ZZ. Check it and enter a real UK postcode, "
        "like LS1 1UR",
    ),
    RowError(6, "councils", "Unknown council: 'Atlantis'"),
    RowError(7, "radius_miles", "Distance must be between 1 and 200 miles"),
    RowError(8, "description", "Description must be 5000 characters or fewer"),
    RowError(10, "categories", "Unknown category: 'Basket weaving'"),
    RowError(10, "delivery_modes", "Unknown way of delivering: 'by pigeon'"),
    RowError(10, "takes_direct_payments", "Enter yes or no"),
    RowError(12, "price_1_amount", "Give at least one price, or enter free in price_1_unit"),
    RowError(
        13, "councils", "Say where the service is offered: enter councils, a postcode, or both"
    ),
    RowError(
        14,
        "price_1_unit",
        "Say what the price is for: per hour, per session, per week, per month, one-off or free",
    ),
    RowError(
        15, "contact_email", "Enter an email address in the correct format, like name@example.com"
    ),
    RowError(15, "website", "Enter a web address like https://www.example.org"),
]


def test_mixed_file_reports_every_problem_by_row_and_column(db_session, provider):
    org, staff = provider
    checked = csv_io.check(db_session, staff, org, make_csv(MIXED))
    assert list(checked.errors) == MIXED_ERRORS
    assert checked.row_count == 13
    assert checked.valid_rows == (2, 9)
    assert checked.rows_with_errors == 11
    assert listings(db_session) == []  # checking wrote nothing


def test_nothing_is_imported_from_a_file_with_problems_by_default(db_session, provider):
    org, staff = provider
    with pytest.raises(csv_io.ImportHasErrors) as raised:
        csv_io.import_listings(db_session, staff, org, make_csv(MIXED))
    assert list(raised.value.checked.errors) == MIXED_ERRORS
    assert listings(db_session) == []


def test_import_only_valid_rows_creates_exactly_those_as_drafts(db_session, provider, leeds):
    org, staff = provider
    other_org, _, _ = provider_with_staff(leeds)
    created = csv_io.import_listings(db_session, staff, org, make_csv(MIXED), only_valid=True)
    db_session.commit()
    found = listings(db_session)
    assert found == created
    assert [listing.name for listing in found] == ["Good one", "<script>alert(1)</script>"]
    for listing in found:
        assert listing.status == ListingStatus.DRAFT.value
        assert listing.organisation_id == org.id
        assert listing.min_price_pence == 450
        assert [c.slug for c in listing.categories] == ["peer-support"]
        assert listing.delivery_mode_list == ["in_person", "online"]
        assert listing.tag_list == ["hearing voices", "evening"]
        assert [c.code for c in listing.councils] == [LEEDS]
        assert listing.language_list == ["English"]
        assert listing.takes_direct_payments is True
        assert listing.takes_managed_accounts is False
        assert listing.specialism == "mainstream"
    assert not any(listing.organisation_id == other_org.id for listing in found)


def test_a_clean_file_imports_every_row(db_session, provider):
    org, staff = provider
    text = make_csv([good_row(name="One"), good_row(name="Two")])
    assert csv_io.check(db_session, staff, org, text).ok
    created = csv_io.import_listings(db_session, staff, org, text)
    assert [listing.name for listing in created] == ["One", "Two"]


def test_labels_and_codes_in_any_case(db_session, provider):
    org, staff = provider
    row = good_row(
        categories="PEER-SUPPORT; advocacy; Sleep-in and night support",
        delivery_modes="IN PERSON; At Home; by phone; online",
        price_1_amount="£1,250",
        price_1_unit="Per Month",
        price_2_amount="",
        price_2_unit="FREE",
        price_2_label="first visit",
        price_3_amount="30",
        price_3_unit="one_off",
        councils="e08000035",
        postcode="ls1 1ur",
        radius_miles="10 miles",
        languages="english; BSL; urdu",
        communities="Women only; older_people",
        specialism="Mental Health",
        takes_direct_payments="No",
        takes_managed_accounts="YES",
        contact_email="hello@example.org",
        website="https://www.example.org",
    )
    [listing] = csv_io.import_listings(db_session, staff, org, make_csv([row]))
    assert [c.slug for c in listing.categories] == [
        "peer-support",
        "advocacy",
        "sleep-in-support",
    ]
    assert listing.delivery_mode_list == ["at_home", "in_person", "online", "phone"]
    assert [(p.amount_pence, p.unit, p.label) for p in listing.prices] == [
        (125_000, "month", ""),
        (0, "free", "first visit"),
        (3000, "one_off", ""),
    ]
    assert listing.postcode == "LS1 1UR"
    assert listing.radius_miles == 10
    assert listing.language_list == ["English", "British Sign Language", "Urdu"]
    assert listing.community_list == ["older_people", "women"]
    assert listing.specialism == "mental_health"
    assert listing.takes_direct_payments is False
    assert listing.takes_managed_accounts is True


def test_headers_may_be_written_as_words(db_session, provider):
    org, staff = provider
    text = (
        "Name,Summary,Categories,Delivery modes,Price 1 amount,Price 1 unit,Councils\n"
        "Walk and talk,A weekly walk.,Peer support,in person,0,free,Leeds\n"
    )
    [listing] = csv_io.import_listings(db_session, staff, org, text)
    assert listing.min_price_pence == 0


def test_semicolon_separated_file(db_session, provider):
    org, staff = provider
    text = (
        "name;summary;categories;delivery_modes;price_1_unit;councils\n"
        "A;B;advocacy;online;free;Leeds\n"
    )
    assert csv_io.check(db_session, staff, org, text).valid_rows == (2,)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("summary,categories\nA,B\n", "The file is missing the column name."),
        ("description\nA\n", "The file is missing the columns name, summary."),
        ("name,summary,postcod\nA,B,C\n", "columns we do not recognise: postcod."),
        ("name,summary,name\nA,B,C\n", "These columns appear more than once: name"),
        ("name,summary\n", "The file has no listings in it."),
        ("name,summary\n,\n\n", "The file has no listings in it."),
        ("\n\n", "The selected file is empty"),
    ],
)
def test_problems_with_the_header(db_session, provider, text, message):
    org, staff = provider
    with pytest.raises(csv_io.ImportFileError) as raised:
        csv_io.check(db_session, staff, org, text)
    assert message in raised.value.message


def test_cells_without_a_column_are_reported(db_session, provider):
    org, staff = provider
    # Past the last column, however many the template has.
    text = make_csv([good_row()]).replace(
        "Leeds", "Leeds" + "," * len(csv_io.COLUMN_NAMES) + "surprise"
    )
    checked = csv_io.check(db_session, staff, org, text)
    assert checked.errors == (RowError(2, "", "This row has cells with no column name above them"),)


def test_a_long_unknown_value_is_shortened_in_the_message(db_session, provider):
    org, staff = provider
    checked = csv_io.check(db_session, staff, org, make_csv([good_row(categories="y" * 10_000)]))
    [error] = checked.errors
    assert error.column == "categories"
    assert len(error.message) < 80


def test_more_than_500_rows_is_refused_and_500_are_checked(db_session, provider):
    org, staff = provider
    rows = [{"name": f"Service {n}"} for n in range(csv_io.MAX_ROWS)]
    checked = csv_io.check(db_session, staff, org, make_csv(rows))
    assert checked.row_count == 500
    assert checked.errors[0] == RowError(2, "summary", "Enter a short summary")
    with pytest.raises(csv_io.ImportFileError) as raised:
        csv_io.check(db_session, staff, org, make_csv([*rows, {"name": "One too many"}]))
    assert "more than 500 listings" in raised.value.message


def test_template_has_every_column_and_an_example_that_imports(db_session, provider):
    org, staff = provider
    text = csv_io.template_csv(db_session, org)
    header, example = list(csv.reader(io.StringIO(text)))
    assert tuple(header) == csv_io.COLUMN_NAMES
    assert example[header.index("councils")] == "Leeds"
    assert csv_io.check(db_session, staff, org, text).valid_rows == (2,)


# --- Encodings -------------------------------------------------------------------------------


def test_utf8_with_and_without_bom(db_session, provider):
    org, staff = provider
    text = make_csv([good_row(name="Café Ünïcode ✓")])
    for raw in (text.encode("utf-8"), b"\xef\xbb\xbf" + text.encode("utf-8")):
        decoded = csv_io.decode(raw)
        assert decoded.startswith("name,")
        [listing] = csv_io.import_listings(db_session, staff, org, decoded)
        assert listing.name == "Café Ünïcode ✓"


def test_windows_1252_from_excel(db_session, provider):
    org, staff = provider
    raw = make_csv([good_row(name="Café – “quoted”", price_1_amount="£4.50")]).encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    [listing] = csv_io.import_listings(db_session, staff, org, csv_io.decode(raw))
    assert listing.name == "Café – “quoted”"
    assert listing.min_price_pence == 450


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "The selected file is empty"),
        (b"  \r\n ", "The selected file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not a CSV file"),
        (bytes(range(256)) * 4, "is not a CSV file"),
        ("name,summary\nA,B\n".encode("utf-16"), "is not a CSV file"),
        (b"\x81\x8d\x8f\x90\x9d", "is not a CSV file"),
        (b"a" * (csv_io.MAX_BYTES + 1), "must be smaller than 1 MB"),
    ],
)
def test_files_that_are_not_text(raw, message):
    with pytest.raises(csv_io.ImportFileError) as raised:
        csv_io.decode(raw)
    assert message in raised.value.message


def test_unreadable_csv_is_a_clear_error(db_session, provider):
    org, staff = provider
    text = 'name,summary\n"' + "x" * 200_000 + '",B\n'
    with pytest.raises(csv_io.ImportFileError) as raised:
        csv_io.check(db_session, staff, org, text)
    assert "far too long" in raised.value.message


# --- Who may import --------------------------------------------------------------------------


def test_staff_of_another_provider_may_not_import(db_session, provider, leeds):
    org, _ = provider
    _, outsider, _ = provider_with_staff(leeds)
    with pytest.raises(NotAllowed):
        csv_io.import_listings(db_session, outsider, org, make_csv([good_row()]))


def test_an_admin_may_import_for_any_provider_and_it_is_audited(db_session, provider):
    org, _ = provider
    admin = UserFactory(roles=["admin"])
    text = make_csv([good_row(name="By admin"), good_row(name="")])
    checked = csv_io.check(db_session, admin, org, text)
    assert checked.errors == (RowError(3, "name", "Enter the name of the service"),)
    [listing] = csv_io.import_listings(db_session, admin, org, text, only_valid=True)
    assert listing.organisation_id == org.id
    assert listing.status == ListingStatus.DRAFT.value
    entry = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "listings.imported")
    ).one()
    assert (entry.actor_id, entry.subject_id) == (admin.id, org.id)
    # The admin is not the organisation's staff, so each listing made is audited too.
    made = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "listing.admin_change")
    ).all()
    assert [(e.actor_id, e.subject_id) for e in made] == [(admin.id, org.id)]


# --- Keeping an upload for "Import only the valid rows" --------------------------------------


def test_store_keeps_an_upload_for_its_owner_for_an_hour(tmp_path):
    store = csv_io.ImportStore(tmp_path / "imports")
    token = store.save("name,summary\n", user_id=1, org_id=2)
    assert store.load(token, 1, 2) == "name,summary\n"
    assert store.load(token, 99, 2) is None
    assert store.load(token, 1, 99) is None
    assert store.load("../../etc/passwd", 1, 2) is None
    assert store.load(token, 1, 2, now=utcnow() + timedelta(hours=1, seconds=1)) is None
    assert list((tmp_path / "imports").iterdir()) == []  # the expired upload was deleted


def test_store_delete(tmp_path):
    store = csv_io.ImportStore(tmp_path)
    token = store.save("x", 1, 1)
    store.delete(token)
    assert store.load(token, 1, 1) is None
    assert list(tmp_path.iterdir()) == []


# --- Export ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+44 113 496 0000", "'+44 113 496 0000"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Plain text", "Plain text"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
    ],
)
def test_safe_cell(value, expected):
    assert csv_io.safe_cell(value) == expected


def test_export_defuses_formulas_and_formats_prices(db_session, provider, leeds):
    org, staff = provider
    data = listing_data(
        db_session,
        leeds,
        name='=HYPERLINK("http://evil.example","Click")',
        summary="@SUM(1+1)",
        contact_phone="+44 113 496 0000",
        prices=(
            services.PriceOption(1250, "hour", "one to one"),
            services.PriceOption(0, "free", ""),
        ),
    )
    listing = services.create_listing(db_session, staff, org, data)
    listing.status = ListingStatus.PUBLISHED.value
    db_session.flush()
    text = csv_io.export_csv(
        db_session,
        [Hit(listing.id, 0.0, None), Hit(999_999, 0.0, None)],
        lambda item: f"https://example.org/services/{item.id}",
        with_distance=False,
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    [row] = rows
    assert list(row) == csv_io.export_columns(False)
    assert row["name"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert row["summary"] == "'@SUM(1+1)"
    assert row["contact_phone"] == "'+44 113 496 0000"
    assert row["prices"] == "£12.50 per hour (one to one); Free"
    assert row["councils"] == "Leeds"
    assert row["url"] == f"https://example.org/services/{listing.id}"


def test_export_leaves_out_unpublished_listings(db_session, provider, leeds):
    org, staff = provider
    listing = services.create_listing(db_session, staff, org, listing_data(db_session, leeds))
    text = csv_io.export_csv(
        db_session, [Hit(listing.id, 0.0, None)], lambda item: "", with_distance=True
    )
    assert list(csv.reader(io.StringIO(text))) == [csv_io.export_columns(True)]


# --- The details council directories carry ------------------------------------------------

DETAILS = {
    "address_line_1": "Civic Hall",
    "address_line_2": "Calverley Street",
    "town": "Leeds",
    "postcode": "LS1 1UR",
    "opening_times": "Monday 9:30-17:00; wed 18.00 to 20.00 (women only)",
    "times": "Closed on bank holidays",
    "minimum_age": "18",
    "maximum_age": "65",
    "eligibility": "People living in Leeds.",
    "access": "Self-referral",
    "waiting_time": "About 2 weeks",
    "cqc_number": "1-123456789",
    "charity_number": "1123456",
    "company_number": "1234567",
    "dbs_checked": "yes",
    "delivery_modes": "in person; at home",
}
DETAIL_FIELDS = (
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "opening_times",
    "times",
    "minimum_age",
    "maximum_age",
    "eligibility",
    "access",
    "waiting_time",
    "cqc_number",
    "charity_number",
    "company_number",
    "dbs_checked",
)


def _details_of(listing: Listing) -> tuple:
    data = services.data_from_listing(listing)
    return tuple(getattr(data, name) for name in DETAIL_FIELDS)


def test_details_import_and_export_round_trip(db_session, provider):
    org, staff = provider
    [first] = csv_io.import_listings(db_session, staff, org, make_csv([good_row(**DETAILS)]))
    assert [(o.weekday, f"{o.opens:%H:%M}", o.note) for o in first.opening_times] == [
        (0, "09:30", ""),
        (2, "18:00", "women only"),
    ]
    assert (first.access, first.dbs_checked, first.company_number) == (
        "self_referral",
        True,
        "01234567",
    )
    first.status = ListingStatus.PUBLISHED.value
    db_session.flush()

    exported = csv_io.export_csv(
        db_session, [Hit(first.id, 0.0, None)], lambda item: "", with_distance=False
    )
    [row] = list(csv.DictReader(io.StringIO(exported)))
    assert row["opening_times"] == "Monday 09:30-17:00; Wednesday 18:00-20:00 (women only)"
    assert row["access"] == "self-referral"
    assert row["last_checked"] == utcnow().date().isoformat()

    # The export's detail cells, put back into an import file, make the same listing.
    again = good_row(
        name="Imported again",
        delivery_modes=DETAILS["delivery_modes"],
        **{column: row[column] for column in csv_io.DETAIL_COLUMNS},
        postcode=row["postcode"],
    )
    [second] = csv_io.import_listings(db_session, staff, org, make_csv([again]))
    assert _details_of(second) == _details_of(first)


def test_bad_details_are_reported_by_row_and_column(db_session, provider):
    org, _staff = provider
    _, staff = provider
    checked = csv_io.check(
        db_session,
        staff,
        org,
        make_csv(
            [
                good_row(opening_times="Mondays all day"),  # 2
                good_row(opening_times="Monday 09:00-17:00; Monday 18:00-20:00"),  # 3
                good_row(opening_times="Tuesday 17:00-09:00"),  # 4
                good_row(opening_times="Friday 25:00-26:00"),  # 5
                good_row(minimum_age="eighteen", access="walk in", dbs_checked="maybe"),  # 6
                good_row(cqc_number="CQC-1", address_line_1="1 High Street"),  # 7
                good_row(minimum_age="40", maximum_age="30"),  # 8
            ]
        ),
    )
    assert [(e.row, e.column, e.message) for e in checked.errors] == [
        (
            2,
            "opening_times",
            "Write opening times like: Monday 09:00-17:00; Wednesday 18:00-20:00 (drop-in), "
            "not 'Mondays all day'",
        ),
        (3, "opening_times", "Give Monday once"),
        (4, "opening_times", "The closing time on Tuesday must be after the opening time"),
        (
            5,
            "opening_times",
            "Enter the time it opens on Friday. Use the 24-hour clock, like 09:30 or 17:00",
        ),
        (6, "minimum_age", "Enter the youngest age as a whole number, like 18"),
        (6, "access", "Enter self-referral, referral or both"),
        (6, "dbs_checked", "Enter yes or no, or leave it blank"),
        (7, "town", "Enter the town or city of the address"),
        (8, "maximum_age", "The oldest age must be the same as or more than the youngest age"),
    ]
