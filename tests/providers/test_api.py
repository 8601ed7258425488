"""The Open Referral UK API, validated against the profile's own schemas (tests/providers/oruk/)."""

from __future__ import annotations

import json
import math
import uuid
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from marketplace.organisations.models import ApprovalStatus, OrganisationKind
from marketplace.places import postcodes
from marketplace.providers import oruk
from marketplace.providers.models import ListingStatus
from marketplace.providers.services import (
    OpeningTime,
    PriceOption,
    create_listing,
    update_listing,
)
from tests.factories import CouncilFactory, OrganisationFactory, StaffFactory
from tests.listing_helpers import category_ids, listing_data, provider_with_staff

ORUK = Path(__file__).resolve().parent / "oruk"  # copied from uk-profile: see its README.md
SCHEMAS = ORUK / "schema"
COMPILED = SCHEMAS / "compiled"
EXAMPLES = ORUK / "examples"
API = "/api/v1"
LEEDS, MANCHESTER, BRISTOL = "E08000035", "E08000003", "E06000023"
PAGE_FIELDS = {
    "total_items",
    "total_pages",
    "page_number",
    "size",
    "first_page",
    "last_page",
    "empty",
    "contents",
}


# --- Schemas ------------------------------------------------------------------------------


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _registry() -> Registry:
    """Every profile schema by file name, so the uncompiled ones' relative $refs resolve."""
    _read(SCHEMAS / "openapi.json")
    return Registry().with_resources(
        (path.name, Resource.from_contents(_read(path), default_specification=DRAFT202012))
        for path in SCHEMAS.glob("*.json")
    )


