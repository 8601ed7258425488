"""Numbers that come from a URL or a query string, kept within what the database can hold.

Every id column is a 32-bit integer on PostgreSQL, and SQLite cannot bind anything past 2^63:
a bigger number is a page that does not exist (404) or a form error, never a crash.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

LARGEST_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` that matches only 0 to LARGEST_ID, so a larger id answers 404."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", LARGEST_ID)
        kwargs["max"] = min(kwargs["max"], LARGEST_ID)
        super().__init__(url_map, *args, **kwargs)


def whole_number(text: str | None) -> int | None:
    """A query-string value as a whole number the database can hold, or None."""
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if value <= LARGEST_ID else None


def init_app(app: Flask) -> None:
    """Install the converter before any blueprint adds a rule."""
    app.url_map.converters["int"] = BoundedIntConverter
