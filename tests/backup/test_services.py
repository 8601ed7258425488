"""Backing up and restoring: every row comes back, and the dangerous cases are refused."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import column, select, table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from marketplace import migrations
from marketplace.backup import services
from marketplace.backup.services import BackupError
from marketplace.db import Base, make_engine
from marketplace.models import import_all_models
from marketplace.places.models import Council
from tests.backup.conftest import AWKWARD, LARGE, first_revision
from tests.conftest import reset_schema


def every_row(url: str) -> dict[str, list[tuple]]:
    """Every row of every table we know, and of alembic_version, sorted, for comparing."""
    import_all_models()
    tables = [*Base.metadata.sorted_tables, table("alembic_version", column("version_num"))]
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                t.name: sorted((tuple(row) for row in connection.execute(select(t))), key=repr)
                for t in tables
            }
    finally:
        engine.dispose()


def test_restore_into_an_empty_database_finds_every_row(source, empty_database, tmp_path):
    backup_file = tmp_path / "nightly" / "marketplace.backup"
    made = services.backup(source.url, backup_file)

    assert backup_file.is_file() and made.bytes == backup_file.stat().st_size > 0
    assert not [p for p in backup_file.parent.iterdir() if p != backup_file]  # no temp file left
    assert backup_file.stat().st_mode & 0o077 == 0  # personal data: readable by its owner only

    target = empty_database("dst")
    restored = services.restore(backup_file, target)

    expected = every_row(source.url)
    assert every_row(target) == expected
    # Every table has rows, so "identical" is not trivially true of empty tables...
    assert sum(len(rows) for rows in expected.values()) > 1000
    assert expected["users"] and expected["listings"] and expected["audit_entries"]
    # ...the reports agree with each other and with the database...
    assert restored.tables == made.tables == services.table_counts(source.url)
    assert set(restored.tables) == set(expected)
    assert [(restored.schema_revision,)] == expected["alembic_version"]
    assert not restored.replaced_existing
    # ...and the awkward values came back exactly.
    engine = make_engine(target)
    try:
        with engine.connect() as connection:
            org = connection.execute(
                text(
                    "SELECT name, description, website, public_phone FROM organisations "
                    "WHERE rejection_reason = :awkward"
                ),
                {"awkward": AWKWARD},
            ).one()
            assert tuple(org) == ("", LARGE, None, "")
        # The schema came back with the rows: the audit log still refuses to be rewritten...
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.execute(text("DELETE FROM audit_entries"))
        # ...and sequences too: the next row gets a new id instead of colliding.
        with Session(bind=engine) as session:
            session.add(Council(code="S12000001", name="After the restore"))
            session.commit()
    finally:
        engine.dispose()


def test_a_database_with_tables_is_refused_and_left_alone(source, empty_database, tmp_path):
    backup_file = tmp_path / "marketplace.backup"
    services.backup(source.url, backup_file)
    target = empty_database("busy")
    reset_schema(target)  # the tables, and alembic_version, but no rows yet
    engine = make_engine(target)
    with Session(bind=engine) as session:
        session.add(Council(code="E09000033", name="Westminster"))
        session.commit()
    engine.dispose()
    before = every_row(target)

    with pytest.raises(BackupError, match=r"already has \d+ table\(s\).*--force"):
        services.restore(backup_file, target)

    assert every_row(target) == before


def test_force_replaces_what_was_there(source, empty_database, tmp_path):
    backup_file = tmp_path / "marketplace.backup"
    services.backup(source.url, backup_file)
    target = empty_database("forced")
    reset_schema(target)
    engine = make_engine(target)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO councils (code, name) VALUES ('E09000033', 'Gone')"))
        connection.execute(text("CREATE TABLE operator_notes (note TEXT)"))
    engine.dispose()

    report = services.restore(backup_file, target, force=True)

    assert report.replaced_existing
    rows = every_row(target)
    assert rows == every_row(source.url)
    if report.kind == "postgresql":
        # pg_restore replaces what the backup holds; anything else is left and reported.
        assert report.leftover_tables == ("operator_notes",)
    else:
        # SQLite's backup API replaces the whole file.
        assert report.leftover_tables == () and "operator_notes" not in report.tables


def test_a_file_of_the_wrong_kind_is_refused(empty_database, tmp_path):
    target = empty_database("wrong")
    if services.database_kind(target) == "postgresql":
        other = tmp_path / "site.sqlite3"
        connection = sqlite3.connect(other)
        connection.execute("CREATE TABLE t (x)")
        connection.close()
        message = "is a SQLite database, but the database to restore into is PostgreSQL"
    else:
        other = tmp_path / "site.dump"
        other.write_bytes(b"PGDMP\x01\x0f\x00" + bytes(100))
        message = "is a PostgreSQL backup .* but the database to restore into is SQLite"
    with pytest.raises(BackupError, match=message):
        services.restore(other, target)

    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("SELECT 1;\n")
    with pytest.raises(BackupError, match="is not a backup"):
        services.restore(not_a_backup, target)

    assert services.table_counts(target) == {}


def test_a_damaged_backup_is_refused_before_anything_is_restored(source, empty_database, tmp_path):
    backup_file = tmp_path / "marketplace.backup"
    services.backup(source.url, backup_file)
    data = backup_file.read_bytes()
    backup_file.write_bytes(data[: len(data) // 2])  # e.g. a copy cut short
    target = empty_database("damaged")

    with pytest.raises(BackupError):
        services.restore(backup_file, target)

    assert services.table_counts(target) == {}


def test_a_failed_backup_leaves_no_file_and_keeps_the_last_good_one(empty_database, tmp_path):
    missing = empty_database("missing")
    if services.database_kind(missing) == "postgresql":
        missing = missing.rsplit("/", 1)[0] + "/test_backup_does_not_exist"
    backup_file = tmp_path / "marketplace.backup"
    backup_file.write_bytes(b"yesterday's good backup")

    with pytest.raises(BackupError):
        services.backup(missing, backup_file)

    assert [p.name for p in tmp_path.iterdir()] == ["marketplace.backup"]
    assert backup_file.read_bytes() == b"yesterday's good backup"


def test_the_password_is_passed_in_the_environment_not_the_command_line():
    url, env = services._libpq(
        "postgresql+psycopg://alice:s3cr%40t@db.example:5433/site?sslmode=require"
    )
    assert url == "postgresql://alice@db.example:5433/site?sslmode=require"
    assert env == {"PGPASSWORD": "s3cr@t"}
    assert services._libpq("postgresql+psycopg://postgres@127.0.0.1/site")[1] == {}


def test_only_postgresql_and_sqlite_files(tmp_path):
    with pytest.raises(BackupError, match="Only PostgreSQL and SQLite"):
        services.backup("mysql+pymysql://root@localhost/site", tmp_path / "x")
    with pytest.raises(BackupError, match="in a file"):
        services.backup("sqlite://", tmp_path / "x")
    assert not list(tmp_path.iterdir())


def test_a_backup_from_an_older_schema_is_restored_as_it_was(empty_database, tmp_path):
    old = empty_database("oldschema")
    first = first_revision()
    migrations.upgrade(old, first)
    backup_file = tmp_path / "old.backup"
    services.backup(old, backup_file)

    report = services.restore(backup_file, empty_database("oldrestored"))

    assert report.schema_revision == first and not report.schema_is_current