def validator(path: Path) -> Draft202012Validator:
    """A Draft 2020-12 validator (the dialect openapi.json declares) that checks formats too."""
    return Draft202012Validator(
        _read(path),
        registry=_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def check(path: Path, instance: dict) -> None:
    errors = sorted(validator(path).iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def check_page(body: dict, item_schema: Path) -> None:
    """The ORUK page object (components/schemas/Page in openapi.json) and every item in it."""
    page_schema = _read(SCHEMAS / "openapi.json")["components"]["schemas"]["Page"]
    Draft202012Validator(page_schema).validate(body)
    assert set(body) == PAGE_FIELDS
    for item in body["contents"]:
        check(item_schema, item)


def get_json(client, path: str, status: int = 200) -> dict:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return response.get_json()


def assert_error(client, path: str, status: int, method: str = "GET") -> str:
    response = client.open(path, method=method)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"] and "<" not in body["error"]
    return body["error"]


# --- Data ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _app_context(app):
    """Listings committed here reach the search index (text search) through the current app."""
    with app.app_context():
        yield


@pytest.fixture
def leeds(db_session):
    return CouncilFactory(code=LEEDS, name="Leeds")


@pytest.fixture
def provider(db_session, leeds):
    org, staff, _ = provider_with_staff(leeds, name="Leeds Peer Support CIC")
    org.public_email = "hello@leedspeers.example.org"
    org.website = "https://leedspeers.example.org"
    db_session.commit()
    return org, staff


def make_listing(db_session, provider, council, status=ListingStatus.PUBLISHED, **overrides):
    org, staff = provider
    listing = create_listing(db_session, staff, org, listing_data(db_session, council, **overrides))
    listing.status = status.value
    db_session.commit()
    return listing


# --- The schemas themselves ---------------------------------------------------------------


def test_the_schema_checks_are_real():
    checker = Draft202012Validator.FORMAT_CHECKER
    for needed in ("uri", "date-time", "email", "uuid"):
        assert needed in checker.checkers, f"jsonschema cannot check {needed}: install its extras"
    check(COMPILED / "service.json", _read(EXAMPLES / "service_full.json"))
    check(COMPILED / "organization.json", _read(EXAMPLES / "organization_full.json"))
    check(SCHEMAS / "taxonomy.json", _read(EXAMPLES / "taxonomy.json"))
    broken = _read(EXAMPLES / "service_full.json")
    broken["cost_options"][0]["amount"] = "35"
    broken["last_modified"] = "yesterday"
    broken["url"] = "not a web address"
    errors = list(validator(COMPILED / "service.json").iter_errors(broken))
    assert len(errors) == 3
    with pytest.raises(ValidationError):
        validator(COMPILED / "service.json").validate({"id": "x", "name": "n", "status": "active"})


# --- Root ---------------------------------------------------------------------------------


def test_root_says_which_version_and_profile(client):
    body = get_json(client, f"{API}/")
    assert body["version"] == "HSDS-UK-3.0"
    root = _read(SCHEMAS / "openapi.json")["paths"]["/"]["get"]["responses"]["200"]
    schema = root["content"]["application/json"]["schema"]
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(body)
    assert body["openapi_url"].endswith("openapi.json")
    assert get_json(client, API) == body


# --- Services -----------------------------------------------------------------------------


def test_only_published_services_are_listed(client, db_session, provider, leeds):
    shown = make_listing(db_session, provider, leeds, name="Allotment group")
    also = make_listing(db_session, provider, leeds, name="Book club")
    for status in (
        ListingStatus.DRAFT,
        ListingStatus.SUBMITTED,
        ListingStatus.REJECTED,
        ListingStatus.HIDDEN,
    ):
        make_listing(db_session, provider, leeds, status=status, name=f"Not public {status}")

    body = get_json(client, f"{API}/services")
    check_page(body, COMPILED / "service_list.json")
    assert [s["id"] for s in body["contents"]] == [shown.uuid, also.uuid]
    assert body["total_items"] == 2
    first = body["contents"][0]
    assert first["status"] == "active"
    assert first["organization"]["name"] == "Leeds Peer Support CIC"
    assert first["organization_id"] == first["organization"]["id"]


def test_pages_add_up(client, db_session, provider, leeds):
    made = [make_listing(db_session, provider, leeds, name=f"Service {n}") for n in range(5)]

    pages = [get_json(client, f"{API}/services?per_page=2&page={n}") for n in (1, 2, 3, 4)]
    for body in pages:
        check_page(body, COMPILED / "service_list.json")
        assert body["total_items"] == 5
        assert body["total_pages"] == 3
    assert [b["page_number"] for b in pages] == [1, 2, 3, 4]
    assert [b["size"] for b in pages] == [2, 2, 1, 0]
    assert [b["first_page"] for b in pages] == [True, False, False, False]
    assert [b["last_page"] for b in pages] == [False, False, True, True]
    assert [b["empty"] for b in pages] == [False, False, False, True]
    assert pages[3]["contents"] == []
    ids = [s["id"] for body in pages for s in body["contents"]]
    assert ids == [listing.uuid for listing in made]

    whole = get_json(client, f"{API}/services")
    assert (whole["size"], whole["total_pages"], whole["last_page"]) == (5, 1, True)
    far = get_json(client, f"{API}/services?page={10**30}")
    assert far["empty"] is True and far["contents"] == []


def test_an_empty_directory_is_one_empty_answer(client):
    body = get_json(client, f"{API}/services")
    check_page(body, COMPILED / "service_list.json")
    assert body["total_items"] == 0
    assert body["total_pages"] == 0
    assert body["empty"] and body["first_page"] and body["last_page"]


@pytest.mark.parametrize(
    "query",
    [
        "page=-1",
        "page=0",
        "page=abc",
        "page=1.5",
        "page=%D9%A3",  # an Arabic-Indic digit three: int() would take it, we do not
        "per_page=0",
        "per_page=201",
        f"per_page={10**9}",
        "per_page=-5",
        "per_page=ten",
        "taxonomy_term_id=not-a-uuid",
        "taxonomy_id=42",
        "minimum_age=adult",
        "minimum_age=121",
        "maximum_age=-1",
        "maximum_age=6.5",
        "day=funday",
        "start_time=9am",
        "start_time=25:00",
        "end_time=17",
        "search=" + "x" * 201,
    ],
)
def test_bad_parameters_are_plain_json_400s(client, query):
    message = assert_error(client, f"{API}/services?{query}", 400)
    assert "must" in message or "not available" in message
    assert_error(client, f"{API}/service_at_locations?{query}", 400)


def test_search_matches_name_summary_and_description_ignoring_case(
    client, db_session, provider, leeds
):
    by_name = make_listing(db_session, provider, leeds, name="Swimming for confidence")
    by_summary = make_listing(
        db_session, provider, leeds, name="Pool sessions", summary="Gentle SWIMMING lessons."
    )
    by_description = make_listing(
        db_session, provider, leeds, name="Water club", description="We go swimming weekly."
    )
    make_listing(db_session, provider, leeds, name="Chess club", summary="Board games, 100% fun.")

    body = get_json(client, f"{API}/services?search=Swimming")
    assert {s["id"] for s in body["contents"]} == {
        by_name.uuid,
        by_summary.uuid,
        by_description.uuid,
    }
    # Punctuation alone is no words, as on the site: no filter.
    assert get_json(client, f"{API}/services?search=%25")["total_items"] == 4
    assert get_json(client, f"{API}/services?search=_")["total_items"] == 4
    assert get_json(client, f"{API}/services?search=%20%20")["total_items"] == 4  # blank: no filter


def test_taxonomy_filters_combine_with_search(client, db_session, provider, leeds):
    peer = category_ids(db_session, "peer-support")
    advocacy = category_ids(db_session, "advocacy")
    walking_peers = make_listing(
        db_session, provider, leeds, name="Walking peer group", category_ids=peer
    )
    walking_advocacy = make_listing(
        db_session, provider, leeds, name="Walking advocates", category_ids=advocacy
    )
    talking_peers = make_listing(
        db_session, provider, leeds, name="Talking peer group", category_ids=peer
    )
    terms = {t["name"]: t["id"] for t in get_json(client, f"{API}/taxonomy_terms")["contents"]}
    peer_id = terms["Peer support"]

    def ids(query: str) -> set[str]:
        return {s["id"] for s in get_json(client, f"{API}/services?{query}")["contents"]}

    assert ids(f"taxonomy_term_id={peer_id}") == {walking_peers.uuid, talking_peers.uuid}
    assert ids(f"taxonomy_term_id={peer_id.upper()}") == {walking_peers.uuid, talking_peers.uuid}
    assert ids(f"search=walking&taxonomy_term_id={peer_id}") == {walking_peers.uuid}
    assert ids(f"search=walking&taxonomy_id={oruk.TAXONOMY_ID}") == {
        walking_peers.uuid,
        walking_advocacy.uuid,
    }
    assert ids(f"taxonomy_id={uuid.uuid4()}") == set()
    assert ids(f"taxonomy_term_id={uuid.uuid4()}") == set()
    assert ids(f"search=talking&taxonomy_term_id={terms['Advocacy']}") == set()
    both = get_json(
        client, f"{API}/services?search=peer&taxonomy_term_id={peer_id}&per_page=1&page=2"
    )
    assert (both["total_items"], both["size"], both["last_page"]) == (2, 1, True)


def test_a_service_in_full(client, db_session, provider, leeds):
    org, staff = provider
    listing = make_listing(
        db_session,
        provider,
        leeds,
        name="Hearing voices group",
        category_ids=category_ids(db_session, "peer-support", "advocacy"),
        prices=(
            PriceOption(450, "session", "per person"),
            PriceOption(1999, "hour"),
            PriceOption(0, "free", "first visit"),
        ),
        postcode="LS1 1UR",
        radius_miles=5,
        languages=("English", "British Sign Language", "Urdu"),
        accessibility="Step-free entrance and a hearing loop.",
        contact_email="group@leedspeers.example.org",
        contact_phone="0113 496 0000",
        website="https://leedspeers.example.org/voices",
        times="Tuesdays 6pm to 8pm",
    )

    response = client.get(f"{API}/services/{listing.uuid}")
    body = get_json(client, f"{API}/services/{listing.uuid}")
    check(COMPILED / "service.json", body)
    assert body["id"] == listing.uuid
    assert body["name"] == "Hearing voices group"
    assert body["status"] == "active"
    assert body["email"] == "group@leedspeers.example.org"
    assert body["url"] == "https://leedspeers.example.org/voices"
    assert body["phones"] == [{"id": body["phones"][0]["id"], "number": "0113 496 0000"}]
    check(SCHEMAS / "phone.json", body["phones"][0])
    assert body["organization"]["email"] == "hello@leedspeers.example.org"
    assert body["organization"]["id"] == oruk.organisation_id(org.id)

    # Money: pounds as exact JSON numbers, built from pence without float arithmetic.
    exact = json.loads(response.get_data(as_text=True), parse_float=Decimal)
    amounts = [option["amount"] for option in exact["cost_options"]]
    assert amounts == [Decimal("4.5"), Decimal("19.99"), 0]
    assert [o["amount"] for o in body["cost_options"]] == [4.5, 19.99, 0]
    assert [o.get("option") for o in body["cost_options"]] == ["per person", None, "first visit"]
    assert [o["amount_description"] for o in body["cost_options"]] == [
        "per session",
        "per hour",
        "Free",
    ]

    assert {a["taxonomy_term"]["name"] for a in body["attributes"]} == {
        "Peer support",
        "Advocacy",
    }
    for attribute in body["attributes"]:
        assert attribute["link_id"] == listing.uuid
        assert attribute["taxonomy_term"]["taxonomy_id"] == oruk.TAXONOMY_ID
        assert attribute["taxonomy_term_id"] == attribute["taxonomy_term"]["id"]
    assert [(lang["name"], lang["code"]) for lang in body["languages"]] == [
        ("English", "en"),
        ("British Sign Language", "bfi"),
        ("Urdu", "ur"),
    ]
    areas = {area["name"]: area for area in body["service_areas"]}
    assert areas["Leeds"]["uri"].endswith(LEEDS)
    assert "Up to 5 miles from LS1 1UR" in areas
    assert body["schedules"][0]["description"] == "Tuesdays 6pm to 8pm"

    [at] = body["service_at_locations"]
    place = at["location"]
    assert place["location_type"] == "physical"
    assert place["external_identifier"] == "LS1 1UR"
    assert place["latitude"] == pytest.approx(53.8016, abs=0.002)  # Leeds Civic Hall
    assert place["longitude"] == pytest.approx(-1.5486, abs=0.002)
    assert place["accessibility"][0]["description"] == "Step-free entrance and a hearing loop."
    assert at["id"] == oruk.service_at_location_id(listing)

    # Private data never leaves: not the staff member's sign-in email.
    assert staff.email not in response.get_data(as_text=True)


DETAILS = {
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
    "access": "self_referral",
    "waiting_time": "About 2 weeks",
    "cqc_number": "1-123456789",
    "charity_number": "1123456",
    "company_number": "SC123456",
    "dbs_checked": True,
    "delivery_modes": ("in_person", "at_home"),
    "times": "Closed on bank holidays",
}


def test_the_details_council_directories_carry_are_in_their_oruk_places(
    client, db_session, provider, leeds
):
    org, _staff = provider
    listing = make_listing(db_session, provider, leeds, name="Voices group", **DETAILS)
    listing.last_checked_at = date(2026, 3, 3)
    db_session.commit()

    body = get_json(client, f"{API}/services/{listing.uuid}")
    check(COMPILED / "service.json", body)
    assert (body["minimum_age"], body["maximum_age"]) == (18, 65)
    assert body["assured_date"] == "2026-03-03"  # the day the provider last checked it
    assert body["eligibility_description"] == "People living in Leeds."
    assert body["application_process"] == "Contact the provider yourself (self-referral)"
    assert body["wait_time"] == "About 2 weeks"
    assert body["licenses"] == "Care Quality Commission (CQC) registration 1-123456789"
    assert "DBS" in body["accreditations"]
    weekly = [s for s in body["schedules"] if "freq" in s]
    assert [
        (s["freq"], s["interval"], s["byday"], s["opens_at"], s["closes_at"], s.get("notes"))
        for s in weekly
    ] == [
        ("WEEKLY", 1, "MO", "09:30:00", "17:00:00", None),
        ("WEEKLY", 1, "WE", "18:00:00", "20:00:00", "women only"),
    ]
    assert all(s["service_id"] == listing.uuid for s in body["schedules"])
    assert body["schedules"][-1]["description"] == "Closed on bank holidays"
    assert len({s["id"] for s in body["schedules"]}) == 3
    [address] = body["service_at_locations"][0]["location"]["addresses"]
    assert address == {
        "id": address["id"],
        "location_id": body["service_at_locations"][0]["location_id"],
        "address_1": "Civic Hall",
        "address_2": "Calverley Street",
        "city": "Leeds",
        "state_province": "England",
        "postal_code": "LS1 1UR",
        "country": "GB",
        "address_type": "physical",
    }
    identifiers = body["organization"]["organization_identifiers"]
    assert {(i["identifier_scheme"], i["identifier"]) for i in identifiers} == {
        ("GB-CHC", "1123456"),
        ("GB-COH", "SC123456"),
    }

    organisation = get_json(client, f"{API}/organizations/{oruk.organisation_id(org.id)}")
    check(COMPILED / "organization.json", organisation)
    assert organisation["organization_identifiers"] == identifiers
    sal = body["service_at_locations"][0]["id"]
    at = get_json(client, f"{API}/service_at_locations/{sal}")
    check(COMPILED / "service_at_location.json", at)
    assert at["location"]["addresses"] == [address]
    for row in get_json(client, f"{API}/services")["contents"]:
        check(COMPILED / "service_list.json", row)


def test_age_and_opening_filters(client, db_session, provider, leeds):
    adults = make_listing(db_session, provider, leeds, name="Adults", **DETAILS)
    young = make_listing(
        db_session,
        provider,
        leeds,
        name="Young people",
        minimum_age=16,
        maximum_age=25,
        opening_times=(OpeningTime(5, "10:00", "14:00"),),
    )
    make_listing(db_session, provider, leeds, name="No ages, no hours")

    def names(query: str) -> set[str]:
        body = get_json(client, f"{API}/services?{query}")
        check_page(body, COMPILED / "service_list.json")
        return {s["name"] for s in body["contents"]}

    assert adults.uuid and young.uuid
    assert names("minimum_age=18") == {"Adults"}
    assert names("minimum_age=16") == {"Adults", "Young people"}
    assert names("maximum_age=30") == {"Young people"}
    assert names("day=MO") == {"Adults"}
    assert names("day=saturday") == {"Young people"}
    assert names("start_time=09:00&end_time=17:00") == {"Adults", "Young people"}
    assert names("start_time=10:00") == {"Adults", "Young people"}  # 18:00 on Wednesday
    assert names("day=MO&start_time=10:00") == set()  # Monday opens at 09:30
    assert names("end_time=14:00") == {"Young people"}
    located = get_json(client, f"{API}/service_at_locations?day=WE")
    assert [row["service"]["name"] for row in located["contents"]] == ["Adults"]


def test_a_service_without_postcode_or_contacts_is_still_valid(client, db_session, provider, leeds):
    listing = make_listing(db_session, provider, leeds, name="Phone befriending")
    body = get_json(client, f"{API}/services/{listing.uuid}")
    check(COMPILED / "service.json", body)
    assert body["service_at_locations"] == []
    assert body["phones"] == []
    assert "email" not in body and "url" not in body


def test_unknown_unpublished_and_malformed_services_are_json_404s(
    client, db_session, provider, leeds
):
    draft = make_listing(db_session, provider, leeds, status=ListingStatus.DRAFT)
    hidden = make_listing(db_session, provider, leeds, status=ListingStatus.HIDDEN)
    for path in (
        f"/services/{uuid.uuid4()}",
        f"/services/{draft.uuid}",
        f"/services/{hidden.uuid}",
        "/services/not-a-uuid",
        "/services/" + "9" * 500,
        f"/service_at_locations/{uuid.uuid4()}",
        f"/organizations/{uuid.uuid4()}",
        "/organizations/nope",
        f"/taxonomies/{uuid.uuid4()}",
        f"/taxonomy_terms/{uuid.uuid4()}",
        "/taxonomy_terms/xyz",
        "/no/such/thing",
        "/services/",
    ):
        assert_error(client, f"{API}{path}", 404)


def test_the_api_is_read_only(client):
    for path in ("/services", "/", "", "/organizations", "/anything"):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            message = assert_error(client, f"{API}{path}", 405, method=method)
            assert "read-only" in message


def test_a_pending_edit_stays_out_of_the_api(client, db_session, provider, leeds):
    org, staff = provider
    listing = make_listing(db_session, provider, leeds, name="Original name")
    update_listing(
        db_session, staff, listing, listing_data(db_session, leeds, name="Edited, not approved")
    )
    db_session.commit()
    body = get_json(client, f"{API}/services/{listing.uuid}")
    assert body["name"] == "Original name"
    assert "Edited" not in json.dumps(get_json(client, f"{API}/services?search=edited"))


# --- Services at locations ----------------------------------------------------------------


@pytest.fixture
def spread(db_session, provider, leeds):
    """Listings in Leeds, Manchester and Bristol, and one with no postcode."""
    manchester = CouncilFactory(code=MANCHESTER, name="Manchester")
    bristol = CouncilFactory(code=BRISTOL, name="Bristol")
    return {
        "leeds": make_listing(
            db_session,
            provider,
            manchester,
            name="Civic Hall group",
            postcode="LS1 1UR",
            radius_miles=3,
        ),
        "manchester": make_listing(
            db_session, provider, leeds, name="Town Hall drop-in", postcode="M2 5DB"
        ),
        "bristol": make_listing(
            db_session, provider, bristol, name="Harbourside walks", postcode="BS1 5TR"
        ),
        "nowhere": make_listing(db_session, provider, leeds, name="Online chat"),
    }


def test_services_at_locations_list_located_services(client, spread):
    body = get_json(client, f"{API}/service_at_locations")
    check_page(body, COMPILED / "service_at_location_list.json")
    assert [sal["service"]["name"] for sal in body["contents"]] == [
        "Civic Hall group",
        "Harbourside walks",
        "Town Hall drop-in",
    ]
    for sal in body["contents"]:
        assert sal["location_id"] == sal["location"]["id"]
        assert sal["service_id"] == sal["service"]["id"]


def test_proximity_is_metres_from_the_postcode(client, spread):
    leeds_civic = postcodes.lookup("LS1 1UR").point
    town_hall = postcodes.lookup("LS1 3AD").point
    metres = postcodes.distance_miles(leeds_civic, town_hall) * postcodes.METRES_PER_MILE
    assert 250 < metres < 260

    def names(query: str) -> list[str]:
        body = get_json(client, f"{API}/service_at_locations?{query}")
        check_page(body, COMPILED / "service_at_location_list.json")
        return [sal["service"]["name"] for sal in body["contents"]]

    assert names(f"postcode=LS1+3AD&proximity={math.ceil(metres)}") == ["Civic Hall group"]
    assert names(f"postcode=ls13ad&proximity={math.floor(metres)}") == []
    assert names("postcode=LS1+3AD&proximity=100000") == ["Civic Hall group", "Town Hall drop-in"]
    assert names("postcode=LS1+3AD&proximity=1000000") == [
        "Civic Hall group",
        "Town Hall drop-in",
        "Harbourside walks",
    ]  # nearest first
    assert names("postcode=LS1+3AD&proximity=100000&search=drop-in") == ["Town Hall drop-in"]
    assert names("postcode=LS1+3AD&proximity=0.5") == []
    peer = get_json(client, f"{API}/taxonomy_terms")["contents"][1]["id"]
    assert names(f"postcode=M2+5DB&proximity=1000&taxonomy_term_id={peer}") == ["Town Hall drop-in"]


def test_postcode_alone_finds_services_covering_it(client, spread):
    def names(postcode: str) -> set[str]:
        query = postcode.replace(" ", "+")
        body = get_json(client, f"{API}/service_at_locations?postcode={query}")
        return {sal["service"]["name"] for sal in body["contents"]}

    # Civic Hall group: 3 miles around LS1 1UR. Town Hall drop-in: covers Leeds council.
    assert names("LS1 3AD") == {"Civic Hall group", "Town Hall drop-in"}
    assert names("LS15 0AE") == {"Town Hall drop-in"}  # Leeds, but 6 miles out
    assert names("M2 5DB") == {"Civic Hall group"}  # its council area is Manchester
    assert names("BS1 5TR") == {"Harbourside walks"}


@pytest.mark.parametrize(
    "query",
    [
        "postcode=ZZ99+9ZZ&proximity=1000",
        "postcode=not+a+postcode",
        "postcode=BT1+5GS&proximity=1000",
        "proximity=1000",
        "postcode=LS1+3AD&proximity=-5",
        "postcode=LS1+3AD&proximity=far",
        "postcode=LS1+3AD&proximity=1e6",
        "postcode=LS1+3AD&proximity=2000000",
    ],
)
def test_bad_postcode_or_proximity_is_a_plain_400(client, spread, query):
    message = assert_error(client, f"{API}/service_at_locations?{query}", 400)
    assert "postcode" in message.lower() or "proximity" in message


def test_a_service_at_a_location_in_full(client, spread):
    listing = spread["manchester"]
    body = get_json(client, f"{API}/service_at_locations/{oruk.service_at_location_id(listing)}")
    check(COMPILED / "service_at_location.json", body)
    assert body["service"]["id"] == listing.uuid
    assert body["location"]["external_identifier"] == "M2 5DB"
    assert body["location"]["latitude"] == pytest.approx(53.479, abs=0.003)
    assert body["location"]["longitude"] == pytest.approx(-2.245, abs=0.003)
    nowhere = spread["nowhere"]
    assert_error(client, f"{API}/service_at_locations/{oruk.service_at_location_id(nowhere)}", 404)


# --- Organisations ------------------------------------------------------------------------


def test_only_approved_providers_are_organisations(client, db_session, provider, leeds):
    org, staff = provider
    listing = make_listing(db_session, provider, leeds, name="Peer group")
    make_listing(db_session, provider, leeds, status=ListingStatus.DRAFT, name="Secret draft")
    pending = OrganisationFactory(
        name="Pending provider", status=ApprovalStatus.PENDING.value, public_email="p@example.org"
    )
    ulo = OrganisationFactory(name="A ULO", kind=OrganisationKind.ULO.value)
    StaffFactory(organisation=pending)

    body = get_json(client, f"{API}/organizations")
    check_page(body, COMPILED / "organization_list.json")
    assert [o["name"] for o in body["contents"]] == ["Leeds Peer Support CIC"]

    detail = get_json(client, f"{API}/organizations/{oruk.organisation_id(org.id)}")
    check(COMPILED / "organization.json", detail)
    assert detail["email"] == "hello@leedspeers.example.org"
    assert detail["website"] == "https://leedspeers.example.org"
    assert [s["id"] for s in detail["services"]] == [listing.uuid]
    assert "Secret draft" not in json.dumps(detail)
    assert staff.email not in json.dumps(detail)
    for hidden in (pending, ulo):
        assert_error(client, f"{API}/organizations/{oruk.organisation_id(hidden.id)}", 404)


# --- Taxonomies ---------------------------------------------------------------------------


def test_taxonomy_and_terms(client):
    body = get_json(client, f"{API}/taxonomies")
    check_page(body, SCHEMAS / "taxonomy.json")
    assert [t["id"] for t in body["contents"]] == [oruk.TAXONOMY_ID]
    assert get_json(client, f"{API}/taxonomies?page=2")["empty"] is True

    taxonomy = get_json(client, f"{API}/taxonomies/{oruk.TAXONOMY_ID}")
    check(SCHEMAS / "taxonomy.json", taxonomy)
    names = [term["name"] for term in taxonomy["taxonomy_terms"]]
    assert names[:2] == ["Personal assistants", "Peer support"]

    terms = get_json(client, f"{API}/taxonomy_terms?per_page=200")
    check_page(terms, SCHEMAS / "taxonomy_term.json")
    assert [t["name"] for t in terms["contents"]] == names
    assert terms["total_items"] == len(names)
    first = terms["contents"][0]
    term = get_json(client, f"{API}/taxonomy_terms/{first['id']}")
    check(SCHEMAS / "taxonomy_term.json", term)
    assert term == first
    assert term["taxonomy_id"] == oruk.TAXONOMY_ID


# --- Units --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pence", "text"),
    [
        (450, "4.5"),
        (1999, "19.99"),
        (1000, "10"),
        (5, "0.05"),
        (0, "0"),
        (2**31 - 1, "21474836.47"),
    ],
)
def test_pence_become_exact_pounds(pence, text):
    amount = oruk.pounds(pence)
    assert amount == Decimal(text)
    assert json.dumps(oruk.json_number(amount)) == text


def test_grid_references_become_latitude_and_longitude():
    # Ordnance Survey's worked example (A guide to coordinate systems in Great Britain, annex C).
    lat, lon = oruk.grid_to_osgb36(651409.903, 313177.270)
    assert lat == pytest.approx(52 + 39 / 60 + 27.2531 / 3600, abs=1e-7)
    assert lon == pytest.approx(1 + 43 / 60 + 4.5177 / 3600, abs=1e-7)
    # The same point in ETRS89 (WGS84 to within a metre): Helmert is good to about 5 metres.
    lat, lon = oruk.grid_to_wgs84(651409.903, 313177.270)
    assert lat == pytest.approx(52 + 39 / 60 + 28.8282 / 3600, abs=0.0001)  # about 11 m
    assert lon == pytest.approx(1 + 42 / 60 + 57.8663 / 3600, abs=0.00015)  # about 10 m


def test_derived_ids_are_stable_uuids():
    assert oruk.organisation_id(7) == oruk.organisation_id(7) != oruk.organisation_id(8)
    assert uuid.UUID(oruk.organisation_id(7)).version == 5
    assert uuid.UUID(oruk.TAXONOMY_ID).version == 5


def test_invalid_stored_contact_details_are_left_out(client, db_session, provider, leeds):
    listing = make_listing(db_session, provider, leeds, name="Odd website")
    listing.website = "www.no-scheme.example.org"  # an old row the form would now refuse
    listing.contact_email = "not an email"
    db_session.commit()
    body = get_json(client, f"{API}/services/{listing.uuid}")
    check(COMPILED / "service.json", body)
    assert "url" not in body and "email" not in body


def test_an_unexpected_failure_is_a_json_500(client, db_session, provider, leeds, monkeypatch):
    listing = make_listing(db_session, provider, leeds)

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(oruk, "service_full", broken)
    message = assert_error(client, f"{API}/services/{listing.uuid}", 500)
    assert "a bug" not in message


def test_preflight_and_head_get_the_cors_header(client):
    for method in ("OPTIONS", "HEAD"):
        response = client.open(f"{API}/services", method=method)
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"


# --- Filters for syncing, and the site's search engine --------------------------------------


def test_text_and_search_use_the_sites_search_engine(client, db_session, provider, leeds):
    counselling = make_listing(db_session, provider, leeds, name="Evening counselling")
    anxiety = make_listing(db_session, provider, leeds, name="Anxiety support group")
    make_listing(db_session, provider, leeds, name="Chess club")

    def ids(query: str) -> set[str]:
        return {s["id"] for s in get_json(client, f"{API}/services?{query}")["contents"]}

    assert ids("text=counseling") == {counselling.uuid}  # spelling variant, as on the site
    assert ids("search=counseling") == {counselling.uuid}
    assert ids("text=anxeity") == {anxiety.uuid}  # swapped letters
    assert ids("text=anxious") == {anxiety.uuid}  # synonym
    assert ids("text=therapy") == {counselling.uuid}
    located = {
        s["id"] for s in get_json(client, f"{API}/service_at_locations?text=therapy")["contents"]
    }
    assert located <= {counselling.uuid}
    message = assert_error(client, f"{API}/services?text=a&search=b", 400)
    assert "search and text" in message


def test_organization_id_filters_to_one_provider(client, db_session, provider, leeds):
    ours = make_listing(db_session, provider, leeds, name="Ours")
    other_org, other_staff, _ = provider_with_staff(leeds, name="Other provider")
    db_session.commit()
    theirs = make_listing(db_session, (other_org, other_staff), leeds, name="Theirs")
    org_ids = {o["name"]: o["id"] for o in get_json(client, f"{API}/organizations")["contents"]}

    def ids(query: str) -> set[str]:
        return {s["id"] for s in get_json(client, f"{API}/services?{query}")["contents"]}

    assert ids(f"organization_id={org_ids['Leeds Peer Support CIC']}") == {ours.uuid}
    assert ids(f"organization_id={org_ids['Other provider'].upper()}") == {theirs.uuid}
    assert ids(f"organization_id={uuid.uuid4()}") == set()
    message = assert_error(client, f"{API}/services?organization_id=42", 400)
    assert message.startswith("organization_id must be an id")


def test_modified_after_gives_only_listings_changed_since(client, db_session, provider, leeds):
    from datetime import UTC, datetime

    old = make_listing(db_session, provider, leeds, name="Old")
    new = make_listing(db_session, provider, leeds, name="New")
    old.updated_at = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    new.updated_at = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    db_session.commit()

    def ids(query: str) -> set[str]:
        return {s["id"] for s in get_json(client, f"{API}/services?{query}")["contents"]}

    assert ids("modified_after=2026-03-01T00:00:00Z") == {new.uuid}
    assert ids("modified_after=2026-03-01") == {new.uuid}  # a date: midnight UTC
    assert ids("modified_after=2026-06-01T10:30:00%2B02:00") == {new.uuid}  # 08:30 UTC
    assert ids("modified_after=2026-06-01T09:00:00Z") == set()  # after, not at
    assert ids("modified_after=2025-12-31T23:59:59Z") == {old.uuid, new.uuid}
    for bad in ("yesterday", "2026-13-01", "1" * 50):
        message = assert_error(client, f"{API}/services?modified_after={bad}", 400)
        assert message.startswith("modified_after must be a date and time")


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/services?organisation_id=x", "organisation_id"),
        ("/services?q=swimming", "q"),
        ("/service_at_locations?distance=5", "distance"),
        ("/organizations?search=peer", "search"),
        ("/taxonomy_terms?text=peer", "text"),
        ("/taxonomies?modified_after=2026-01-01", "modified_after"),
        (f"/taxonomies/{oruk.TAXONOMY_ID}?page=2", "page"),
        ("/?page=1", "page"),
    ],
)
def test_an_unknown_parameter_is_a_400_naming_it(client, path, named):
    message = assert_error(client, f"{API}{path}", 400)
    assert message.startswith(f"Unknown parameter {named}: it takes ")


