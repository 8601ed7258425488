"""Our directory in the shapes of Open Referral UK (HSDS-UK 3.0): identifiers and serialisers.

Everything here is a pure function from models to JSON-ready dicts (no queries, no request), so
the API views stay thin. Shapes follow the profile's compiled schemas: ``service_list.json`` for
one row of ``GET /services``, ``service.json`` for one service, ``service_at_location*.json`` and
``organization*.json``; taxonomies follow ``taxonomy.json`` and ``taxonomy_term.json``.

Identifiers. ORUK wants a UUID for every object. Listings and categories carry their own
(``Listing.uuid``, ``Category.uuid``). Everything else is derived with ``uuid5`` from
``NAMESPACE`` and a stable key ("organisation:<id>", "location:<listing uuid>", ...), so the same
row always gets the same id and no table needs a new column. Organisations have no uuid column:
looking one up by its id means computing the uuid5 of each candidate (see the API module).

Only what the provider chose to publish on the public listing page appears here: the listing's
own contact email, phone and website, and the organisation's public email and website.
Optional fields with no value are left out (the schemas type them as strings, not null).

HSDS 3.0 fields the UK profile's compiled schemas do not list are added, as the profile allows
extra properties that do not conflict: ``phones`` on a service (HSDS 3.0 ``phone``),
``name``/``code`` on a language (HSDS 3.0 ``language``), and on a service
``eligibility_description``, ``application_process`` (self-referral or referral), ``wait_time``,
``address_2`` on an address
and ``licenses`` (the Care Quality Commission registration, which a regulated service needs to
operate). Where the profile has a place, it is used: ``minimum_age``/``maximum_age``,
``assured_date`` (the day the provider last checked the listing), ``accreditations`` (staff
who visit homes are DBS checked), ``schedules`` (one weekly RRULE-style entry per opening day),
the location's ``addresses``, and the organisation's ``organization_identifiers`` (charity and
company numbers, by their org-id.guide schemes).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from marketplace.db import as_utc
from marketplace.money import format_pence
from marketplace.organisations.models import Organisation
from marketplace.providers.models import (
    PRICE_UNIT_LABELS,
    WEEKDAY_CODES,
    Category,
    Listing,
    ListingOpeningTime,
    ListingPrice,
    PriceUnit,
)

JSON = dict[str, Any]

VERSION = "HSDS-UK-3.0"
PROFILE_URL = "https://github.com/OpenReferralUK/uk-profile"
OPENAPI_URL = "https://raw.githubusercontent.com/OpenReferralUK/uk-profile/main/schema/openapi.json"

# Fixed forever: changing it would change every derived identifier.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:marketplace:open-referral-uk")
TAXONOMY_ID = str(uuid.uuid5(NAMESPACE, "taxonomy:categories"))
TAXONOMY_NAME = "Personal budget marketplace categories"
TAXONOMY_DESCRIPTION = (
    "The kinds of support listed in the personal budget marketplace, "
    "such as peer support, advocacy and personal assistants."
)
TAXONOMY_VERSION = "1"
# Our own code for attribute.link_type: the term says what kind of service this is.
LINK_TYPE = "service_type"

# ISO 639-1 codes, or ISO 639-3 where 639-1 has none (HSDS 3.0 allows either).
LANGUAGE_CODES = {
    "English": "en",
    "British Sign Language": "bfi",
    "Arabic": "ar",
    "Bengali": "bn",
    "Cantonese": "yue",
    "Gujarati": "gu",
    "Hindi": "hi",
    "Kurdish": "ku",
    "Mandarin": "cmn",
    "Polish": "pl",
    "Portuguese": "pt",
    "Punjabi": "pa",
    "Romanian": "ro",
    "Somali": "so",
    "Spanish": "es",
    "Tigrinya": "ti",
    "Turkish": "tr",
    "Urdu": "ur",
    "Welsh": "cy",
}
ONS_AREA_URI = "http://statistics.data.gov.uk/id/statistical-geography/{code}"
# The directory covers English councils; ORUK's address needs a state or province.
STATE_PROVINCE = "England"
COUNTRY = "GB"
DBS_ACCREDITATION = "Staff who visit people's homes have a DBS (criminal record) check"


# --- Identifiers --------------------------------------------------------------------------


def derived_id(*parts: object) -> str:
    """A stable UUID for something that has no uuid column, from a key made of the parts."""
    return str(uuid.uuid5(NAMESPACE, ":".join(str(part) for part in parts)))


def organisation_id(org_id: int) -> str:
    """The public UUID of an organisation (derived from its database id)."""
    return derived_id("organisation", org_id)


def service_at_location_id(listing: Listing) -> str:
    """The UUID of a listing's one service_at_location (only listings with a postcode have one)."""
    return derived_id("service_at_location", listing.uuid)


