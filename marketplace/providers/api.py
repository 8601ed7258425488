"""The read-only Open Referral UK (HSDS-UK 3.0) API under /api/v1/.

Endpoints (all GET, no API key, ``Access-Control-Allow-Origin: *`` on every response):

- ``/``: the API's version and profile.
- ``/services`` and ``/services/<id>``: published listings only.
- ``/service_at_locations`` and ``/service_at_locations/<id>``: published listings that gave a
  postcode (one location each), filterable by ``postcode`` and ``proximity``.
- ``/organizations`` and ``/organizations/<id>``: approved provider organisations.
- ``/taxonomies``, ``/taxonomies/<id>``, ``/taxonomy_terms``, ``/taxonomy_terms/<id>``: our
  categories, one taxonomy.

Lists are paginated the ORUK way: ``page`` (from 1, default 1) and ``per_page`` (1 to 200,
default 50) in; ``total_items``, ``total_pages``, ``page_number``, ``size``, ``first_page``,
``last_page``, ``empty`` and ``contents`` out. A page past the end is an empty page, not an error.
A ``per_page`` over 200 is refused (400), not quietly cut down, so a client never mistakes a
short page for the whole result.

List filters, combined with AND: ``search`` or its other name ``text`` (the site's own search
engine: the same words, synonyms and typo tolerance as /services on the site),
``taxonomy_term_id`` (a category's id), ``taxonomy_id`` (our one taxonomy's id),
``organization_id`` (a provider's id), ``modified_after`` (an ISO 8601 date and time: listings
changed since, for syncing); and ``postcode`` with optional ``proximity`` in metres, as the
profile's OpenAPI file defines them for service_at_locations (and /services takes them too).
With ``proximity``: locations within that many metres of the postcode's centre. Without it:
services whose service area covers the postcode (one of their council areas, within the distance
they travel from their base, or all of England). A parameter an endpoint does not take, or one
given twice, is a 400 that names it. The profile's age and opening filters, as its OpenAPI file
words them: ``minimum_age`` (services whose minimum age is at least this), ``maximum_age``
(whose maximum age is at most this), and ``day`` (MO..SU or a day's name), ``start_time``
(opening at or after, HH:MM) and ``end_time`` (closing at or before), which one opening day of
the service must meet together. A service that states no ages or opening times matches none of
them.

Errors are JSON ``{"error": "<plain English>"}``: 400 for a bad parameter, 404 for an unknown id
(a malformed id is simply unknown), 405 for anything but GET; never an HTML page. Unmatched
paths under /api/v1/ land on a catch-all route in this blueprint so they get the same treatment.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    or_,
    select,
)
from werkzeug.exceptions import HTTPException

from marketplace.extensions import csrf, db
from marketplace.organisations.models import ApprovalStatus, Organisation, OrganisationKind
from marketplace.places import postcodes
from marketplace.places.models import Council
from marketplace.providers import oruk
from marketplace.providers.indexing import get_index
from marketplace.providers.models import (
    WEEKDAY_CODES,
    WEEKDAYS,
    Category,
    Listing,
    ListingOpeningTime,
    ListingStatus,
    listing_categories,
    listing_councils,
)
from marketplace.providers.services import MAX_AGE

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Nothing here changes state, and other methods only ever get a JSON 405: no CSRF token needed.
csrf.exempt(bp)

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_SEARCH_LENGTH = 200
MAX_PROXIMITY_METRES = 1_500_000  # further than Land's End to John o' Groats
AGE_AND_OPENING_FILTERS = ("minimum_age", "maximum_age", "day", "start_time", "end_time")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?", re.ASCII)
PAGING = ("page", "per_page")
# What each list takes: the profile's OpenAPI parameters for it, plus text (another name for
# search), organization_id and modified_after for syncing, and a place for /services too.
# Anything else is refused, naming it: a filter silently ignored returns wrong results.
SERVICE_FILTERS = (
    "search",
    "text",
    "taxonomy_term_id",
    "taxonomy_id",
    "organization_id",
    "modified_after",
    "postcode",
    "proximity",
    *AGE_AND_OPENING_FILTERS,
)
PARAMETERS: dict[str, tuple[str, ...]] = {
    "api.services": (*PAGING, *SERVICE_FILTERS),
    "api.service_at_locations": (*PAGING, *SERVICE_FILTERS),
    "api.organizations": PAGING,
    "api.taxonomies": PAGING,
    "api.taxonomy_terms": PAGING,
}
_WHOLE_NUMBER = re.compile(r"[0-9]{1,100}", re.ASCII)
_METRES = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,6})?", re.ASCII)
_READ_METHODS = ("GET", "HEAD", "OPTIONS")

T = TypeVar("T")
# Select[Any]: SQLAlchemy 2.0 spells a one-entity select Select[tuple[X]] and 2.1 Select[X].
ListingQuery = Select[Any]


class ApiError(Exception):
    """An error the client can fix or should know about, with a plain-English message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --- Responses and errors -----------------------------------------------------------------