def test_a_parameter_given_twice_is_a_400(client):
    message = assert_error(client, f"{API}/services?page=1&page=2", 400)
    assert message == "page is given more than once: give it once."


def test_every_parameter_the_profile_lists_is_taken(client):
    spec = _read(SCHEMAS / "openapi.json")
    shared = spec.get("components", {}).get("parameters", {})
    for path in ("/services", "/service_at_locations", "/taxonomies", "/taxonomy_terms"):
        for parameter in spec["paths"][path]["get"].get("parameters", []):
            if "$ref" in parameter:
                parameter = shared[parameter["$ref"].split("/")[-1]]
            name = parameter["name"]
            response = client.get(f"{API}{path}?{name}=")
            assert response.status_code == 200, (path, name, response.get_json())


def test_services_near_a_postcode_include_national_online_services(
    client, db_session, provider, leeds
):
    local = make_listing(db_session, provider, leeds, name="Leeds group", postcode="LS1 1UR")
    national = make_listing(
        db_session,
        provider,
        leeds,
        name="Online befriending calls",
        council_ids=(),
        delivery_modes=("online", "phone"),
        serves_nationally=True,
    )
    make_listing(db_session, provider, leeds, name="Leeds only, no place")

    def names(query: str) -> list[str]:
        return [s["name"] for s in get_json(client, f"{API}/services?{query}")["contents"]]

    # Bristol: outside Leeds, so only the service for all of England.
    assert names("postcode=BS1+5TR") == ["Online befriending calls"]
    assert names("postcode=LS1+3AD") == ["Leeds group", "Leeds only, no place", national.name]
    assert names("postcode=LS1+3AD&proximity=1000") == [local.name]