def location_id(listing: Listing) -> str:
    """The UUID of the location a listing is based at."""
    return derived_id("location", listing.uuid)


def has_location(listing: Listing) -> bool:
    """True if the listing gave a postcode we placed on the grid: it has a service_at_location."""
    return listing.easting is not None and listing.northing is not None


# --- Values -------------------------------------------------------------------------------


def pounds(pence: int) -> Decimal:
    """Pence as an exact Decimal number of pounds: 450 -> Decimal('4.5')."""
    return Decimal(pence) / 100


def json_number(value: Decimal) -> int | float:
    """A Decimal as a JSON number whose text is exactly the Decimal's value.

    JSON has no decimal type and Flask's encoder writes a Decimal as a string, so a number has
    to be an int or a float. No arithmetic is done in floating point: the Decimal is converted
    once, and Python writes a float as the shortest text that reads back as the same float,
    which for any amount with at most 15 significant digits is exactly the decimal we started
    from (checked here, so a value that could not be written exactly fails loudly instead).
    """
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"{value} cannot be written exactly as a JSON number")
    return number


def timestamp(value: datetime) -> str:
    """An RFC 3339 date-time in UTC ("2025-01-31T09:30:00Z")."""
    return as_utc(value).isoformat(timespec="seconds").replace("+00:00", "Z")


def _web_address(value: str | None) -> str | None:
    """The address if it is an absolute http(s) URL (the uri format requires one), else None."""
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return value.strip()


