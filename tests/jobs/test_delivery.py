"""Emails and search index updates as jobs (EMAIL_DELIVERY / SEARCH_INDEX_DELIVERY = "queue"),
and the `flask worker` / `flask jobs` commands."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from marketplace.email import send_email
from marketplace.extensions import db
from marketplace.jobs.models import Job, JobStatus
from marketplace.jobs.services import enqueue, run_next
from marketplace.providers import services as listings
from marketplace.providers.models import ListingStatus
from tests.factories import UserFactory
from tests.jobs import handlers  # noqa: F401 - registers the test.* kinds
from tests.listing_helpers import listing_data, provider_with_staff


@pytest.fixture
def queued(app: Flask) -> Iterator[Flask]:
    """The app with emails and search index updates going through the job table."""
    app.config.update(EMAIL_DELIVERY="queue", SEARCH_INDEX_DELIVERY="queue")
    try:
        with app.app_context():
            yield app
    finally:
        app.config.pop("EMAIL_DELIVERY")
        app.config.pop("SEARCH_INDEX_DELIVERY")


def test_a_queued_email_is_sent_by_the_worker_only_after_the_commit(queued, db_session, mailbox):
    user = UserFactory()
    user.display_name = "Sam"  # the caller's change, not yet committed
    send_email("sam@example.org", "Your pool", "It is funded.")
    assert mailbox.messages == []  # not sent in the request
    db_session.commit()
    assert mailbox.messages == []

    outcome = run_next(db_session, "w")

    assert outcome is not None and (outcome.kind, outcome.outcome) == ("email.send", "done")
    message = mailbox.last_to("sam@example.org")
    assert message["Subject"] == "Your pool"
    assert "It is funded." in message.get_payload()


def test_a_queued_email_of_a_rolled_back_change_is_never_sent(queued, db_session, mailbox):
    user = UserFactory()
    user.display_name = "Sam"
    send_email("sam@example.org", "Your pool", "It is funded.")
    db_session.rollback()

    assert run_next(db_session, "w") is None
    assert mailbox.messages == []


def test_an_email_queued_after_the_callers_commit_is_committed_at_once(queued, db_session, mailbox):
    UserFactory()  # committed
    send_email("sam@example.org", "Welcome", "Hello.")
    db_session.rollback()  # the end of the request: nothing more was committed

    assert run_next(db_session, "w").outcome == "done"
    assert mailbox.last_to("sam@example.org")["Subject"] == "Welcome"


def test_emails_go_at_once_by_default(app, db_session, mailbox):
    with app.app_context():
        send_email("sam@example.org", "Hello", "Direct.")
    assert mailbox.last_to("sam@example.org")["Subject"] == "Hello"
    assert db_session.scalars(select(Job)).all() == []


def test_a_queued_index_update_reaches_the_index_when_the_worker_runs(queued, db_session, council):
    index = queued.extensions["search_index"]
    org, staff, _ = provider_with_staff(council)
    listing = listings.create_listing(db_session, staff, org, listing_data(db_session, council))
    listing.status = ListingStatus.PUBLISHED.value
    db_session.commit()

    assert index.doc_count() == 0  # queued, not indexed in the request
    job = db_session.scalars(select(Job).where(Job.kind == "search.index_listings")).one()
    assert job.payload == {"ids": [listing.id]}

    assert run_next(db_session, "w").outcome == "done"
    assert index.doc_count() == 1

    listing.status = ListingStatus.HIDDEN.value
    db_session.commit()
    assert run_next(db_session, "w").outcome == "done"
    assert index.doc_count() == 0


def test_flask_worker_runs_due_jobs_and_flask_jobs_lists_and_retries(app, db_session):
    enqueue(db_session, "test.ok", {"n": 1})
    dead = enqueue(db_session, "no.such_kind")
    db_session.commit()
    dead_id = dead.id  # the command's app context ends by closing the session
    runner = app.test_cli_runner()

    result = runner.invoke(args=["worker", "--burst", "--no-schedule", "--id", "cli-worker"])
    assert result.exit_code == 0, result.output
    assert "Worker cli-worker ran 2 jobs." in result.output

    result = runner.invoke(args=["jobs", "list", "--status", "dead"])
    assert result.exit_code == 0, result.output
    assert f"{dead_id}\tno.such_kind\tdead" in result.output
    assert "test.ok" not in result.output
    assert "No handler is registered" in result.output

    result = runner.invoke(args=["jobs", "retry", str(dead_id)])
    assert result.exit_code == 0, result.output
    assert db.session.get(Job, dead_id).status == JobStatus.QUEUED

    result = runner.invoke(args=["jobs", "retry", "999999999"])
    assert result.exit_code != 0
    assert "There is no job 999999999" in result.output


def test_emails_a_view_sends_after_its_own_commit_are_queued_not_lost(
    app, db_session, council, moderator, mailbox, monkeypatch
):
    """Opening a vote commits, then emails each member a one-click vote link (only reading
    since the commit). In queue mode those emails must still become jobs, with their links."""
    from marketplace.notifications.models import ActionLink
    from marketplace.organisations.models import OrganisationKind
    from tests.factories import OrganisationFactory, StaffFactory
    from tests.helpers import post, sign_in
    from tests.pools.builders import approved_pool, join_by_invoice, quote

    org = OrganisationFactory(kind=OrganisationKind.PROVIDER.value)
    org.councils.append(council)
    staff = UserFactory(roles=["provider_staff"])
    StaffFactory(organisation=org, user=staff)
    pool = approved_pool(db_session, council, moderator)
    members = join_by_invoice(db_session, pool, 3)
    quote(db_session, (staff, org), pool)
    db_session.commit()
    # Not the `queued` fixture: its app context would be shared by every request below.
    monkeypatch.setitem(app.config, "EMAIL_DELIVERY", "queue")
    client = app.test_client()
    sign_in(client, pool.proposer)

    response = post(
        client, f"/pools/{pool.id}/vote/open", {"days": "7"}, token_from=f"/pools/{pool.id}"
    )

    assert response.status_code == 302
    jobs = db_session.scalars(select(Job).where(Job.kind == "email.send")).all()
    subjects = {job.payload["to"]: job.payload["subject"] for job in jobs}
    for member in members:
        assert subjects[member.email] == "Please vote: choose a quote for your pool"
    votes = db_session.scalars(select(ActionLink).where(ActionLink.action == "vote")).all()
    assert {link.user_id for link in votes} >= {m.id for m in members}
    assert mailbox.messages == []  # the worker sends them
