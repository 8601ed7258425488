"""The database's own refusal to let the audit log be rewritten: the one place its DDL lives.

The migration that installs it calls these functions, and the tests build their schema by
running the migrations, so the tests exercise exactly what production runs.

Refused on both databases: UPDATE, DELETE, and an INSERT naming an id that already exists
(SQLite's `INSERT OR REPLACE` would otherwise delete the old row and insert a new one without
firing the delete trigger). PostgreSQL also refuses TRUNCATE, which row triggers never see.
Dropping a trigger is a schema change, and only migrations make those.
"""

from __future__ import annotations

from collections.abc import Callable

# Every refusal says this (the tests match it); written out in each statement below.
MESSAGE = "audit entries are append-only"

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}';
END;
$$ LANGUAGE plpgsql
"""

# PostgreSQL: trigger name -> when it fires.
_PG_TRIGGERS = {
    # The name the first version of the guard used, kept so it is replaced, not doubled.
    "audit_entries_append_only": "BEFORE UPDATE OR DELETE ON audit_entries FOR EACH ROW",
    # A plain INSERT with a taken id already fails on the primary key; ON CONFLICT DO UPDATE
    # fires the UPDATE trigger. This makes the refusal explicit and names the log.
    "audit_entries_no_reused_id": ("BEFORE INSERT ON audit_entries FOR EACH ROW"),
    "audit_entries_no_truncate": "BEFORE TRUNCATE ON audit_entries FOR EACH STATEMENT",
}

_PG_REUSED_ID_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entries_no_reused_id() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_entries WHERE id = NEW.id) THEN
        RAISE EXCEPTION 'audit entries are append-only';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""

# SQLite: trigger name -> its whole CREATE TRIGGER statement.
_SQLITE_TRIGGERS = {
    "audit_entries_no_update": (
        "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
    ),
    "audit_entries_no_delete": (
        "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
    ),
    # Runs before REPLACE's conflict resolution, so the old row is never removed.
    "audit_entries_no_reused_id": (
        "CREATE TRIGGER audit_entries_no_reused_id BEFORE INSERT ON audit_entries "
        "WHEN EXISTS (SELECT 1 FROM audit_entries WHERE id = NEW.id) "
        "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;"
    ),
}


def install(execute: Callable[[str], object], dialect: str) -> None:
    """Create (or re-create) every refusal; safe to run over an earlier version."""
    if dialect == "postgresql":
        execute(_PG_FUNCTION)
        execute(_PG_REUSED_ID_FUNCTION)
        for name, when in _PG_TRIGGERS.items():
            function = (
                "audit_entries_no_reused_id"
                if name == "audit_entries_no_reused_id"
                else "audit_entries_append_only"
            )
            execute(f"DROP TRIGGER IF EXISTS {name} ON audit_entries")
            execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {function}()")
    else:
        for name, create in _SQLITE_TRIGGERS.items():
            execute(f"DROP TRIGGER IF EXISTS {name}")
            execute(create)


def uninstall_additions(execute: Callable[[str], object], dialect: str) -> None:
    """Remove what issue 19 added (reused ids, TRUNCATE), leaving the UPDATE/DELETE refusals
    an earlier migration made."""
    if dialect == "postgresql":
        execute("DROP TRIGGER IF EXISTS audit_entries_no_reused_id ON audit_entries")
        execute("DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries")
        execute("DROP FUNCTION IF EXISTS audit_entries_no_reused_id()")
    else:
        execute("DROP TRIGGER IF EXISTS audit_entries_no_reused_id")