def _error(message: str, status: int) -> tuple[Response, int]:
    return jsonify({"error": message}), status


@bp.after_request
def _cors(response: Response) -> Response:
    """Anyone may read the directory from a browser on any site (ORUK compliance rule)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> tuple[Response, int]:
    return _error(error.message, error.status)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[Response, int]:
    db.session.rollback()
    code = error.code or 500
    messages = {
        404: "There is nothing at this address.",
        405: "This API is read-only: use GET.",
    }
    response, status = _error(messages.get(code, error.description or "Bad request."), code)
    if code == 405:
        response.headers["Allow"] = ", ".join(_READ_METHODS)
    return response, status


@bp.errorhandler(postcodes.PostcodeDataError)
def _postcode_data_error(error: postcodes.PostcodeDataError) -> tuple[Response, int]:
    current_app.logger.error("Postcode data unavailable for the API: %s", error)
    return _error("Searching by postcode is not available right now. Try again later.", 503)


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> tuple[Response, int]:
    db.session.rollback()
    current_app.logger.exception("Unexpected error in the Open Referral API", exc_info=error)
    return _error("Something went wrong on our side. Try again later.", 500)


# --- Parameters ---------------------------------------------------------------------------


@bp.before_request
def _refuse_unknown_parameters() -> None:
    if request.endpoint == "api.not_found":
        return  # a JSON 404 or 405 says more than a complaint about its parameters
    allowed = PARAMETERS.get(request.endpoint or "", ())
    for name in request.args:
        if name not in allowed:
            takes = f"it takes {', '.join(allowed)}" if allowed else "it takes none"
            raise ApiError(f"Unknown parameter {name}: {takes}.")
        if len(request.args.getlist(name)) > 1:
            raise ApiError(f"{name} is given more than once: give it once.")


def _arg(name: str) -> str | None:
    """A query parameter, stripped; None when absent or blank."""
    value = request.args.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _whole_number(name: str, default: int, low: int, high: int | None = None) -> int:
    raw = _arg(name)
    if raw is None:
        return default
    limit = f"from {low} to {high}" if high is not None else f"from {low} upwards"
    if not _WHOLE_NUMBER.fullmatch(raw):
        raise ApiError(f"{name} must be a whole number {limit}.")
    value = int(raw)
    if value < low or (high is not None and value > high):
        raise ApiError(f"{name} must be a whole number {limit}.")
    return value


def _uuid_arg(name: str) -> str | None:
    raw = _arg(name)
    if raw is None:
        return None
    canonical = _canonical_uuid(raw)
    if canonical is None:
        raise ApiError(f"{name} must be an id (a UUID such as {oruk.TAXONOMY_ID}).")
    return canonical


def _canonical_uuid(text: str) -> str | None:
    """The UUID in its usual lower-case form, or None if the text is not one."""
    if len(text) > 45:
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def _paging() -> tuple[int, int]:
    page = _whole_number("page", 1, 1)
    per_page = _whole_number("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    return page, per_page


def _clock_arg(name: str) -> time | None:
    raw = _arg(name)
    if raw is None:
        return None
    match = _CLOCK.fullmatch(raw)
    if match is None:
        raise ApiError(f"{name} must be a 24-hour time such as 09:30 or 17:00:00.")
    return time(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))


def _day_arg() -> int | None:
    raw = _arg("day")
    if raw is None:
        return None
    days = {code.lower(): n for n, code in enumerate(WEEKDAY_CODES)}
    days |= {name.lower(): n for n, name in enumerate(WEEKDAYS)}
    if raw.lower() not in days:
        raise ApiError("day must be a day of the week: MO, TU, WE, TH, FR, SA or SU.")
    return days[raw.lower()]


def _age_and_opening_filters(query: ListingQuery) -> ListingQuery:
    minimum_age = _whole_number("minimum_age", -1, 0, MAX_AGE)
    if minimum_age >= 0:
        query = query.where(Listing.minimum_age >= minimum_age)
    maximum_age = _whole_number("maximum_age", -1, 0, MAX_AGE)
    if maximum_age >= 0:
        query = query.where(Listing.maximum_age <= maximum_age)
    day, opens, closes = _day_arg(), _clock_arg("start_time"), _clock_arg("end_time")
    if day is None and opens is None and closes is None:
        return query
    opening = exists().where(ListingOpeningTime.listing_id == Listing.id)
    if day is not None:
        opening = opening.where(ListingOpeningTime.weekday == day)
    if opens is not None:
        opening = opening.where(ListingOpeningTime.opens >= opens)
    if closes is not None:
        opening = opening.where(ListingOpeningTime.closes <= closes)
    return query.where(opening)


# --- Queries ------------------------------------------------------------------------------


def _published() -> ListingQuery:
    return select(Listing).where(Listing.status == ListingStatus.PUBLISHED.value)


def _service_filters(query: ListingQuery) -> ListingQuery:
    """Apply the request's text, taxonomy, organisation, modified_after, age and opening
    filters (AND)."""
    query = _age_and_opening_filters(query)
    if _arg("search") is not None and _arg("text") is not None:
        raise ApiError("search and text are two names for one filter: give one of them.")
    name = "text" if _arg("text") is not None else "search"
    text = _arg(name)
    if text is not None:
        if len(text) > MAX_SEARCH_LENGTH:
            raise ApiError(f"{name} must be {MAX_SEARCH_LENGTH} characters or fewer.")
        # The site's own search engine, so the API finds what the site finds (synonyms and
        # typos included). Inline numbers: a common word can match more listings than a
        # database takes bound parameters.
        found = get_index().matching_ids(text)
        query = query.where(
            Listing.id.in_(bindparam("text_matches", found, expanding=True, literal_execute=True))
        )
    org_id = _uuid_arg("organization_id")
    if org_id is not None:
        query = query.where(Listing.organisation_id == (_provider_id(org_id) or -1))
    modified_after = _timestamp_arg("modified_after")
    if modified_after is not None:
        query = query.where(Listing.updated_at > modified_after)
    term_id = _uuid_arg("taxonomy_term_id")
    if term_id is not None:
        query = query.where(
            exists()
            .where(listing_categories.c.listing_id == Listing.id)
            .where(listing_categories.c.category_id == Category.id)
            .where(Category.uuid == term_id)
        )
    taxonomy_id = _uuid_arg("taxonomy_id")
    if taxonomy_id is not None:
        if taxonomy_id != oruk.TAXONOMY_ID:
            query = query.where(false())
        else:
            query = query.where(exists().where(listing_categories.c.listing_id == Listing.id))
    return query


def _timestamp_arg(name: str) -> datetime | None:
    """An ISO 8601 date and time (UTC when it gives no offset), as an aware datetime."""
    raw = _arg(name)
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw) if len(raw) <= 40 else None
    except ValueError:
        when = None
    if when is None:
        raise ApiError(f"{name} must be a date and time like 2026-12-01T09:00:00Z.")
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _provider_id(org_uuid: str) -> int | None:
    """The id of the approved provider with this derived UUID, if there is one."""
    try:
        return _approved_provider(org_uuid).id
    except ApiError:
        return None


def _squared_distance(easting: int, northing: int) -> Any:
    """SQL for the squared grid distance in metres from a point (64-bit: squares overflow int)."""
    dx = cast(Listing.easting - easting, BigInteger)
    dy = cast(Listing.northing - northing, BigInteger)
    return dx * dx + dy * dy


def _near_filters(
    query: ListingQuery,
) -> tuple[ListingQuery, Any | None]:
    """Apply postcode and proximity from the request; also the distance to order by, if any."""
    raw_proximity = _arg("proximity")
    raw_postcode = _arg("postcode")
    if raw_postcode is None:
        if raw_proximity is not None:
            raise ApiError("proximity needs a postcode to measure from.")
        return query, None
    try:
        place = postcodes.lookup(raw_postcode)
    except postcodes.UnknownPostcode as error:
        message = str(error)
        raise ApiError(message if message.endswith(".") else f"{message}.") from error
    distance = _squared_distance(place.easting, place.northing)
    if raw_proximity is not None:
        metres = _metres(raw_proximity)
        reach = math.ceil(metres)
        query = query.where(
            Listing.easting.between(place.easting - reach, place.easting + reach),
            Listing.northing.between(place.northing - reach, place.northing + reach),
            # Grid distances squared are whole numbers, so comparing with the floor is exact.
            distance <= int(metres * metres),
        )
        return query, distance
    in_council = exists().where(
        listing_councils.c.listing_id == Listing.id,
        listing_councils.c.council_id == Council.id,
        Council.code == place.council_code,
    )
    in_radius = and_(
        Listing.radius_miles.is_not(None),
        Listing.easting.is_not(None),
        Listing.northing.is_not(None),
        distance <= Listing.radius_miles * Listing.radius_miles * postcodes.METRES_PER_MILE**2,
    )
    # Services for all of England are offered online or by phone to every postcode.
    return query.where(or_(in_council, in_radius, Listing.serves_nationally)), distance


def _metres(raw: str) -> Decimal:
    message = (
        "proximity must be a distance in metres, a number from 0 to "
        f"{MAX_PROXIMITY_METRES:,}, like 1600."
    )
    if not _METRES.fullmatch(raw):
        raise ApiError(message)
    try:
        metres = Decimal(raw)
    except InvalidOperation as error:  # pragma: no cover - the pattern admits only numbers
        raise ApiError(message) from error
    if metres > MAX_PROXIMITY_METRES:
        raise ApiError(message)
    return metres


def _page_of(
    query: Select[Any],
    order: Sequence[Any],
    serialise: Callable[[T], dict[str, Any]],
) -> Response:
    """Run a filtered query one page at a time and wrap it in ORUK's page object."""
    page, per_page = _paging()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    total = total or 0
    offset = (page - 1) * per_page
    rows: Sequence[T] = []
    if offset < total:  # also keeps absurd page numbers out of SQL
        rows = db.session.scalars(query.order_by(*order).limit(per_page).offset(offset)).all()
    return jsonify(oruk.page([serialise(row) for row in rows], total, page, per_page))


