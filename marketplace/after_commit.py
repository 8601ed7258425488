"""Work that must wait until the database transaction commits: emails, mostly.

A service deep inside someone else's transaction (a handover offered while a pairing ends, a
crisis plan's people told while a break starts) must not email before the change is durable:
a rollback would leave people told about something that never happened. It notes the email
here instead. A commit moves the notes to "committed" (no SQL may run in that hook); the app
sends what is committed after every request, and code outside a request (a job, a test) calls
`run_committed` after its commit. A rollback drops the notes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_PENDING = "after_commit.pending"
_COMMITTED = "after_commit.committed"


@dataclass(frozen=True)
class Note:
    key: tuple[Hashable, ...]  # (kind, ...): noting the same key twice in one transaction is once
    run: Callable[[], None]
    what: Any = None  # what it is about, for tests and for `waiting`


def note(
    session: Session, key: tuple[Hashable, ...], run: Callable[[], None], what: Any = None
) -> bool:
    """Run `run` once this transaction commits; False if the key was already noted."""
    pending: dict[tuple[Hashable, ...], Note] = session.info.setdefault(_PENDING, {})
    if key in pending:
        return False
    pending[key] = Note(key, run, what)
    return True


def waiting(session: Session, kind: str) -> list[Any]:
    """What is noted (not yet committed) under this kind, in the order noted."""
    return [n.what for k, n in session.info.get(_PENDING, {}).items() if k[0] == kind]


def run_committed(session: Session) -> int:
    """Run the work of transactions that have committed; returns how many ran."""
    notes: list[Note] = session.info.pop(_COMMITTED, [])
    if not notes:
        return 0
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        # Only reads since the commit: end them, so rows the work writes (an email queued as a
        # job) commit with it rather than waiting on a transaction nobody will finish.
        session.commit()
    done = 0
    for item in notes:
        try:
            item.run()
        except Exception:
            # The change itself is committed whatever happens here.
            log.exception("Work after the commit failed: %s", item.key)
            session.rollback()
        else:
            done += 1
    return done


def _after_commit(session: Session) -> None:
    nested = session.get_nested_transaction()
    if nested is not None and nested.parent is not None:
        return  # a SAVEPOINT released inside a transaction that is still open
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_COMMITTED, []).extend(pending.values())


def _after_soft_rollback(session: Session, previous_transaction: object) -> None:
    # Only the outermost rollback undoes the work; a rolled-back SAVEPOINT does not.
    if getattr(previous_transaction, "parent", None) is None:
        session.info.pop(_PENDING, None)


for _name, _hook in (
    ("after_commit", _after_commit),
    ("after_soft_rollback", _after_soft_rollback),
):
    if not event.contains(Session, _name, _hook):
        event.listen(Session, _name, _hook)


def init_app(app: Flask) -> None:
    """After every request, run what its commits left to do."""
    from marketplace.extensions import db

    @app.after_request
    def _run(response: Response) -> Response:
        run_committed(db.scoped())
        return response
