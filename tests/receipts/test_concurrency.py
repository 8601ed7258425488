"""Two workers issuing receipts at the same moment, with real commits from real threads, on
SQLite and PostgreSQL: each payment still gets one receipt, one number and one email."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from marketplace.extensions import db
from marketplace.organisations.models import OrganisationKind
from marketplace.receipts import jobs
from marketplace.receipts.models import Receipt
from tests.conftest import database_of_its_own
from tests.factories import CouncilFactory, OrganisationFactory, StaffFactory, UserFactory
from tests.listing_helpers import ulo_moderator
from tests.receipts.conftest import captured_pool


@pytest.fixture
def own_database(db_session, app) -> Iterator[sessionmaker[Session]]:
    with database_of_its_own(app, "receipts") as factory:
        yield factory


def test_two_workers_at_once_issue_each_receipt_once(own_database, gateway, app, mailbox):
    council = CouncilFactory()
    moderator = ulo_moderator(council)
    org = OrganisationFactory(kind=OrganisationKind.PROVIDER.value, postal_address="1 Road")
    org.councils.append(council)
    staff = UserFactory()
    StaffFactory(organisation=org, user=staff)
    db.session.commit()
    _pool, members = captured_pool(db.session, gateway, council, moderator, (staff, org))
    db.session.commit()
    mailbox.clear()
    start = threading.Barrier(2)
    issued: list[list[str]] = []

    def worker() -> None:
        with app.app_context():
            start.wait(timeout=30)
            for attempt in range(50):
                session = db.scoped()
                try:
                    issued.append(jobs.issue_due(session))
                    return
                except OperationalError:
                    session.rollback()  # SQLite's lock wait ran out; go again
                    time.sleep(0.01 * (attempt + 1))
                finally:
                    db.scoped.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(n for run in issued for n in run) == sorted({n for run in issued for n in run})
    with own_database() as session:
        found = session.scalars(select(Receipt)).all()
        assert len(found) == 3
        assert sorted(r.user_id for r in found) == sorted(m.id for m in members)
        assert len({r.number for r in found}) == 3
    for person in members:
        sent = [m for m in mailbox.messages if m["To"] == person.email]
        assert len([m for m in sent if "Receipt" in str(m["Subject"])]) == 1
