"""Fewer emails, weekly digests and quiet during a break, through a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.db import as_utc, utcnow
from marketplace.email import ACCOUNT, MONEY, send_email
from marketplace.jobs.models import Job
from marketplace.jobs.services import enqueue, run_next
from marketplace.notifications import digest, preferences
from marketplace.notifications.models import ActionLink, DigestItem, Frequency
from marketplace.privacy.services import erase_account, export_user_data
from marketplace.wellbeing import breaks
from tests.factories import PASSWORD, UserFactory
from tests.notifications.helpers import body_of, do_paths, follow, text

pytestmark = pytest.mark.usefixtures("ctx")


@pytest.fixture
def person(db_session):
    return UserFactory()


def _digest_mode(db_session, person):
    preferences.set_frequency(db_session, person, Frequency.WEEKLY_DIGEST.value)
    db_session.commit()


def _held(db_session, person) -> list[DigestItem]:
    return list(db_session.scalars(select(DigestItem).where(DigestItem.user_id == person.id)))


def _run_jobs(db_session) -> list[str]:
    ran = []
    while outcome := run_next(db_session, "test"):
        ran.append(f"{outcome.kind}:{outcome.outcome}")
    return ran


def test_every_email_to_an_account_has_a_one_click_fewer_emails_link(
    app, db_session, person, mailbox
):
    send_email(person.email, "New message", "There is a new message for you.")
    email = mailbox.last_to(person.email)
    assert "Fewer emails" in body_of(email)
    (path,) = do_paths(email)

    done = follow(app.test_client(), path)
    assert done.status_code == 200 and "one email a week" in text(done)
    assert preferences.frequency_of(db_session, person.id) is Frequency.WEEKLY_DIGEST


def test_in_digest_mode_emails_are_kept_and_the_weekly_job_sends_one(
    app, db_session, person, mailbox
):
    _digest_mode(db_session, person)
    send_email(person.email, "New message from your buddy", "There is a new message.")
    send_email(person.email, "Please vote", "Choose a quote.", user_id=person.id, kind="action")
    assert mailbox.messages == []
    assert [item.subject for item in _held(db_session, person)] == [
        "New message from your buddy",
        "Please vote",
    ]

    enqueue(db_session, "notifications.send_digests")
    db_session.commit()
    assert _run_jobs(db_session) == ["notifications.send_digests:done"]

    assert len(mailbox.messages) == 1
    email = mailbox.last_to(person.email)
    assert email["Subject"] == "Your weekly email from Budget Marketplace"
    body = body_of(email)
    assert "1. New message from your buddy" in body and "2. Please vote" in body
    assert "/do/" not in body  # already on the fewest emails: no fewer-emails link
    assert _held(db_session, person) == []

    assert digest.send_digests(db_session) == 0  # nothing kept: nothing sent
    assert len(mailbox.messages) == 1


def test_money_that_is_due_is_sent_at_once_in_digest_mode(app, db_session, person, mailbox):
    _digest_mode(db_session, person)
    send_email(person.email, "Your payment", "Please pay.", user_id=person.id, kind=MONEY)
    assert mailbox.last_to(person.email)["Subject"] == "Your payment"
    assert _held(db_session, person) == []


def test_account_emails_are_never_held_and_carry_no_links(app, db_session, person, mailbox):
    _digest_mode(db_session, person)
    send_email(person.email, "Reset your password", "Here is the link.", kind=ACCOUNT)
    assert "Fewer emails" not in body_of(mailbox.last_to(person.email))
    assert db_session.scalars(select(ActionLink)).first() is None


def test_the_password_reset_email_arrives_in_digest_mode(app, db_session, person, mailbox):
    from tests.helpers import post

    _digest_mode(db_session, person)
    post(app.test_client(), "/forgotten-password", {"email": person.email})
    assert mailbox.last_to(person.email)["Subject"] == "Reset your password"


def test_during_a_break_only_money_is_sent_and_the_rest_comes_on_return(
    app, db_session, person, mailbox
):
    breaks.start_break(db_session, person, "open")
    db_session.commit()

    send_email(person.email, "New message", "There is a new message.")
    send_email(person.email, "Please confirm hours", "Confirm?", user_id=person.id, kind="action")
    assert mailbox.messages == []
    send_email(person.email, "Your pool payment", "Please pay.", user_id=person.id, kind=MONEY)
    assert [m["Subject"] for m in mailbox.messages] == ["Your pool payment"]

    # The weekly digest leaves it alone while they are away.
    assert digest.send_digests(db_session) == 0
    assert len(_held(db_session, person)) == 2

    breaks.end_break(db_session, person)
    db_session.commit()
    assert "notifications.send_digest:done" in _run_jobs(db_session)
    email = mailbox.last_to(person.email)
    assert email["Subject"].startswith("Welcome back")
    body = body_of(email)
    assert "New message" in body and "Please confirm hours" in body
    assert _held(db_session, person) == []


def test_a_timed_break_that_has_run_out_no_longer_holds_emails(app, db_session, person, mailbox):
    breaks.start_break(db_session, person, "week", now=utcnow() - timedelta(days=8))
    db_session.commit()
    send_email(person.email, "New message", "There is a new message.")
    assert mailbox.last_to(person.email)["Subject"] == "New message"


def test_someone_without_an_account_gets_the_email_as_written(app, db_session, mailbox):
    send_email("newcomer@example.org", "An invitation", "Join us.")
    assert body_of(mailbox.last_to("newcomer@example.org")).strip() == "Join us."


def test_an_erased_accounts_old_address_is_not_looked_up(app, db_session, person, mailbox):
    _digest_mode(db_session, person)
    address = person.email
    person.erased_at = utcnow()
    db_session.commit()
    send_email(address, "Hello", "Plain.")  # e.g. a case answer to the address they gave
    assert body_of(mailbox.last_to(address)).strip() == "Plain."


def test_queue_mode_still_enqueues_with_the_footer_and_holds_the_same(
    app, db_session, person, mailbox
):
    app.config["EMAIL_DELIVERY"] = "queue"
    try:
        send_email(person.email, "New message", "Hello.")
        (job,) = db_session.scalars(select(Job).where(Job.kind == "email.send"))
        assert "Fewer emails" in job.payload["body"]
        _digest_mode(db_session, person)
        send_email(person.email, "Another", "Hello again.")
        assert db_session.scalars(select(Job).where(Job.kind == "email.send")).all() == [job]
        assert len(_held(db_session, person)) == 1
        digest.send_digests(db_session)  # the digest itself is queued too
        assert len(db_session.scalars(select(Job).where(Job.kind == "email.send")).all()) == 2
    finally:
        app.config["EMAIL_DELIVERY"] = "direct"
    assert mailbox.messages == []


def test_export_and_erase_cover_every_table(app, db_session, person, mailbox):
    _digest_mode(db_session, person)
    send_email(person.email, "Kept", "For later.")
    from marketplace.notifications.links import make_link

    make_link(db_session, person, "fewer_emails", {})
    db_session.commit()
    exported = export_user_data(db_session, person)["emails"]
    assert exported["frequency"] == "weekly_digest"
    assert exported["emails_kept_for_later"][0]["subject"] == "Kept"
    assert exported["one_click_links"][0]["action"] == "fewer_emails"

    erase_account(db_session, person, PASSWORD)
    db_session.commit()
    assert _held(db_session, person) == []
    assert db_session.scalars(select(ActionLink)).first() is None
    assert preferences.frequency_of(db_session, person.id) is Frequency.EACH


def test_a_kept_email_whose_links_are_all_done_is_left_out_of_the_digest(
    app, db_session, person, mailbox
):
    from marketplace.notifications.links import make_link

    _digest_mode(db_session, person)
    # A kept "please do this" whose only link has nothing left to do (they already get the
    # weekly email, so "fewer emails" is done), beside plain news.
    stale = make_link(db_session, person, "fewer_emails", {})
    db_session.commit()
    send_email(person.email, "Please choose fewer emails", f"One click:\n{stale}")
    send_email(person.email, "News", "Plain news.")
    assert len(_held(db_session, person)) == 2

    assert digest.send_digests(db_session) == 1
    db_session.commit()  # the digest goes after the commit
    body = body_of(mailbox.last_to(person.email))
    assert "News" in body and "Please choose fewer emails" not in body

    send_email(person.email, "Please choose fewer emails", f"One click:\n{stale}")
    assert digest.send_digests(db_session) == 0  # only a stale one: no email at all
    assert len(mailbox.messages) == 1 and _held(db_session, person) == []


def test_links_kept_through_a_long_break_work_for_a_week_from_when_they_arrive(
    app, db_session, person, mailbox
):
    from marketplace.notifications import links

    long_ago = utcnow() - timedelta(days=60)
    breaks.start_break(db_session, person, "open", now=long_ago)
    raw_url = links.make_link(db_session, person, "fewer_emails", {}, now=long_ago)
    db_session.commit()
    send_email(person.email, "Fewer emails?", f"One click:\n{raw_url}", user_id=person.id)
    token = raw_url.rsplit("/", 1)[-1]

    # Expired 53 days ago, yet the weekly clean-up keeps it: its email has not gone out yet.
    assert links.find(db_session, token).state is links.State.EXPIRED
    links.purge(db_session)
    db_session.commit()
    assert db_session.scalars(select(ActionLink).where(ActionLink.user_id == person.id)).all()

    breaks.end_break(db_session, person)
    db_session.commit()
    assert "notifications.send_digest:done" in _run_jobs(db_session)
    email = mailbox.last_to(person.email)
    assert "Fewer emails?" in body_of(email)
    assert "works once, for 7 days from today" in body_of(email)
    found = links.find(db_session, token)
    assert found.state is links.State.READY
    assert as_utc(found.link.expires_at) > utcnow() + timedelta(days=6)
    (path,) = do_paths(email)
    assert follow(app.test_client(), path).status_code == 200
    assert preferences.frequency_of(db_session, person.id) is Frequency.WEEKLY_DIGEST

    # Used or not, once its email has gone it is cleared like any other in time.
    links.purge(db_session, now=utcnow() + timedelta(days=40))
    db_session.commit()
    assert db_session.scalars(select(ActionLink).where(ActionLink.user_id == person.id)).all() == []


def test_emails_kept_during_a_break_arrive_as_a_welcome_back_even_from_the_weekly_run(
    app, db_session, person, mailbox
):
    """A timed break can run out before its job ends it, and the weekly run get there first:
    what the break kept still arrives as a welcome back, never as "Your weekly email"."""
    breaks.start_break(db_session, person, "week", now=utcnow() - timedelta(days=3))
    db_session.commit()
    send_email(person.email, "New message", "There is a new message.", user_id=person.id)
    assert mailbox.messages == []

    later = utcnow() + timedelta(days=5)  # the week is over; end_due_breaks has not run yet
    assert digest.send_digests(db_session, now=later) == 1
    db_session.commit()
    email = mailbox.last_to(person.email)
    assert email["Subject"] == "Welcome back: what we kept for you while you were away"
    body = body_of(email)
    assert "Welcome back. While you were away we kept these emails" in body
    assert "from the last week" not in body and "New message" in body


def test_the_welcome_back_goes_from_the_worker_that_make_run_starts(app, db_session, person):
    """`make run` runs marketplace.devserver, which starts `flask worker`; the worker runs every
    registered job, and a break's end enqueues "notifications.send_digest"."""
    from pathlib import Path

    from marketplace.jobs import registry

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "-m marketplace.devserver" in makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    devserver = (Path(__file__).resolve().parents[2] / "marketplace/devserver.py").read_text()
    assert '"worker"' in devserver and "start_worker()" in devserver
    assert registry.lookup("notifications.send_digest") is not None

    breaks.start_break(db_session, person, "open")
    db_session.commit()
    send_email(person.email, "New message", "There is a new message.", user_id=person.id)
    breaks.end_break(db_session, person)
    db_session.commit()
    assert "notifications.send_digest:done" in _run_jobs(db_session)
