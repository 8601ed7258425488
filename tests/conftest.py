"""Shared fixtures: one app per run, a database rolled back after each test, a real SMTP server."""

from __future__ import annotations

import os
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="marketplace-tests-"))
os.environ["INSTANCE_DIR"] = str(_TMP / "instance")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
# Outside debugging and tests the app refuses to start without it; the flask commands the
# tests run in processes of their own (backup, worker) inherit it.
os.environ.setdefault("PUBLIC_BASE_URL", "http://localhost")

from aiosmtpd.controller import Controller  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from marketplace import create_app, migrations, outbox  # noqa: E402
from marketplace.db import Base, make_engine  # noqa: E402
from marketplace.extensions import db, limiter  # noqa: E402
from marketplace.models import import_all_models  # noqa: E402
from marketplace.payments.localstripe_server import free_port, start_process  # noqa: E402


def database_url(suffix: str = "") -> str:
    """The database the tests use: TEST_DATABASE_URL (PostgreSQL in CI) or a temp SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url if not suffix else f"{url}{suffix}"
    return f"sqlite:///{_TMP / f'test{suffix}.sqlite3'}"


def separate_database(suffix: str) -> tuple[str, Callable[[], None]]:
    """A database of its own (for the live server, or for tests that need real commits from
    several threads), and a function that removes it.

    PostgreSQL: `<TEST_DATABASE_URL's database>_<suffix>`, created afresh. Otherwise SQLite.
    """
    main_url = os.environ.get("TEST_DATABASE_URL")
    if not main_url:
        path = _TMP / f"{suffix}.sqlite3"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)

    url = make_url(main_url)
    url = url.set(database=f"{url.database}_{suffix}")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = admin.dialect.identifier_preparer.quote(url.database or "")

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    drop()
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")

    def drop_and_dispose() -> None:
        drop()
        admin.dispose()

    return url.render_as_string(hide_password=False), drop_and_dispose


@contextmanager
def database_of_its_own(app: Flask, suffix: str) -> Iterator[sessionmaker[Session]]:
    """A fresh, migrated database that threads can commit to, with `db` pointed at it meanwhile.

    For tests of real concurrency: the rest of the suite runs each test inside one transaction
    that other connections cannot see.
    """
    url, drop = separate_database(suffix)
    reset_schema(url)
    engine = make_engine(url)
    previous = db.engine

    def bind(target: Any) -> None:
        db.scoped.remove()
        db.engine = target
        db.scoped.configure(bind=target)

    bind(engine)
    try:
        with app.app_context():
            yield sessionmaker(bind=engine, expire_on_commit=False)
    finally:
        bind(previous)
        engine.dispose()
        drop()


def reset_schema(url: str) -> None:
    """Drop every table and migrate from scratch, so the migrations themselves are tested."""
    import_all_models()
    engine = make_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    migrations.upgrade(url)


class Mailbox:
    """Collects every message our real SMTP server receives."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[Message] = []

    async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        self.messages.clear()

    def last_to(self, address: str, subject: str | None = None) -> Message:
        """The latest message to this address (with this subject, when given)."""
        for message in reversed(self.messages):
            if message["To"] == address and subject in (None, message["Subject"]):
                return message
        raise AssertionError(f"no email to {address}; got {[m['To'] for m in self.messages]}")


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


def test_config(mailbox_port: int, url: str) -> dict[str, object]:
    return {
        "TESTING": True,
        "DATABASE_URL": url,
        "SESSION_COOKIE_SECURE": False,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": mailbox_port,
        "SIGN_IN_RATE_LIMIT": "5 per 15 minutes",
        "PUBLIC_BASE_URL": "http://localhost",
    }


@pytest.fixture(scope="session")
def app(mailbox: Mailbox) -> Iterator[Flask]:
    url = database_url()
    reset_schema(url)
    application = create_app(test_config(mailbox.port, url))
    yield application
    assert db.engine is not None
    db.engine.dispose()


@pytest.fixture(autouse=True)
def db_session(request: pytest.FixtureRequest) -> Iterator[Session | None]:
    """Each test runs inside a transaction that is rolled back afterwards.

    The app's own commits become savepoint releases, so views behave as in production.
    Browser tests run a separate live server and do not use this.
    """
    if request.node.get_closest_marker("browser"):
        yield None
        return
    request.getfixturevalue("app")
    box: Mailbox = request.getfixturevalue("mailbox")
    assert db.engine is not None
    connection = db.engine.connect()
    transaction = connection.begin()
    db.scoped.remove()
    # Each commit here stands for a whole unit of work (a request, a job): it also does the
    # work it noted (marketplace/outbox.py). Tests of the runner itself use `manual_outbox`.
    db.scoped.configure(
        bind=connection,
        join_transaction_mode="create_savepoint",
        info={outbox.RUN_AT_COMMIT: True},
    )
    try:
        yield db.scoped()
    finally:
        db.scoped.remove()
        transaction.rollback()
        connection.close()
        db.scoped.configure(bind=db.engine, info={})
        limiter.reset()
        box.clear()
        _empty_search_index(request.getfixturevalue("app"))


def manual_outbox(session: Session) -> Session:
    """From now on the test's session is as the app's: work its commits note waits for
    `outbox.run_committed` (for tests of the runner itself). What the test did so far is
    committed first, as a unit of work of its own."""
    session.commit()
    session.info.pop(outbox.RUN_AT_COMMIT, None)
    db.scoped.session_factory.configure(info={})  # sessions made later (after a request) too
    return session


def _empty_search_index(application: Flask) -> None:
    """The rolled-back test's listings must not linger in the index (SQLite reuses their ids)."""
    index = application.extensions["search_index"]
    if index.doc_count():
        index.rebuild([])


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def localstripe(app: Flask) -> Iterator[str]:
    """A real localstripe on a free loopback port for the whole run; yields its base URL."""
    port = free_port()
    process = start_process(port)
    base = f"http://127.0.0.1:{port}"
    previous = app.config["STRIPE_API_BASE"]
    app.config["STRIPE_API_BASE"] = base
    yield base
    app.config["STRIPE_API_BASE"] = previous
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def stripe_clean(localstripe: str) -> str:
    """Empty localstripe before the test (registered webhooks are kept: see tests/payments)."""
    request = urllib.request.Request(f"{localstripe}/_config/data", method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as response:  # loopback, our own server
        response.read()
    return localstripe


@pytest.fixture
def council(db_session):
    """A council area, committed."""
    from tests.factories import CouncilFactory

    area = CouncilFactory()
    db_session.commit()
    return area


@pytest.fixture
def moderator(db_session, council):
    """ULO staff (with a second factor) covering `council`."""
    from tests.listing_helpers import ulo_moderator

    user = ulo_moderator(council)
    db_session.commit()
    return user
