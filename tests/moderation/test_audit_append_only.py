"""The audit log is append-only: no update or delete path in code, and the database refuses."""

from __future__ import annotations

import inspect

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from marketplace import audit
from marketplace.audit import AuditEntry
from tests.factories import UserFactory


def test_the_module_offers_only_record_and_read():
    public = {
        name
        for name, value in vars(audit).items()
        if callable(value) and not name.startswith("_") and inspect.getmodule(value) is audit
    }
    assert public == {"AuditEntry", "record", "entries_for"}
    words = ("update", "delete", "remove", "edit", "change", "erase", "purge")
    assert not [name for name in dir(audit) if any(w in name.lower() for w in words)]


@pytest.fixture
def entry(db_session):
    row = audit.record(db_session, UserFactory().id, "test.action", "thing", 1, "detail")
    db_session.flush()
    return row


@pytest.mark.parametrize(
    "statement",
    [
        lambda e: update(AuditEntry).where(AuditEntry.id == e.id).values(detail="changed"),
        lambda e: delete(AuditEntry).where(AuditEntry.id == e.id),
        lambda e: text(f"UPDATE audit_entries SET actor_id = NULL WHERE id = {e.id}"),
        lambda e: text(f"DELETE FROM audit_entries WHERE id = {e.id}"),
    ],
)
def test_the_database_refuses_update_and_delete(db_session, entry, statement):
    with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
        db_session.execute(statement(entry))
    db_session.expire_all()
    assert db_session.get(AuditEntry, entry.id).detail == "detail"


def test_changing_an_entry_through_the_orm_fails_too(db_session, entry):
    with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
        entry.detail = "rewritten"
        db_session.flush()
    db_session.expire_all()
    assert db_session.get(AuditEntry, entry.id).detail == "detail"


def test_adding_entries_still_works(db_session, entry):
    audit.record(db_session, None, "test.second", "thing", 1)
    db_session.flush()
    assert [e.action for e in audit.entries_for(db_session, "thing", 1)] == [
        "test.action",
        "test.second",
    ]


def _dialect(db_session) -> str:
    return db_session.get_bind().dialect.name


def _rewrites(dialect: str, entry_id: int) -> list[str]:
    """Every way of putting a new row where an existing entry is, in this database's SQL."""
    columns = "(id, actor_id, action, subject_type, subject_id, detail, created_at)"
    values = f"({entry_id}, NULL, 'forged', 'thing', 1, 'rewritten', CURRENT_TIMESTAMP)"
    if dialect == "sqlite":
        return [
            f"INSERT OR REPLACE INTO audit_entries {columns} VALUES {values}",
            f"REPLACE INTO audit_entries {columns} VALUES {values}",
            f"INSERT INTO audit_entries {columns} VALUES {values}",
            f"INSERT OR IGNORE INTO audit_entries {columns} VALUES {values}",
            f"INSERT INTO audit_entries {columns} VALUES {values} "
            "ON CONFLICT (id) DO UPDATE SET detail = excluded.detail",
        ]
    return [
        f"INSERT INTO audit_entries {columns} VALUES {values}",
        f"INSERT INTO audit_entries {columns} VALUES {values} "
        "ON CONFLICT (id) DO UPDATE SET detail = excluded.detail",
        f"INSERT INTO audit_entries {columns} VALUES {values} ON CONFLICT (id) DO NOTHING",
    ]


@pytest.mark.parametrize("which", range(5))
def test_an_insert_reusing_an_existing_id_is_refused(db_session, entry, which):
    statements = _rewrites(_dialect(db_session), entry.id)
    if which >= len(statements):
        pytest.skip("no such statement on this database")
    with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
        db_session.execute(text(statements[which]))
    db_session.expire_all()
    kept = db_session.get(AuditEntry, entry.id)
    assert (kept.action, kept.detail) == ("test.action", "detail")


def test_emptying_the_table_is_refused(db_session, entry):
    """PostgreSQL's TRUNCATE skips row triggers: a statement-level trigger refuses it, also
    when it would cascade from the users table. SQLite has no TRUNCATE; its truncate
    optimisation of a bare DELETE is off while the table has a delete trigger."""
    if _dialect(db_session) == "postgresql":
        statements = ["TRUNCATE audit_entries", "TRUNCATE users CASCADE"]
    else:
        statements = ["DELETE FROM audit_entries"]
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
            db_session.execute(text(statement))
    db_session.expire_all()
    assert db_session.get(AuditEntry, entry.id).detail == "detail"


def test_the_guard_is_the_one_the_migrations_installed(db_session):
    """The schema the tests use was built by the migrations, which take the DDL from
    marketplace/audit_guard.py: the triggers in the database are the ones written there."""
    from marketplace import audit_guard

    names: list[str] = []
    audit_guard.install(lambda sql: names.append(sql), _dialect(db_session))
    if _dialect(db_session) == "postgresql":
        rows = db_session.execute(
            text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_entries'::regclass "
                "AND NOT tgisinternal"
            )
        ).scalars()
    else:
        rows = db_session.execute(
            text(
                "SELECT name FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name = 'audit_entries'"
            )
        ).scalars()
    installed = set(rows)
    created = {sql.split()[2] for sql in names if sql.startswith("CREATE TRIGGER")}
    assert created == installed
    assert len(installed) == 3
    assert all(audit_guard.MESSAGE in sql for sql in names if "RAISE" in sql)
