"""Values and filters every template can use."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, request, url_for
from flask_login import current_user

from marketplace.db import as_utc
from marketplace.money import format_pence

SERVICE_NAME = "Budget Marketplace"


def _navigation() -> list[dict[str, Any]]:
    items = [
        ("Find services", "directory.search"),
        ("Budget buddies", "buddies.index"),
        ("Pools", "pools.index"),
        ("Organisations", "organisations.directory"),
        ("Guides", "pages.guides"),
    ]
    return [
        {"text": text, "href": url_for(endpoint), "active": request.endpoint == endpoint}
        for text, endpoint in items
    ]


def format_date(value: date | datetime | None) -> str:
    """A date as people write it: 4 March 2026."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = as_utc(value)
    return f"{value.day} {value:%B %Y}"


def format_datetime(value: datetime | None) -> str:
    """A date and time as people write it: 4 March 2026 at 2:05pm (UTC)."""
    if value is None:
        return ""
    value = as_utc(value)
    hour = value.hour % 12 or 12
    return f"{format_date(value)} at {hour}:{value:%M}{'am' if value.hour < 12 else 'pm'}"


def labels(values: list[str], mapping: dict[Any, str]) -> list[str]:
    """Stored codes to their plain-English labels (unknown codes shown as they are)."""
    return [mapping.get(value, value) for value in values]


def init_app(app: Flask) -> None:
    """Register globals and filters."""
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["money"] = format_pence
    app.jinja_env.filters["labels"] = labels

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "service_name": SERVICE_NAME,
            "navigation": _navigation(),
            "current_user": current_user,
        }
