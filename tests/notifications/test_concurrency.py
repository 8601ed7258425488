"""Two clicks of the same link at once, with real commits from two threads: it works once.

The second click reads the link as unused (the first has not committed yet) and then meets the
conditional UPDATE ... WHERE used_at IS NULL, which PostgreSQL re-checks once the first commits
(on SQLite, BEGIN IMMEDIATE makes the second wait before it reads at all).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from marketplace.audit import AuditEntry
from marketplace.auth.models import User
from marketplace.notifications import links
from tests.conftest import database_of_its_own


@pytest.fixture
def own_database(db_session, app) -> Iterator[sessionmaker[Session]]:
    with database_of_its_own(app, "notify") as factory:
        yield factory


def test_two_clicks_at_once_do_the_action_once(app, own_database):
    factory = own_database
    with factory() as session:
        person = User(
            email="racer@example.org",
            display_name="Racer",
            password_hash="x",
            usage_intent="holder",
        )
        session.add(person)
        session.flush()
        with app.test_request_context():
            url = links.make_link(session, person, "fewer_emails", {})
        session.commit()
        person_id = person.id
    raw = url.rsplit("/", 1)[1]
    first_used = threading.Event()
    outcomes: dict[str, str] = {}

    def first() -> None:
        with app.test_request_context(), factory() as session:
            links.use(session, raw)
            outcomes["first"] = "done"
            first_used.set()
            time.sleep(0.3)  # hold the transaction open while the second click arrives
            session.commit()

    def second() -> None:
        first_used.wait(10)
        with app.test_request_context(), factory() as session:
            try:
                links.use(session, raw)
            except links.LinkUnusable as error:
                outcomes["second"] = error.found.state.value
            else:
                outcomes["second"] = "done"
            session.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert outcomes == {"first": "done", "second": "used"}
    with factory() as session:
        uses = session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.action == "notifications.link_used", AuditEntry.actor_id == person_id
            )
        )
        assert uses == 1
        with pytest.raises(links.LinkUnusable):
            links.use(session, raw)
