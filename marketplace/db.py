"""The database: declarative Base, one engine per app, one session per request."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

if TYPE_CHECKING:
    from flask import Flask

# Named constraints so Alembic produces the same names on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Timezone-aware now in UTC; the one clock models and services use."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; treat them as the UTC they were stored as."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine, giving SQLite real transactions, savepoints and foreign keys."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        # pysqlite's own transaction handling breaks SAVEPOINT; take it over (SQLAlchemy docs,
        # "Serializable isolation / Savepoints / Transactional DDL").
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=15000")
            # WAL: a commit appends to the log instead of rewriting a rollback journal, and
            # readers do not wait for the writer. synchronous=NORMAL then syncs at checkpoints,
            # not at every commit: a power cut can lose the last commits but never corrupts
            # the file, and a crash of the process loses nothing (SQLite's documented WAL
            # trade-off). Without it every commit is two fsyncs, and a payment commits twice.
            # An in-memory database answers "memory" and keeps its own journal.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        # IMMEDIATE: take the write lock when the transaction starts. A deferred transaction
        # that reads and then writes can deadlock with another writer, and SQLite then fails
        # one of them at once instead of waiting. SQLite is for one machine (development and
        # tests), where queueing every transaction behind the last costs little.
        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """Holds the engine and a request-scoped session; bound to an app by init_app."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        # expire_on_commit=False: a committed request is over, and objects stay readable after it.
        self.scoped: scoped_session[Session] = scoped_session(sessionmaker(expire_on_commit=False))

    @property
    def session(self) -> Session:
        """This thread's session. The scoped_session proxies every Session method, so callers
        (and services typed to take a Session) use it as one; lifecycle calls go to `scoped`."""
        return cast(Session, self.scoped)

    def init_app(self, app: Flask) -> None:
        """Create the engine from DATABASE_URL and close the session after each request."""
        self.engine = make_engine(app.config["DATABASE_URL"])
        self.scoped.remove()
        self.scoped.configure(bind=self.engine)
        app.extensions["database"] = self

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            self.scoped.remove()
