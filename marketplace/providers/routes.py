"""The public directory: search with filters and facets, and a page per service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload

from marketplace.extensions import db
from marketplace.money import parse_pounds
from marketplace.organisations.models import Organisation
from marketplace.places import postcodes
from marketplace.providers import reference, services
from marketplace.providers.indexing import get_index
from marketplace.providers.models import (
    ACCESS_LABELS,
    COMMUNITY_LABELS,
    DELIVERY_LABELS,
    PRICE_UNIT_LABELS,
    WEEKDAYS,
    Listing,
)
from marketplace.providers.search import SearchQuery, SearchResult
from marketplace.providers.search_form import SearchForm
from marketplace.providers.services import TIME_HINT
from marketplace.web.pagination import page_url

bp = Blueprint("directory", __name__)

PER_PAGE = 20
MAX_SEARCH_STATE = 2000  # characters of a search's query string carried to a service page
# A result shows its organisation's name and its prices; its categories, councils and opening
# times (and its organisation's councils), which the model loads eagerly for the listing page,
# would be four more queries a search for nothing on the page. Loaded lazily, should anything
# ever ask.
RESULT_LOADING = (
    lazyload(Listing.categories),
    lazyload(Listing.councils),
    lazyload(Listing.opening_times),
    joinedload(Listing.organisation).lazyload(Organisation.councils),
)


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    """Plain-English labels for stored codes, for every page that shows a listing."""
    return {
        "unit_labels": PRICE_UNIT_LABELS,
        "delivery_labels": DELIVERY_LABELS,
        "community_labels": COMMUNITY_LABELS,
        "access_labels": ACCESS_LABELS,
        "weekdays": WEEKDAYS,
        "time_hint": TIME_HINT,
    }


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    count: int
    checked: bool


def _query_from(form: SearchForm) -> SearchQuery | None:
    """A SearchQuery from a validated form; None if the form has errors."""
    if not form.validate():
        return None
    near = None
    council = None
    if form.postcode.data and form.postcode.data.strip():
        place = postcodes.lookup(form.postcode.data)
        near = (place.easting, place.northing)
        council = place.council_code
    sort = form.sort.data or "relevance"
    if sort == "distance" and near is None:
        sort = "relevance"
    return SearchQuery(
        text=(form.q.data or "").strip(),
        categories=tuple(form.category.data or ()),
        delivery_modes=tuple(form.delivery.data or ()),
        languages=tuple(form.language.data or ()),
        communities=tuple(form.community.data or ()),
        councils=tuple(form.council.data or ()),
        takes_direct_payments=bool(form.dp.data),
        max_price_pence=parse_pounds(form.max_price.data) if form.max_price.data else None,
        near=near,
        within_miles=int(form.within.data or 10) if near else None,
        near_council=council,
        sort=sort,
        page=form.page.data or 1,
        per_page=PER_PAGE,
    )


def _facets(result: SearchResult, query: SearchQuery) -> dict[str, list[FacetOption]]:
    labels: dict[str, dict[str, str]] = {
        "categories": {c.key: c.name for c in reference.categories(db.session)},
        "delivery_modes": {m.value: label for m, label in DELIVERY_LABELS.items()},
        "communities": {c.value: label for c, label in COMMUNITY_LABELS.items()},
        "councils": {c.key: c.name for c in reference.councils(db.session)},
    }
    chosen = {
        "categories": query.categories,
        "delivery_modes": query.delivery_modes,
        "communities": query.communities,
        "councils": query.councils,
        "languages": query.languages,
    }
    facets: dict[str, list[FacetOption]] = {}
    for name, selected in chosen.items():
        counts = result.facets.get(name, {})
        names = labels.get(name) or {value: value for value in counts}
        options = [
            FacetOption(value, label, counts.get(value, 0), value in selected)
            for value, label in names.items()
            if counts.get(value, 0) or value in selected
        ]
        facets[name] = options
    return facets


def _council_name(code: str | None) -> str | None:
    """The name of the council area with this ONS code, if the directory knows it."""
    if code is None:
        return None
    return next((c.name for c in reference.councils(db.session) if c.key == code), None)


@bp.route("/services")
def search() -> str:
    form = SearchForm(request.args)
    query = _query_from(form) if request.args else SearchQuery(per_page=PER_PAGE)
    result = get_index().search(query) if query is not None else None
    listings: dict[int, Listing] = {}
    if result is not None and result.hits:
        ids = [hit.listing_id for hit in result.hits]
        found = db.session.scalars(
            select(Listing).where(Listing.id.in_(ids)).options(*RESULT_LOADING)
        )
        listings = {listing.id: listing for listing in found if listing.is_published}
    covered: list[str] = []
    national = False
    if result is not None and result.total == 0:
        coverage = get_index().coverage()
        names = {c.key: c.name for c in reference.councils(db.session)}
        covered = sorted(names[code] for code in coverage.councils if code in names)
        national = coverage.national
    return render_template(
        "providers/search.html",
        covered_areas=covered,
        national_services=national,
        search_state=request.query_string.decode("utf-8", "replace")[:MAX_SEARCH_STATE],
        form=form,
        query=query,
        area_name=_council_name(query.near_council) if query is not None else None,
        postcode=postcodes.normalise(form.postcode.data or "") if query is not None else None,
        result=result,
        listings=listings,
        facets=_facets(result, query) if result is not None and query is not None else {},
        page_url=page_url,
    )


@bp.route("/services/list")
def service_list() -> str:
    """Chosen services on one page to print or share: the link holds only their ids."""
    listings = services.published_listings(
        db.session, services.shared_listing_ids(request.args.get("ids", ""))
    )
    return render_template("providers/service_list.html", listings=listings)


@bp.route("/services/<int:listing_id>")
def service(listing_id: int) -> str:
    listing = services.published_listing(db.session, listing_id)
    if listing is None:
        abort(404)
    # The search the person came from, so that "Back to search" returns to it as it was. Only
    # ever put after "/services?", so it cannot lead anywhere else.
    search_state = request.args.get("search", "")[:MAX_SEARCH_STATE]
    return render_template("providers/service.html", listing=listing, search_state=search_state)
