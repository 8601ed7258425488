"""The per-process copy of the category and council lists (marketplace/providers/reference.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import insert

from marketplace.places.models import Council
from marketplace.places.services import all_councils
from marketplace.providers import reference
from marketplace.providers.models import Category
from marketplace.providers.services import all_categories
from tests.factories import CouncilFactory


@pytest.fixture
def cached(app: Flask) -> Iterator[reference.ReferenceLists]:
    """The app with a 60-second cache (tests run with it off), put back afterwards."""
    previous = app.extensions[reference.EXTENSION_KEY]
    lists = reference.ReferenceLists(60)
    app.extensions[reference.EXTENSION_KEY] = lists
    try:
        with app.app_context():
            yield lists
    finally:
        app.extensions[reference.EXTENSION_KEY] = previous


def _names(items) -> list[str]:
    return [item.name for item in items]


def _raw_council(db_session, code: str, name: str) -> None:
    # Core INSERT: no ORM flush, so nothing in this process tells the cache.
    db_session.execute(insert(Council).values(code=code, name=name))


def test_the_lists_match_the_services_order(app, db_session, cached):
    CouncilFactory(name="Aardvark Borough")
    db_session.commit()

    assert _names(reference.categories(db_session)) == _names(all_categories(db_session))
    assert _names(reference.councils(db_session)) == _names(all_councils(db_session))
    assert [c.key for c in reference.categories(db_session)] == [
        c.slug for c in all_categories(db_session)
    ]
    assert [c.key for c in reference.councils(db_session)] == [
        c.code for c in all_councils(db_session)
    ]


def test_another_processs_change_shows_once_the_copy_expires(app, db_session, cached, monkeypatch):
    before = _names(reference.councils(db_session))
    _raw_council(db_session, "E09999991", "Written Elsewhere")

    assert _names(reference.councils(db_session)) == before  # still the copy

    later = reference.time.monotonic() + 61
    monkeypatch.setattr(reference.time, "monotonic", lambda: later)
    assert "Written Elsewhere" in _names(reference.councils(db_session))


def test_a_commit_in_this_process_clears_the_copy(app, db_session, cached):
    reference.councils(db_session)
    reference.categories(db_session)

    CouncilFactory(name="New Council")
    db_session.add(Category(slug="new-kind", name="New kind", position=999))
    db_session.commit()

    assert "New Council" in _names(reference.councils(db_session))
    assert "New kind" in _names(reference.categories(db_session))


def test_a_flush_alone_does_not_clear_it_until_the_commit(app, db_session, cached):
    before = _names(reference.councils(db_session))
    db_session.add(Council(code="E09999993", name="Not Yet Committed"))
    db_session.flush()
    assert _names(reference.councils(db_session)) == before


def test_zero_seconds_means_no_copy(app, db_session):
    lists = reference.ReferenceLists(0)
    first = _names(lists.get(db_session).councils)
    _raw_council(db_session, "E09999992", "Seen At Once")
    assert "Seen At Once" not in first
    assert "Seen At Once" in _names(lists.get(db_session).councils)


def test_tests_run_with_the_cache_off(app):
    assert app.config["REFERENCE_CACHE_SECONDS"] == 0
