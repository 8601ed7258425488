"""/healthz answers without the database; /readyz checks the database and the search index."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from marketplace.db import make_engine
from marketplace.extensions import db
from marketplace.providers.search import SearchIndex


@pytest.fixture
def database_down(db_session, tmp_path) -> Iterator[None]:
    """Requests get a real engine on a database that cannot be opened (no such directory).

    db_session's teardown binds the session back to the app's engine.
    """
    broken = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'secret-name.sqlite3'}")
    db.scoped.remove()
    db.scoped.configure(bind=broken)
    yield
    db.scoped.remove()
    broken.dispose()


def test_healthz_is_ok_and_never_cached(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_does_not_touch_the_database(client, database_down):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503


def test_readyz_is_ready_when_the_database_and_index_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "search_index": "ok"},
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_names_a_failed_database_without_details(client, database_down):
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["search_index"] == "ok"
    assert body["checks"]["database"].startswith("failed: ")
    text = response.get_data(as_text=True)
    assert "secret-name" not in text and "missing-dir" not in text and "Traceback" not in text
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_names_a_search_index_that_will_not_open(app, client, monkeypatch, tmp_path):
    directory = tmp_path / "index"
    index = SearchIndex(directory)
    monkeypatch.setitem(app.extensions, "search_index", index)
    assert client.get("/readyz").status_code == 200
    shutil.rmtree(directory)  # the volume went away under the running worker

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["search_index"].startswith("failed: ")
    assert str(tmp_path) not in response.get_data(as_text=True)
    index.close()
