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