def _published_listing(listing_uuid: str) -> Listing:
    canonical = _canonical_uuid(listing_uuid)
    listing = None
    if canonical is not None:
        listing = db.session.scalars(_published().where(Listing.uuid == canonical)).first()
    if listing is None:
        raise ApiError("There is no published service with that id.", 404)
    return listing


def _approved_providers() -> Select[Any]:
    return select(Organisation).where(
        Organisation.kind == OrganisationKind.PROVIDER.value,
        Organisation.status == ApprovalStatus.APPROVED.value,
    )


def _approved_provider(org_uuid: str) -> Organisation:
    """Find an organisation by its derived UUID.

    Organisations have no uuid column, so this computes the uuid5 of every approved provider's
    id: O(number of providers), fine for thousands. A uuid column would make it one index read.
    """
    canonical = _canonical_uuid(org_uuid)
    if canonical is not None:
        ids = db.session.scalars(_approved_providers().with_only_columns(Organisation.id))
        for org_id in ids:
            if oruk.organisation_id(org_id) == canonical:
                org = db.session.get(Organisation, org_id)
                if org is not None:
                    return org
    raise ApiError("There is no organisation with that id.", 404)


def _located(query: ListingQuery) -> ListingQuery:
    return query.where(Listing.easting.is_not(None), Listing.northing.is_not(None))


