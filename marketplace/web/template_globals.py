"""Values and filters every template can use."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask, current_app, request, url_for
from flask_login import current_user

from marketplace.db import as_utc, utcnow
from marketplace.money import format_pence
from marketplace.web.assets import static_url

SERVICE_NAME = "Budget Marketplace"


NAVIGATION = [
    ("Find services", "directory.search"),
    ("Budget buddies", "buddies.index"),
    ("Pools", "pools.index"),
    ("Organisations", "organisations.directory"),
    ("Guides", "pages.guides"),
]
# Links on every page that take no arguments (base.html's header, menu and footer), and its
# static files. Building a URL costs tens of microseconds and a page had sixteen of them; the
# answers only change with the app's mount point, so each is built once per process.
FIXED_ENDPOINTS = (
    *(endpoint for _text, endpoint in NAVIGATION),
    "pages.home",
    "account.overview",
    "commitments.mine",
    "breaks.choose",
    "auth.sign_out",
    "auth.sign_in",
    "auth.register",
    "pages.privacy",
    "pages.accessibility",
    "casework.complaint",
)
STATIC_FILES = ("images/favicon.svg", "css/app.css", "js/supported.js", "js/app.js")
_LINKS_KEY = "fixed_links"


def fixed_links() -> dict[str, str]:
    """URL of each FIXED_ENDPOINTS endpoint, and of each STATIC_FILES file under "static/"
    by its content-hashed name."""
    cache: dict[str, dict[str, str]] = current_app.extensions.setdefault(_LINKS_KEY, {})
    links = cache.get(request.script_root)
    if links is None or current_app.debug:  # in development a static file may change
        links = {endpoint: url_for(endpoint) for endpoint in FIXED_ENDPOINTS}
        links.update({f"static/{name}": static_url(name) for name in STATIC_FILES})
        cache[request.script_root] = links
    return links


def _navigation(links: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"text": text, "href": links[endpoint], "active": request.endpoint == endpoint}
        for text, endpoint in NAVIGATION
    ]


def this_page() -> str:
    """This request's path and query string, for a form's action.

    A form with no action posts to the document's address with its fragment, so after the skip
    link (#main-content) the answer page opens at that fragment and Chromium leaves focus on the
    body instead of the error summary or success banner; and a redirect keeps the fragment.
    """
    path = request.script_root + request.path
    query = request.query_string.decode()
    return f"{path}?{query}" if query else path


def format_date(value: date | datetime | None) -> str:
    """A date as people write it: 4 March 2026."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = as_utc(value)
    return f"{value.day} {value:%B %Y}"


def format_datetime(value: datetime | None) -> str:
    """A date and time as people write it: 4 March 2026 at 2:05pm (UTC). Midnight and midday
    are words (GOV.UK style), and midnight names the day it ends, which nobody misreads."""
    if value is None:
        return ""
    value = as_utc(value)
    if (value.hour, value.minute) == (0, 0):
        return f"midnight at the end of {format_date(value - timedelta(days=1))}"
    if (value.hour, value.minute) == (12, 0):
        return f"{format_date(value)} at midday"
    hour = value.hour % 12 or 12
    return f"{format_date(value)} at {hour}:{value:%M}{'am' if value.hour < 12 else 'pm'}"


def labels(values: list[str], mapping: dict[Any, str]) -> list[str]:
    """Stored codes to their plain-English labels (unknown codes shown as they are)."""
    return [mapping.get(value, value) for value in values]


def age_in_words(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in words: "5 minutes", "3 hours", "2 days"."""
    if value is None:
        return ""
    seconds = max(0, int(((now or utcnow()) - as_utc(value)).total_seconds()))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "less than a minute"


def init_app(app: Flask) -> None:
    """Register globals and filters."""
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["money"] = format_pence
    app.jinja_env.filters["labels"] = labels
    app.jinja_env.filters["age_words"] = age_in_words
    app.jinja_env.globals["this_page"] = this_page
    app.jinja_env.globals["static_url"] = static_url

    @app.context_processor
    def _globals() -> dict[str, Any]:
        links = fixed_links()
        return {
            "service_name": SERVICE_NAME,
            "navigation": _navigation(links),
            "fixed_links": links,
            "current_user": current_user,
        }
