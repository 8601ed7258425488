"""`flask backup` and `flask restore`, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from marketplace import migrations
from marketplace.backup import services
from marketplace.config import PROJECT_ROOT
from marketplace.providers.search import SearchIndex
from tests.backup.conftest import first_revision


def flask(args: list[str], database_url: str, instance: Path) -> subprocess.CompletedProcess[str]:
    """Run `flask ARGS` as an operator would, in its own process, on this database."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "INSTANCE_DIR": str(instance),
        "SEARCH_INDEX_DIR": str(instance / "search-index"),
    }
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_backup_then_restore_with_reindex(app, source, empty_database, tmp_path, monkeypatch):
    backup_file = tmp_path / "marketplace.backup"
    monkeypatch.setitem(app.config, "DATABASE_URL", source.url)
    made = app.test_cli_runner().invoke(args=["backup", str(backup_file)])
    assert made.exit_code == 0, made.output
    assert f"to {backup_file}:" in made.output and "users" in made.output
    assert "secret key" in made.output

    target = empty_database("cli")
    instance = tmp_path / "new-machine"
    restored = flask(["restore", str(backup_file), "--reindex"], target, instance)

    assert restored.returncode == 0, restored.stderr
    assert f"Rebuilt the search index: {source.published_listings} published listings." in (
        restored.stdout
    )
    assert services.table_counts(target) == services.table_counts(source.url)
    assert SearchIndex(str(instance / "search-index")).doc_count() == source.published_listings


def test_restore_without_reindex_says_how_to_rebuild_the_index(
    app, source, empty_database, tmp_path, monkeypatch
):
    backup_file = tmp_path / "marketplace.backup"
    services.backup(source.url, backup_file)
    target = empty_database("noindex")
    monkeypatch.setitem(app.config, "DATABASE_URL", target)

    result = app.test_cli_runner().invoke(args=["restore", str(backup_file)])

    assert result.exit_code == 0, result.output
    assert "into the SQLite database" in result.output or "PostgreSQL" in result.output
    assert "run `flask search rebuild` now (or restore with --reindex)" in result.output
    assert services.table_counts(target) == services.table_counts(source.url)


def test_restore_into_the_sites_own_database_is_refused(app, source, tmp_path):
    backup_file = tmp_path / "marketplace.backup"
    services.backup(source.url, backup_file)
    before = services.table_counts(app.config["DATABASE_URL"])

    result = app.test_cli_runner().invoke(args=["restore", str(backup_file)])

    assert result.exit_code == 1
    assert "already has" in result.output and "--force" in result.output
    assert "Rebuilt" not in result.output
    assert services.table_counts(app.config["DATABASE_URL"]) == before


def test_backup_of_a_missing_database_fails_cleanly(app, tmp_path, monkeypatch):
    backup_file = tmp_path / "marketplace.backup"
    missing = f"sqlite:///{tmp_path / 'nothing-here.sqlite3'}"
    monkeypatch.setitem(app.config, "DATABASE_URL", missing)

    result = app.test_cli_runner().invoke(args=["backup", str(backup_file)])

    assert result.exit_code == 1
    assert "There is no SQLite database at" in result.output
    assert not list(tmp_path.iterdir())


def test_an_older_schema_is_upgraded_before_the_index_is_rebuilt(
    app, empty_database, tmp_path, monkeypatch
):
    old = empty_database("cliold")
    migrations.upgrade(old, first_revision())
    backup_file = tmp_path / "old.backup"
    services.backup(old, backup_file)
    monkeypatch.setitem(app.config, "DATABASE_URL", empty_database("clioldrestored"))

    result = app.test_cli_runner().invoke(args=["restore", str(backup_file), "--reindex"])

    assert result.exit_code == 0, result.output
    assert "Run `flask db upgrade`, then `flask search rebuild`" in result.output
    assert "Rebuilt" not in result.output