def _listing_at_location(sal_uuid: str) -> Listing:
    """Find a published listing by its derived service_at_location UUID (O(listings), as above)."""
    canonical = _canonical_uuid(sal_uuid)
    if canonical is not None:
        rows = db.session.execute(
            _located(_published()).with_only_columns(Listing.id, Listing.uuid)
        )
        for listing_id, listing_uuid in rows:
            if oruk.derived_id("service_at_location", listing_uuid) == canonical:
                listing = db.session.get(Listing, listing_id)
                if listing is not None:
                    return listing
    raise ApiError("There is no service at a location with that id.", 404)


def _category(term_uuid: str) -> Category:
    canonical = _canonical_uuid(term_uuid)
    category = None
    if canonical is not None:
        category = db.session.scalars(select(Category).where(Category.uuid == canonical)).first()
    if category is None:
        raise ApiError("There is no taxonomy term with that id.", 404)
    return category


# --- Endpoints ----------------------------------------------------------------------------


@bp.get("/", strict_slashes=False)
def root() -> Response:
    """What this API is: its HSDS version, profile and OpenAPI description."""
    return jsonify(
        {"version": oruk.VERSION, "profile": oruk.PROFILE_URL, "openapi_url": oruk.OPENAPI_URL}
    )


@bp.get("/services")
def services() -> Response:
    """Published services, filtered and paginated."""
    query, distance = _near_filters(_service_filters(_published()))
    order: tuple[Any, ...] = (Listing.name, Listing.id)
    if distance is not None:
        # Services with no base (online, by phone) after those with one, on every database.
        order = (Listing.easting.is_(None), distance, *order)
    return _page_of(query, order, oruk.service_summary)


