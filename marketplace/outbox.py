"""The one way to do work after a commit: emails, search index updates, one-click links.

A service deep inside someone else's transaction (a handover offered while a pairing ends, a
pool funded inside a job) must not email or index before its change is durable: a rollback
would leave people told about something that never happened, and on SQLite a second session
opened to do that work would wait on the first one's write lock. So the service *notes* the
work on its session here. A commit moves the notes to "committed" (no SQL may run in that
hook); a rollback drops the notes made in what it rolled back, savepoints included.

One runner, `run_committed`, does the committed work, each piece with a session of its own that
it commits, so nothing the work writes (a kept email, a link) lands in the caller's session. The
app runs it after every request (`finish_request`), the job worker after each job, CLI commands
after their commit, and tests call it themselves. Work noted while no transaction is open has
nothing to wait for and runs at once.

`after_response` is for work that must not even delay the answer: what /register and
/forgotten-password do depends on whether the address has an account, so they answer first and
do it (look-ups, tokens, emails) once the response has gone out, in a unit of work of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, g
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

log = logging.getLogger(__name__)

_PENDING = "outbox.pending"
_COMMITTED = "outbox.committed"
# Session.info key: the commit itself does all the work, as `commit` would. Tests set it on
# their sessions (tests/conftest.py), whose commits stand for a whole unit of work.
RUN_AT_COMMIT = "outbox.run_at_commit"

Work = Callable[[Session], None]


@dataclass(frozen=True)
class Note:
    key: tuple[Hashable, ...]  # (kind, ...): noting the same key twice in one transaction is once
    work: Work  # given a session of its own, which the runner commits
    what: Any = None  # what it is about, for tests and for `waiting`
    transaction: SessionTransaction | None = None  # where it was noted, for rollbacks
    at_commit: bool = False  # done by the commit itself, not by the runner


def note(
    session: Session,
    key: tuple[Hashable, ...],
    work: Work,
    what: Any = None,
    *,
    at_commit: bool = False,
) -> bool:
    """Do `work` once this transaction commits (at once if none is open); False if the key
    was already noted in this transaction. `db.session` (the scoped proxy) will do.

    `at_commit` work is done by the commit itself, before the caller's next line: for keeping
    our own derived data (the search index) in step, which nobody should ever see lag behind.
    Everything else (emails above all) waits for the runner."""
    session = _real(session)
    if not session.in_transaction():
        _run(session, Note(key, work, what))
        return True
    pending: dict[tuple[Hashable, ...], Note] = session.info.setdefault(_PENDING, {})
    if key in pending:
        return False
    pending[key] = Note(key, work, what, _innermost(session), at_commit)
    return True


def _real(session: Session) -> Session:
    # The scoped_session proxy has no in_transaction(); calling it gives this thread's Session.
    return session() if isinstance(session, scoped_session) else session  # type: ignore[operator]


def waiting(session: Session, kind: str) -> list[Any]:
    """What is noted (not yet committed) under this kind, in the order noted."""
    session = _real(session)
    return [n.what for k, n in session.info.get(_PENDING, {}).items() if k[0] == kind]


def _clean(session: Session) -> bool:
    return not (session.new or session.dirty or session.deleted)


def run_committed(session: Session) -> int:
    """Do the work of transactions that have committed; returns how many pieces ran."""
    session = _real(session)
    if not session.info.get(_COMMITTED):
        return 0
    if session.in_transaction():
        if not _clean(session):
            # The caller has changes of its own in flight; the work waits for their commit
            # (on SQLite our own session could not even start while this one holds the lock).
            return 0
        # Only reads since the commit: end them (which also commits what they noted).
        session.commit()
    done = 0
    while notes := session.info.pop(_COMMITTED, []):
        for item in notes:
            done += _run(session, item)
    return done


def finish_request(session: Session, succeeded: bool) -> int:
    """The end of a request: a successful one that only read after its last commit (an email
    composed from what it committed) commits those reads, so what it noted is not lost; then
    the committed work runs."""
    if succeeded and session.info.get(_PENDING) and session.in_transaction() and _clean(session):
        session.commit()
    return run_committed(session)


def _run(session: Session, item: Note) -> int:
    own = Session(
        bind=session.get_bind(),
        expire_on_commit=False,
        # In tests the bind is a connection inside the test's transaction: a SAVEPOINT of it.
        join_transaction_mode="create_savepoint",
    )
    try:
        item.work(own)
        own.commit()
        run_committed(own)  # what the work itself noted
    except Exception:
        # The change itself is committed whatever happens here.
        log.exception("Work after the commit failed: %s", item.key)
        own.rollback()
        return 0
    finally:
        own.close()
    return 1


def _innermost(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


def _after_commit(session: Session) -> None:
    nested = session.get_nested_transaction()
    if nested is not None and nested.parent is not None:
        return  # a SAVEPOINT released inside a transaction that is still open
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    now = session.info.get(RUN_AT_COMMIT, False)
    later = [item for item in pending.values() if not (now or item.at_commit)]
    if later:
        session.info.setdefault(_COMMITTED, []).extend(later)
    for item in pending.values():
        if now or item.at_commit:
            # The committed session may run no SQL now; our own session on its bind may.
            _run(session, item)


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # A rolled-back SAVEPOINT undoes only the work noted inside it; the outermost, all of it.
    pending: dict[tuple[Hashable, ...], Note] | None = session.info.get(_PENDING)
    if not pending:
        return
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
        return
    for key in [k for k, n in pending.items() if _within(n.transaction, previous_transaction)]:
        del pending[key]


for _name, _hook in (
    ("after_commit", _after_commit),
    ("after_soft_rollback", _after_soft_rollback),
):
    if not event.contains(Session, _name, _hook):
        event.listen(Session, _name, _hook)


_AFTER_RESPONSE = "outbox_after_response"


def after_response(work: Work, what: Any = None) -> None:
    """Do `work` once this request's response has gone out (when the server closes it), with a
    session of its own that is then committed (and what that commit noted done), inside a
    request context of its own. Only for a successful response: a failed one drops it.

    For work whose cost or outcome must not show in the answer: the time a response takes can
    tell someone as much as its words (whether an address has an account). A failure is
    logged; nobody is waiting for it."""
    pending: list[Note] = g.setdefault(_AFTER_RESPONSE, [])
    pending.append(Note(("after_response", len(pending)), work, what))


def _run_after_response(app: Flask, notes: list[Note]) -> None:
    from marketplace.extensions import db

    for item in notes:
        # A request context of its own: emails render with the site's templates and links.
        with app.test_request_context():
            session = db.scoped()
            try:
                item.work(session)
                commit(session)
            except Exception:
                log.exception("Work after the response failed: %s", item.key)
                session.rollback()


def init_app(app: Flask) -> None:
    """After every request, do what its commits left to do; once its response has gone out,
    what it left for then."""
    from marketplace.extensions import db

    @app.after_request
    def _run_after_request(response: Response) -> Response:
        succeeded = response.status_code < 400
        finish_request(db.scoped(), succeeded)
        notes: list[Note] = g.pop(_AFTER_RESPONSE, [])
        if notes and succeeded:
            real_app = current_app._get_current_object()  # type: ignore[attr-defined]
            response.call_on_close(lambda: _run_after_response(real_app, notes))
        return response


def commit(session: Session) -> None:
    """The unit of work outside a request (jobs, CLI commands): commit, then do what the
    commit left to do."""
    session.commit()
    run_committed(session)
