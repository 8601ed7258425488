"""The category and council lists that every search page and the pools list draw, kept briefly.

They are a few dozen rows that change when an admin edits the taxonomy or a new council
appears, yet every directory search read both (two queries, and their ORM objects, on the
busiest pages). Each process keeps them as plain tuples for REFERENCE_CACHE_SECONDS (default
60): a change made by this process is seen at once (its commit clears the copy), one made by
another worker within that minute. 0 turns the cache off, which is the default under TESTING
because the test database is rolled back under a long-lived app.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from marketplace.places.models import Council
from marketplace.providers.models import Category

EXTENSION_KEY = "reference_lists"
DEFAULT_SECONDS = 60
_CHANGED = "reference_lists_changed"  # key in Session.info


@dataclass(frozen=True)
class Item:
    """One category (key: its slug) or council (key: its ONS code)."""

    id: int
    key: str
    name: str


@dataclass(frozen=True)
class _Lists:
    categories: tuple[Item, ...]
    councils: tuple[Item, ...]
    loaded_at: float


class ReferenceLists:
    """This process's copy of the two lists for one app."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lists: _Lists | None = None
        self._lock = threading.Lock()

    def get(self, session: Session) -> _Lists:
        lists = self._lists
        if lists is not None and time.monotonic() - lists.loaded_at < self.seconds:
            return lists
        lists = _load(session)
        if self.seconds > 0:
            with self._lock:
                self._lists = lists
        return lists

    def clear(self) -> None:
        with self._lock:
            self._lists = None


def _load(session: Session) -> _Lists:
    categories = session.execute(
        select(Category.id, Category.slug, Category.name).order_by(Category.position, Category.name)
    ).all()
    councils = session.execute(
        select(Council.id, Council.code, Council.name).order_by(Council.name)
    ).all()
    return _Lists(
        categories=tuple(Item(*row) for row in categories),
        councils=tuple(Item(*row) for row in councils),
        loaded_at=time.monotonic(),
    )


def categories(session: Session) -> tuple[Item, ...]:
    """Every category in display order (as services.all_categories orders them)."""
    return _lists().get(session).categories


def councils(session: Session) -> tuple[Item, ...]:
    """Every council by name (as places.services.all_councils orders them)."""
    return _lists().get(session).councils


def _lists() -> ReferenceLists:
    return current_app.extensions[EXTENSION_KEY]


def init_app(app: Flask) -> None:
    """Give the app its cache, and clear it whenever this process commits a change to either."""
    default = 0 if app.config.get("TESTING") else DEFAULT_SECONDS
    seconds = float(app.config.setdefault("REFERENCE_CACHE_SECONDS", default))
    app.extensions[EXTENSION_KEY] = ReferenceLists(seconds)
    for name, hook in (("after_flush", _after_flush), ("after_commit", _after_commit)):
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)


def _after_flush(session: Session, _flush_context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Category | Council):
            session.info[_CHANGED] = True
            return


def _after_commit(session: Session) -> None:
    if not session.info.pop(_CHANGED, False):
        return
    try:
        lists = current_app.extensions.get(EXTENSION_KEY)
    except RuntimeError:  # committed outside an app (a script): no cache to clear here
        return
    if lists is not None:
        lists.clear()