@bp.get("/services/<listing_uuid>")
def service(listing_uuid: str) -> Response:
    """One published service with everything public about it."""
    return jsonify(oruk.service_full(_published_listing(listing_uuid)))


@bp.get("/service_at_locations")
def service_at_locations() -> Response:
    """Published services that have a location, filtered (also by postcode) and paginated."""
    query, distance = _near_filters(_service_filters(_located(_published())))
    order = (Listing.name, Listing.id) if distance is None else (distance, Listing.name, Listing.id)
    return _page_of(query, order, oruk.service_at_location_summary)


@bp.get("/service_at_locations/<sal_uuid>")
def service_at_location(sal_uuid: str) -> Response:
    """One service at its location, both in full."""
    return jsonify(oruk.service_at_location_full(_listing_at_location(sal_uuid)))


@bp.get("/organizations")
def organizations() -> Response:
    """Approved provider organisations, paginated."""
    return _page_of(
        _approved_providers(), (Organisation.name, Organisation.id), oruk.organisation_summary
    )


@bp.get("/organizations/<org_uuid>")
def organization(org_uuid: str) -> Response:
    """One approved provider organisation with its published services."""
    org = _approved_provider(org_uuid)
    listings = db.session.scalars(
        _published().where(Listing.organisation_id == org.id).order_by(Listing.name, Listing.id)
    ).all()
    return jsonify(oruk.organisation_full(org, listings))


@bp.get("/taxonomies")
def taxonomies() -> Response:
    """Our one taxonomy, as a page."""
    page, per_page = _paging()
    contents = [oruk.taxonomy()] if page == 1 else []
    return jsonify(oruk.page(contents, 1, page, per_page))


@bp.get("/taxonomies/<taxonomy_uuid>")
def taxonomy(taxonomy_uuid: str) -> Response:
    """Our one taxonomy with all its terms."""
    if _canonical_uuid(taxonomy_uuid) != oruk.TAXONOMY_ID:
        raise ApiError("There is no taxonomy with that id.", 404)
    terms = db.session.scalars(select(Category).order_by(Category.position, Category.name))
    return jsonify(oruk.taxonomy(terms))


@bp.get("/taxonomy_terms")
def taxonomy_terms() -> Response:
    """Every category, as taxonomy terms, paginated."""
    return _page_of(
        select(Category), (Category.position, Category.name, Category.id), oruk.taxonomy_term
    )


@bp.get("/taxonomy_terms/<term_uuid>")
def taxonomy_term(term_uuid: str) -> Response:
    """One category as a taxonomy term."""
    return jsonify(oruk.taxonomy_term(_category(term_uuid)))


@bp.route(
    "/",
    defaults={"_anything": ""},
    methods=["POST", "PUT", "PATCH", "DELETE"],
    strict_slashes=False,
)
@bp.route("/<path:_anything>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
def not_found(_anything: str) -> tuple[Response, int]:
    """Any other address under /api/v1/: a JSON 404 (or 405 for writes), not an HTML page."""
    if request.method not in _READ_METHODS:
        response, status = _error("This API is read-only: use GET.", 405)
        response.headers["Allow"] = ", ".join(_READ_METHODS)
        return response, status
    return _error("There is nothing at this address.", 404)