def _email(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if "@" in value else None


def _without_none(data: JSON) -> JSON:
    return {key: value for key, value in data.items() if value is not None}


# --- OS grid to latitude and longitude ----------------------------------------------------

# Airy 1830 (OSGB36) and GRS80/WGS84 ellipsoids: semi-major and semi-minor axes in metres.
_AIRY = (6377563.396, 6356256.909)
_WGS84 = (6378137.0, 6356752.314245)
# National Grid projection: scale on the central meridian, true origin, false origin.
_F0 = 0.9996012717
_LAT0 = math.radians(49.0)
_LON0 = math.radians(-2.0)
_E0, _N0 = 400000.0, -100000.0
# Helmert transformation OSGB36 -> WGS84 (Ordnance Survey's published parameters, about 5 m).
_TX, _TY, _TZ = 446.448, -125.157, 542.060  # metres
_SCALE = -20.4894e-6
_RX, _RY, _RZ = (math.radians(seconds / 3600) for seconds in (0.1502, 0.2470, 0.8421))


def _meridional_arc(lat: float, a: float, b: float) -> float:
    n = (a - b) / (a + b)
    n2, n3 = n * n, n * n * n
    d, s = lat - _LAT0, lat + _LAT0
    return (
        b
        * _F0
        * (
            (1 + n + 5 / 4 * n2 + 5 / 4 * n3) * d
            - (3 * n + 3 * n2 + 21 / 8 * n3) * math.sin(d) * math.cos(s)
            + (15 / 8 * n2 + 15 / 8 * n3) * math.sin(2 * d) * math.cos(2 * s)
            - 35 / 24 * n3 * math.sin(3 * d) * math.cos(3 * s)
        )
    )


def grid_to_osgb36(easting: float, northing: float) -> tuple[float, float]:
    """OS grid reference (metres) -> OSGB36 (latitude, longitude) in degrees.

    The inverse Transverse Mercator projection as given in Ordnance Survey's "A guide to
    coordinate systems in Great Britain", annex C.
    """
    a, b = _AIRY
    e2 = (a * a - b * b) / (a * a)
    lat = _LAT0
    arc = 0.0
    for _ in range(100):  # converges in a handful of steps
        lat += (northing - _N0 - arc) / (a * _F0)
        arc = _meridional_arc(lat, a, b)
        if abs(northing - _N0 - arc) < 0.00001:  # 0.01 mm
            break
    sin_lat = math.sin(lat)
    nu = a * _F0 / math.sqrt(1 - e2 * sin_lat * sin_lat)
    rho = a * _F0 * (1 - e2) / (1 - e2 * sin_lat * sin_lat) ** 1.5
    eta2 = nu / rho - 1
    tan = math.tan(lat)
    t2, t4, t6 = tan**2, tan**4, tan**6
    sec = 1 / math.cos(lat)
    vii = tan / (2 * rho * nu)
    viii = tan / (24 * rho * nu**3) * (5 + 3 * t2 + eta2 - 9 * t2 * eta2)
    ix = tan / (720 * rho * nu**5) * (61 + 90 * t2 + 45 * t4)
    x = sec / nu
    xi = sec / (6 * nu**3) * (nu / rho + 2 * t2)
    xii = sec / (120 * nu**5) * (5 + 28 * t2 + 24 * t4)
    xiia = sec / (5040 * nu**7) * (61 + 662 * t2 + 1320 * t4 + 720 * t6)
    de = easting - _E0
    latitude = lat - vii * de**2 + viii * de**4 - ix * de**6
    longitude = _LON0 + x * de - xi * de**3 + xii * de**5 - xiia * de**7
    return math.degrees(latitude), math.degrees(longitude)


def _to_cartesian(lat: float, lon: float, ellipsoid: tuple[float, float]) -> tuple[float, ...]:
    a, b = ellipsoid
    e2 = (a * a - b * b) / (a * a)
    nu = a / math.sqrt(1 - e2 * math.sin(lat) ** 2)
    return (
        nu * math.cos(lat) * math.cos(lon),
        nu * math.cos(lat) * math.sin(lon),
        (1 - e2) * nu * math.sin(lat),
    )


def _from_cartesian(
    x: float, y: float, z: float, ellipsoid: tuple[float, float]
) -> tuple[float, float]:
    a, b = ellipsoid
    e2 = (a * a - b * b) / (a * a)
    p = math.hypot(x, y)
    lat = math.atan2(z, p * (1 - e2))
    for _ in range(10):
        nu = a / math.sqrt(1 - e2 * math.sin(lat) ** 2)
        next_lat = math.atan2(z + e2 * nu * math.sin(lat), p)
        if abs(next_lat - lat) < 1e-12:
            lat = next_lat
            break
        lat = next_lat
    return lat, math.atan2(y, x)


def grid_to_wgs84(easting: float, northing: float) -> tuple[float, float]:
    """OS grid reference (metres) -> WGS84 (latitude, longitude) in degrees, to about 5 metres.

    Inverse Transverse Mercator onto OSGB36, then a Helmert transformation to WGS84: good
    enough for showing a service on a map, not for surveying (that needs OSTN15).
    """
    lat, lon = grid_to_osgb36(easting, northing)
    x1, y1, z1 = _to_cartesian(math.radians(lat), math.radians(lon), _AIRY)
    s1 = 1 + _SCALE
    x2 = _TX + s1 * x1 - _RZ * y1 + _RY * z1
    y2 = _TY + _RZ * x1 + s1 * y1 - _RX * z1
    z2 = _TZ - _RY * x1 + _RX * y1 + s1 * z1
    lat2, lon2 = _from_cartesian(x2, y2, z2, _WGS84)
    return math.degrees(lat2), math.degrees(lon2)


# --- Taxonomy -----------------------------------------------------------------------------


def taxonomy_term(category: Category) -> JSON:
    """A category as an ORUK taxonomy_term."""
    return {
        "id": category.uuid,
        "name": category.name,
        "description": category.description or "",
        "taxonomy": TAXONOMY_NAME,
        "taxonomy_id": TAXONOMY_ID,
        "term": category.name,
    }


def taxonomy(terms: Iterable[Category] | None = None) -> JSON:
    """Our one taxonomy; with its terms when they are given (the single-taxonomy view)."""
    data: JSON = {
        "id": TAXONOMY_ID,
        "name": TAXONOMY_NAME,
        "description": TAXONOMY_DESCRIPTION,
        "version": TAXONOMY_VERSION,
    }
    if terms is not None:
        data["taxonomy_terms"] = [taxonomy_term(category) for category in terms]
    return data


def _attribute(listing: Listing, category: Category) -> JSON:
    return {
        "id": derived_id("attribute", listing.uuid, category.uuid),
        "link_id": listing.uuid,
        "link_type": LINK_TYPE,
        "link_entity": "service",
        "taxonomy_term_id": category.uuid,
        "taxonomy_term": taxonomy_term(category),
    }


# --- Organisations ------------------------------------------------------------------------


def organisation_summary(org: Organisation) -> JSON:
    """An organisation's one-to-one fields (compiled organization_list.json).

    Contact details and description are public only once an admin has approved the
    organisation, as on its public page.
    """
    data: JSON = {"id": organisation_id(org.id), "name": org.name, "description": ""}
    if org.is_approved:
        data["description"] = org.description or ""
        data["email"] = _email(org.public_email)
        data["website"] = _web_address(org.website)
    return _without_none(data)


def organisation_full(org: Organisation, listings: Sequence[Listing]) -> JSON:
    """An organisation with its published services (compiled organization.json)."""
    data = organisation_summary(org)
    data["organization_identifiers"] = organisation_identifiers(org.id, listings)
    data["services"] = [service_full(listing, with_organisation=False) for listing in listings]
    return data


# --- Services -----------------------------------------------------------------------------


def _description(listing: Listing) -> str:
    parts = [listing.summary.strip(), listing.description.strip()]
    return "\n\n".join(part for part in parts if part)


def _price_text(price: ListingPrice) -> str:
    if price.unit == PriceUnit.FREE.value or price.amount_pence == 0:
        text = "Free"
    else:
        text = (
            f"{format_pence(price.amount_pence)} {PRICE_UNIT_LABELS.get(PriceUnit(price.unit), '')}"
        )
    return f"{text.strip()} ({price.label})" if price.label else text.strip()


def _fees(listing: Listing) -> str | None:
    return "; ".join(_price_text(price) for price in listing.prices) or None


def service_summary(listing: Listing) -> JSON:
    """A listing's one-to-one fields and its organisation (compiled service_list.json)."""
    return _without_none(
        {
            "id": listing.uuid,
            "organization_id": organisation_id(listing.organisation_id),
            "name": listing.name,
            "description": _description(listing),
            "url": _web_address(listing.website),
            "email": _email(listing.contact_email),
            "status": "active",
            "fees": _fees(listing),
            "accreditations": DBS_ACCREDITATION
            if listing.visits_homes and listing.dbs_checked
            else None,
            "minimum_age": listing.minimum_age,
            "maximum_age": listing.maximum_age,
            "assured_date": listing.last_checked_at.isoformat()
            if listing.last_checked_at
            else None,
            "eligibility_description": listing.eligibility or None,
            "application_process": listing.access_label or None,
            "wait_time": listing.waiting_time or None,
            "licenses": f"Care Quality Commission (CQC) registration {listing.cqc_number}"
            if listing.cqc_number
            else None,
            "last_modified": timestamp(listing.updated_at),
            "organization": organisation_summary(listing.organisation),
        }
    )


def organisation_identifiers(org_id: int, listings: Iterable[Listing]) -> list[JSON]:
    """The charity and company numbers the organisation's listings give, each once, by their
    org-id.guide schemes (Charity Commission, OSCR, Charity Commission NI, Companies House)."""
    found: dict[tuple[str, str], str] = {}
    for listing in listings:
        if listing.charity_number:
            number = listing.charity_number
            if number.startswith("SC"):
                scheme = "GB-SC"
            elif number.startswith("NI"):
                scheme = "GB-NIC"
            else:
                scheme = "GB-CHC"
            found.setdefault((scheme, number), "Charity number")
        if listing.company_number:
            found.setdefault(("GB-COH", listing.company_number), "Company number")
    return [
        {
            "id": derived_id("organization_identifier", org_id, scheme, number),
            "organization_id": organisation_id(org_id),
            "identifier_scheme": scheme,
            "identifier_type": kind,
            "identifier": number,
        }
        for (scheme, number), kind in found.items()
    ]


def _cost_option(listing: Listing, price: ListingPrice) -> JSON:
    free = price.unit == PriceUnit.FREE.value
    unit_label = PRICE_UNIT_LABELS.get(PriceUnit(price.unit), price.unit)
    return _without_none(
        {
            "id": derived_id("cost_option", listing.uuid, price.id),
            "service_id": listing.uuid,
            "option": price.label or None,
            "amount": json_number(pounds(0 if free else price.amount_pence)),
            "amount_description": "Free" if free else unit_label,
        }
    )


def _service_areas(listing: Listing) -> list[JSON]:
    areas = [
        {
            "id": derived_id("service_area", listing.uuid, council.code),
            "service_id": listing.uuid,
            "name": council.name,
            "service_area": council.name,
            "uri": ONS_AREA_URI.format(code=council.code),
        }
        for council in listing.councils
    ]
    if has_location(listing) and listing.radius_miles:
        text = f"Up to {listing.radius_miles} miles from {listing.postcode}"
        areas.append(
            {
                "id": derived_id("service_area", listing.uuid, "radius"),
                "service_id": listing.uuid,
                "name": text,
                "service_area": text,
            }
        )
    return areas


def _languages(listing: Listing) -> list[JSON]:
    return [
        _without_none(
            {
                "id": derived_id("language", listing.uuid, name),
                "service_id": listing.uuid,
                "name": name,
                "code": LANGUAGE_CODES.get(name),
            }
        )
        for name in listing.language_list
    ]


def _phones(listing: Listing) -> list[JSON]:
    if not listing.contact_phone:
        return []
    return [{"id": derived_id("phone", listing.uuid), "number": listing.contact_phone.strip()}]


def _weekly(listing: Listing, opening: ListingOpeningTime) -> JSON:
    """One opening day as an RFC 5545-style weekly schedule."""
    return _without_none(
        {
            "id": derived_id("schedule", listing.uuid, opening.weekday, f"{opening.opens:%H:%M}"),
            "service_id": listing.uuid,
            "freq": "WEEKLY",
            "interval": 1,
            "byday": WEEKDAY_CODES[opening.weekday],
            "opens_at": f"{opening.opens:%H:%M:%S}",
            "closes_at": f"{opening.closes:%H:%M:%S}",
            "description": f"{opening.day_name}, {opening.hours}",
            "notes": opening.note or None,
        }
    )


def _schedules(listing: Listing) -> list[JSON]:
    schedules = [_weekly(listing, opening) for opening in listing.opening_times]
    if listing.times.strip():
        schedules.append(
            {
                "id": derived_id("schedule", listing.uuid),
                "service_id": listing.uuid,
                "description": listing.times.strip(),
            }
        )
    return schedules


def _addresses(listing: Listing) -> list[JSON]:
    """The street address, when the provider gave one (ORUK needs its first line and town)."""
    if not listing.address_line_1 or not listing.town:
        return []
    return [
        _without_none(
            {
                "id": derived_id("address", listing.uuid),
                "location_id": location_id(listing),
                "address_1": listing.address_line_1,
                "address_2": listing.address_line_2 or None,
                "city": listing.town,
                "state_province": STATE_PROVINCE,
                "postal_code": listing.postcode,
                "country": COUNTRY,
                "address_type": "physical",
            }
        )
    ]


def location(listing: Listing, *, full: bool = True) -> JSON:
    """Where a listing is based: its postcode's centre, as latitude and longitude, and its
    street address when the provider gave one (the postcode is the external identifier).
    """
    if listing.easting is None or listing.northing is None:
        raise ValueError("This listing has no location; check has_location() first")
    latitude, longitude = grid_to_wgs84(listing.easting, listing.northing)
    reach = f" and works up to {listing.radius_miles} miles around" if listing.radius_miles else ""
    data: JSON = {
        "id": location_id(listing),
        "location_type": "physical",
        "name": listing.address_line_1 or listing.postcode,
        "description": f"Based at postcode {listing.postcode}{reach}.",
        "latitude": round(latitude, 6),
        "longitude": round(longitude, 6),
        "external_identifier": listing.postcode,
        "external_identifier_type": "postcode",
    }
    if full:
        data["addresses"] = _addresses(listing)
        data["accessibility"] = (
            [
                {
                    "id": derived_id("accessibility", listing.uuid),
                    "location_id": location_id(listing),
                    "description": listing.accessibility.strip(),
                }
            ]
            if listing.accessibility.strip()
            else []
        )
    return data


def _service_at_location_link(listing: Listing) -> JSON:
    return {
        "id": service_at_location_id(listing),
        "service_id": listing.uuid,
        "location_id": location_id(listing),
        "location": location(listing),
    }


def service_full(listing: Listing, *, with_organisation: bool = True) -> JSON:
    """A listing with everything public about it (compiled service.json)."""
    data = service_summary(listing)
    if not with_organisation:
        data.pop("organization")
    else:
        data["organization"]["organization_identifiers"] = organisation_identifiers(
            listing.organisation_id, [listing]
        )
    data.update(
        {
            "schedules": _schedules(listing),
            "service_areas": _service_areas(listing),
            "service_at_locations": (
                [_service_at_location_link(listing)] if has_location(listing) else []
            ),
            "languages": _languages(listing),
            "funding": [],
            "cost_options": [_cost_option(listing, price) for price in listing.prices],
            "contacts": [],
            "phones": _phones(listing),
            "attributes": [_attribute(listing, category) for category in listing.categories],
        }
    )
    return data


def service_at_location_summary(listing: Listing) -> JSON:
    """One row of GET /service_at_locations (compiled service_at_location_list.json)."""
    return {
        "id": service_at_location_id(listing),
        "service_id": listing.uuid,
        "location_id": location_id(listing),
        "location": location(listing, full=False),
        "service": service_summary(listing),
    }


def service_at_location_full(listing: Listing) -> JSON:
    """A service at its location, both in full (compiled service_at_location.json)."""
    return {
        "id": service_at_location_id(listing),
        "service_id": listing.uuid,
        "location_id": location_id(listing),
        "location": location(listing),
        "service": service_full(listing),
    }


# --- Pages --------------------------------------------------------------------------------


def page(contents: list[JSON], total_items: int, page_number: int, per_page: int) -> JSON:
    """ORUK's paginated wrapper. ``size`` is the number of items on this page."""
    total_pages = math.ceil(total_items / per_page)
    return {
        "total_items": total_items,
        "total_pages": total_pages,
        "page_number": page_number,
        "size": len(contents),
        "first_page": page_number == 1,
        "last_page": page_number >= total_pages,
        "empty": not contents,
        "contents": contents,
    }
