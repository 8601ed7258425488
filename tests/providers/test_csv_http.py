"""Importing listings from a spreadsheet and downloading search results, through HTTP."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from marketplace.db import utcnow
from marketplace.providers import csv_io, services
from marketplace.providers.models import Listing, ListingStatus
from tests.factories import CouncilFactory, StaffFactory, UserFactory
from tests.helpers import csrf_token, post, sign_in
from tests.listing_helpers import category_ids, listing_data, provider_with_staff
from tests.providers.test_csv_io import good_row, make_csv

LEEDS = "E08000035"


@pytest.fixture
def leeds(db_session):
    return CouncilFactory(code=LEEDS, name="Leeds")


@pytest.fixture
def provider(db_session, leeds):
    org, staff, _ = provider_with_staff(leeds)
    db_session.commit()
    return org, staff


def import_path(org) -> str:
    return f"/provider/organisations/{org.id}/listings/import"


def upload(client, org, content: bytes | str, filename: str = "listings.csv"):
    """POST the file as a browser would, with a CSRF token from the import page."""
    raw = content.encode("utf-8") if isinstance(content, str) else content
    builder = EnvironBuilder(
        path=import_path(org),
        method="POST",
        data={
            "csrf_token": csrf_token(client, import_path(org)),
            "file": (io.BytesIO(raw), filename),
        },
        content_type="multipart/form-data",
    )
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        # Werkzeug spools a large body to a temporary file that its test client never closes.
        environ["wsgi.input"].close()
        builder.close()


def listings(db_session) -> list[Listing]:
    db_session.expire_all()
    return list(db_session.scalars(select(Listing).order_by(Listing.id)))


def uploads_folder(app) -> Path:
    return Path(app.instance_path) / "imports"


# --- Import ----------------------------------------------------------------------------------


def test_listings_page_links_to_the_import(client, provider):
    org, staff = provider
    sign_in(client, staff)
    html = client.get("/provider/listings").get_data(as_text=True)
    assert f'href="{import_path(org)}"' in html
    assert "Import listings from a spreadsheet (CSV)" in html


def test_import_page_and_template(client, provider):
    org, staff = provider
    sign_in(client, staff)
    html = client.get(import_path(org)).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html
    assert 'type="file"' in html
    assert "saved as drafts" in html
    assert "<code>price_1_amount</code>" in html
    response = client.get(f"{import_path(org)}/template.csv")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == "attachment; filename=listings-template.csv"
    text = response.get_data().decode("utf-8-sig")
    assert text.startswith("name,summary,description,categories,")


def test_the_template_uploaded_as_it_is_imports_one_draft(client, db_session, provider):
    org, staff = provider
    sign_in(client, staff)
    template = client.get(f"{import_path(org)}/template.csv").get_data()
    response = upload(client, org, template)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/provider/listings")
    [listing] = listings(db_session)
    assert listing.status == ListingStatus.DRAFT.value
    assert listing.organisation_id == org.id
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 listing imported as a draft. Check each one, then send it for approval" in html


def test_a_clean_upload_imports_every_row_as_drafts(client, db_session, provider):
    org, staff = provider
    sign_in(client, staff)
    response = upload(client, org, make_csv([good_row(name="One"), good_row(name="Two")]))
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 listings imported as drafts" in html
    assert [(x.name, x.status) for x in listings(db_session)] == [
        ("One", "draft"),
        ("Two", "draft"),
    ]


def test_problems_are_listed_and_only_valid_rows_imported_on_request(
    app, client, db_session, provider
):
    org, staff = provider
    sign_in(client, staff)
    text = make_csv(
        [
            good_row(name="Fine"),
            good_row(name="<b>Bold</b><script>alert(1)</script>", price_1_amount="lots"),
            good_row(name="Also fine", councils="Atlantis"),
        ]
    )
    response = upload(client, org, text)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<title>Error: Import listings" in html
    assert "There is a problem" in html
    assert 'href="#problems"' in html
    cells = re.findall(r'<td class="govuk-table__cell">([^<]*)</td>', html)
    assert cells[:6] == [
        "3",
        "price_1_amount",
        "Enter an amount in pounds, like 12.50",
        "4",
        "councils",
        "Unknown council: &#39;Atlantis&#39;",
    ]
    assert "<script>alert(1)</script>" not in html
    assert "Import only the 1 valid row" in html
    assert listings(db_session) == []  # nothing imported yet

    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    assert (uploads_folder(app) / f"{token}.csv").exists()
    response = post(
        client,
        f"{import_path(org)}/valid-rows",
        {"token": token},
        token_from=import_path(org),
    )
    assert response.status_code == 302
    assert [(x.name, x.status) for x in listings(db_session)] == [("Fine", "draft")]
    assert not (uploads_folder(app) / f"{token}.csv").exists()

    # The same token cannot import twice.
    response = post(
        client, f"{import_path(org)}/valid-rows", {"token": token}, token_from=import_path(org)
    )
    assert response.status_code == 302
    assert "has expired" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert len(listings(db_session)) == 1


def test_a_token_belongs_to_its_uploader(app, client, db_session, provider, leeds):
    org, staff = provider
    colleague = UserFactory()
    StaffFactory(organisation=org, user=colleague)
    db_session.commit()
    sign_in(client, staff)
    html = upload(client, org, make_csv([good_row(), good_row(name="")])).get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    other = app.test_client()
    sign_in(other, colleague)
    response = post(
        other, f"{import_path(org)}/valid-rows", {"token": token}, token_from=import_path(org)
    )
    assert response.status_code == 302
    assert listings(db_session) == []


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "empty.csv", "The selected file is empty"),
        (b"name,summary\n", "header.csv", "The file has no listings in it"),
        (b"description,tags\nA,B\n", "cols.csv", "The file is missing the columns name, summary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00junk", "picture.csv", "The selected file is not a CSV file"),
        (b"name,summary\nA,B\n", "listings.xlsx", "The selected file must be a CSV"),
        (b"a" * (csv_io.MAX_BYTES + 1), "big.csv", "The selected file must be smaller than 1 MB"),
    ],
)
def test_bad_files_get_a_clear_error_beside_the_upload(
    client, db_session, provider, content, filename, message
):
    org, staff = provider
    sign_in(client, staff)
    response = upload(client, org, content, filename)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert 'href="#file"' in html
    assert listings(db_session) == []


def test_no_file_chosen(client, provider):
    org, staff = provider
    sign_in(client, staff)
    html = post(client, import_path(org), {}).get_data(as_text=True)
    assert "Select a CSV file" in html


def test_staff_of_another_provider_get_404(app, db_session, provider, leeds):
    org_a, _ = provider
    _, staff_b, _ = provider_with_staff(leeds)
    db_session.commit()
    other = app.test_client()
    sign_in(other, staff_b)
    assert other.get(import_path(org_a)).status_code == 404
    assert other.get(f"{import_path(org_a)}/template.csv").status_code == 404
    token = csrf_token(other, "/provider/listings")
    response = other.post(
        import_path(org_a),
        data={"csrf_token": token, "file": (io.BytesIO(make_csv([good_row()]).encode()), "a.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 404
    response = other.post(
        f"{import_path(org_a)}/valid-rows", data={"csrf_token": token, "token": "x" * 43}
    )
    assert response.status_code == 404
    assert listings(db_session) == []


def test_visitor_is_sent_to_sign_in(client, provider):
    org, _ = provider
    for path in (import_path(org), f"{import_path(org)}/template.csv"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/sign-in" in response.headers["Location"]


def test_post_without_csrf_token_is_rejected(client, db_session, provider):
    org, staff = provider
    sign_in(client, staff)
    response = client.post(
        import_path(org),
        data={"file": (io.BytesIO(make_csv([good_row()]).encode()), "a.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    response = client.post(f"{import_path(org)}/valid-rows", data={"token": "x" * 43})
    assert response.status_code == 400
    assert listings(db_session) == []


def test_admin_without_second_factor_is_asked_to_set_one_up(client, provider):
    org, _ = provider
    admin = UserFactory(roles=["admin"])
    sign_in(client, admin)
    response = client.get(import_path(org))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/two-factor")


def test_admin_with_second_factor_imports_for_any_provider(app, db_session, provider):
    org, _ = provider
    admin = UserFactory(
        roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
    )
    client = app.test_client()
    sign_in(client, admin)
    assert client.get(import_path(org)).status_code == 200
    response = upload(client, org, make_csv([good_row(name="Added by an admin")]))
    assert response.status_code == 302
    assert response.headers["Location"] == import_path(org)
    [listing] = listings(db_session)
    assert (listing.name, listing.organisation_id, listing.status) == (
        "Added by an admin",
        org.id,
        "draft",
    )


# --- Export ----------------------------------------------------------------------------------


@pytest.fixture
def app_context(app):
    """The search index is updated on commit through the current app, so tests that commit
    published listings themselves run inside an app context."""
    with app.app_context():
        yield


def publish(db_session, org, staff, council, **overrides) -> Listing:
    listing = services.create_listing(
        db_session, staff, org, listing_data(db_session, council, **overrides)
    )
    listing.status = ListingStatus.PUBLISHED.value
    db_session.commit()
    return listing


def rows_of(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_export_of_search_results(app_context, client, db_session, provider, leeds):
    org, staff = provider
    first = publish(
        db_session,
        org,
        staff,
        leeds,
        name="Zephyrine peer group",
        postcode="LS1 1UR",
        radius_miles=5,
        contact_phone="+44 113 496 0000",
        website="https://www.example.org",
        prices=(services.PriceOption(450, "session", "per person"),),
    )
    publish(
        db_session,
        org,
        staff,
        leeds,
        name="=Zephyrine formula",
        category_ids=category_ids(db_session, "advocacy"),
        delivery_modes=("online", "phone"),
    )
    services.create_listing(
        db_session, staff, org, listing_data(db_session, leeds, name="Zephyrine draft")
    )
    db_session.commit()

    response = client.get("/services.csv?q=zephyrine")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == "attachment; filename=services.csv"
    rows = rows_of(response)
    assert sorted(row["name"] for row in rows) == ["'=Zephyrine formula", "Zephyrine peer group"]
    row = next(row for row in rows if row["name"] == "Zephyrine peer group")
    assert list(row) == csv_io.export_columns(False)
    assert row["provider"] == org.name
    assert row["categories"] == "Peer support"
    assert row["delivery"] == "In person"
    assert row["prices"] == "£4.50 per session (per person)"
    assert row["councils"] == "Leeds"
    assert row["postcode"] == "LS1 1UR"
    assert row["languages"] == "English"
    assert row["contact_phone"] == "'+44 113 496 0000"
    assert row["website"] == "https://www.example.org"
    assert row["url"] == f"http://localhost/services/{first.id}"

    filtered = rows_of(client.get("/services.csv?q=zephyrine&category=advocacy&page=7"))
    assert [row["name"] for row in filtered] == ["'=Zephyrine formula"]
    assert filtered[0]["delivery"] == "Online; By phone"

    # Near a postcode: the in-person group, and the online one because it serves Leeds.
    near = rows_of(client.get("/services.csv?q=zephyrine&postcode=LS1+3AD&within=5"))
    assert sorted(row["name"] for row in near) == ["'=Zephyrine formula", "Zephyrine peer group"]
    assert list(near[0]) == csv_io.export_columns(True)
    distances = {row["name"]: row["distance_miles"] for row in near}
    assert distances == {"Zephyrine peer group": "0.2", "'=Zephyrine formula": ""}


def test_export_returns_every_page_of_results(app_context, client, db_session, provider, leeds):
    org, staff = provider
    for number in range(25):
        listing = services.create_listing(
            db_session,
            staff,
            org,
            listing_data(db_session, leeds, name=f"Quillwort club {number}"),
        )
        listing.status = ListingStatus.PUBLISHED.value
    db_session.commit()
    rows = rows_of(client.get("/services.csv?q=quillwort"))
    assert len(rows) == 25  # more than one page of /services


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("postcode=LS99+9ZZ", "We could not find the postcode LS99 9ZZ"),
        ("postcode=nonsense", "Enter a real UK postcode"),
        ("max_price=lots", "Enter a price in pounds"),
    ],
)
def test_export_with_a_bad_query_is_a_400_in_plain_text(client, query, message):
    response = client.get(f"/services.csv?{query}")
    assert response.status_code == 400
    assert response.content_type == "text/plain; charset=utf-8"
    assert message in response.get_data(as_text=True)


def test_search_page_links_to_the_download_with_its_query(
    app_context, client, db_session, provider, leeds
):
    org, staff = provider
    publish(db_session, org, staff, leeds, name="Marrowfat peas club")
    html = client.get("/services?q=marrowfat&dp=y").get_data(as_text=True)
    assert 'href="/services.csv?q=marrowfat&amp;dp=y"' in html
    assert "Download these results (CSV)" in html
