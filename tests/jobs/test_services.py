"""Enqueueing and running jobs in one process, inside the test's rolled-back transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from marketplace.db import as_utc, utcnow
from marketplace.jobs import services
from marketplace.jobs.models import Job, JobStatus
from marketplace.jobs.schedule import SCHEDULE, Scheduler, period_start
from marketplace.jobs.services import backoff, enqueue, run_next
from tests.jobs import handlers


@pytest.fixture(autouse=True)
def no_calls():
    handlers.calls.clear()
    yield
    handlers.calls.clear()


def jobs(session, kind: str | None = None) -> list[Job]:
    query = select(Job).order_by(Job.id)
    if kind:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query))


def counted(kind: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value("marketplace_jobs_total", {"kind": kind, "outcome": outcome})
    return value or 0.0


def test_a_job_runs_once_and_is_marked_done(app, db_session):
    job = enqueue(db_session, "test.ok", {"n": 1})
    db_session.commit()
    before = counted("test.ok", "done")

    outcome = run_next(db_session, "worker-a")

    assert outcome == services.Outcome(job.id, "test.ok", "done")
    assert handlers.calls == [{"n": 1}]
    db_session.refresh(job)
    assert job.status == JobStatus.DONE
    assert job.worker == "worker-a"
    assert job.finished_at is not None
    assert counted("test.ok", "done") == before + 1
    assert run_next(db_session, "worker-a") is None  # nothing else is due
    assert handlers.calls == [{"n": 1}]


def test_jobs_run_in_order_of_when_they_are_due_and_not_before(app, db_session):
    now = utcnow()
    enqueue(db_session, "test.ok", {"n": "later"}, run_at=now + timedelta(minutes=5))
    enqueue(db_session, "test.ok", {"n": "second"}, run_at=now - timedelta(minutes=1))
    enqueue(db_session, "test.ok", {"n": "first"}, run_at=now - timedelta(minutes=2))
    db_session.commit()

    while run_next(db_session, "w", now=now):
        pass

    assert handlers.calls == [{"n": "first"}, {"n": "second"}]
    run_next(db_session, "w", now=now + timedelta(minutes=5))
    assert handlers.calls[-1] == {"n": "later"}


def test_a_duplicate_dedupe_key_is_skipped_without_harming_the_callers_transaction(app, db_session):
    first = enqueue(db_session, "test.ok", {"n": 1}, dedupe_key="daily@2026-11-24")
    second = enqueue(db_session, "test.ok", {"n": 2}, dedupe_key="daily@2026-11-24")
    # The caller carries on in the same transaction.
    after = enqueue(db_session, "test.ok", {"n": 3})
    db_session.commit()

    assert first is not None and first.dedupe_key == "daily@2026-11-24"
    assert second is None
    assert [job.payload for job in jobs(db_session)] == [{"n": 1}, {"n": 3}]
    assert after in jobs(db_session)


def test_a_job_enqueued_by_a_transaction_that_rolls_back_does_not_exist(app, db_session):
    enqueue(db_session, "test.ok", {"n": 1})
    enqueue(db_session, "test.ok", {"n": 2}, dedupe_key="once")
    db_session.rollback()

    assert jobs(db_session) == []
    assert run_next(db_session, "w") is None
    # The key was never taken: the next transaction may use it.
    assert enqueue(db_session, "test.ok", {"n": 3}, dedupe_key="once") is not None


def test_a_failed_job_is_retried_after_a_growing_backoff_and_its_changes_undone(app, db_session):
    job = enqueue(db_session, "test.fail", {"why": "testing"})
    db_session.commit()
    now = utcnow()
    before = counted("test.fail", "failed")

    outcome = run_next(db_session, "w", now=now)

    assert outcome is not None and outcome.outcome == "failed"
    db_session.refresh(job)
    assert job.status == JobStatus.QUEUED
    assert job.attempts == 1
    assert "RuntimeError: this job always fails (testing)" in (job.last_error or "")
    assert as_utc(job.run_at) > now + backoff(1) - timedelta(seconds=1)
    assert jobs(db_session, "test.ok") == []  # what the handler enqueued was rolled back
    assert counted("test.fail", "failed") == before + 1

    assert run_next(db_session, "w", now=now + timedelta(seconds=5)) is None  # not due yet
    later = as_utc(job.run_at) + timedelta(seconds=1)
    assert run_next(db_session, "w", now=later) is not None
    db_session.refresh(job)
    assert job.attempts == 2
    assert as_utc(job.run_at) > later + backoff(2) - timedelta(seconds=1)
    assert backoff(1) < backoff(2) < backoff(3)
    assert backoff(30) == timedelta(hours=1)


def test_after_max_attempts_a_job_goes_to_the_dead_letter_and_can_be_retried(app, db_session):
    job = enqueue(db_session, "test.fail", max_attempts=2)
    db_session.commit()
    now = utcnow()
    before = counted("test.fail", "dead")

    outcomes = [run_next(db_session, "w", now=now + timedelta(hours=h)) for h in (0, 2, 4)]

    assert [o.outcome if o else None for o in outcomes] == ["failed", "dead", None]
    db_session.refresh(job)
    assert job.status == JobStatus.DEAD
    assert job.attempts == 2
    assert counted("test.fail", "dead") == before + 1

    services.retry(db_session, job.id)
    db_session.commit()
    assert job.status == JobStatus.QUEUED and job.attempts == 0
    assert run_next(db_session, "w") is not None
    with pytest.raises(services.JobError, match="not dead"):
        services.retry(db_session, job.id)
    with pytest.raises(services.JobError, match="no job"):
        services.retry(db_session, 10**9)


def test_a_job_of_an_unknown_kind_goes_dead_with_a_clear_error(app, db_session):
    job = enqueue(db_session, "no.such_kind", {"x": 1})
    db_session.commit()

    outcome = run_next(db_session, "w")

    assert outcome is not None and outcome.outcome == "dead"
    db_session.refresh(job)
    assert job.status == JobStatus.DEAD
    assert job.last_error == "No handler is registered for jobs of kind 'no.such_kind'"


def test_a_handler_that_commits_runs_under_a_lease(app, db_session):
    job = enqueue(db_session, "test.commits", {"n": 1})
    db_session.commit()
    due = job.run_at

    assert run_next(db_session, "w").outcome == "done"

    db_session.refresh(job)
    assert job.status == JobStatus.DONE
    assert as_utc(job.run_at) == as_utc(due)  # the lease's end is not left behind
    assert [j.payload for j in jobs(db_session, "test.ok")] == [{"from": "a committing job"}]


def test_a_committing_handler_that_fails_keeps_what_it_committed_and_is_retried(app, db_session):
    job = enqueue(db_session, "test.commits", {"fail": True})
    db_session.commit()

    assert run_next(db_session, "w").outcome == "failed"

    db_session.refresh(job)
    assert job.status == JobStatus.QUEUED and job.attempts == 1
    assert "failed after committing" in (job.last_error or "")
    assert len(jobs(db_session, "test.ok")) == 1  # committed before the failure: it stays


def test_a_lease_that_ran_out_counts_as_a_failed_attempt(app, db_session):
    now = utcnow()
    job = enqueue(db_session, "test.commits", {"n": 1})
    job.status = JobStatus.RUNNING.value  # taken by a worker that then died
    job.worker = "gone"
    job.run_at = now + timedelta(minutes=1)
    db_session.commit()

    assert run_next(db_session, "w", now=now) is None  # the lease still holds

    outcome = run_next(db_session, "w", now=now + timedelta(minutes=2))
    assert outcome is not None and outcome.outcome == "failed"
    db_session.refresh(job)
    assert job.status == JobStatus.QUEUED and job.attempts == 1
    assert "Worker gone did not finish" in (job.last_error or "")
    assert handlers.calls == []


def test_the_scheduler_enqueues_each_periodic_job_once_per_period(app, db_session):
    now = period_start(utcnow(), timedelta(hours=1)) + timedelta(minutes=20)

    assert Scheduler().tick(db_session, now) == len(SCHEDULE)
    assert Scheduler().tick(db_session, now + timedelta(minutes=2)) == 0  # another worker
    scheduler = Scheduler()
    assert scheduler.tick(db_session, now + timedelta(minutes=2)) == 0
    assert scheduler.tick(db_session, now + timedelta(minutes=3)) == 0  # no new period: no SQL
    assert scheduler.tick(db_session, now + timedelta(minutes=5)) == 1  # a new 5 minutes
    assert scheduler.tick(db_session, now + timedelta(minutes=10)) == 4  # and a new 15 minutes

    keys = sorted(job.dedupe_key or "" for job in jobs(db_session))
    hour = now.replace(minute=0).isoformat()
    assert keys == sorted(
        [
            f"auth.purge_expired_links@{hour}",
            f"buddies.resume_due@{hour}",
            f"buddies.tell_when_free@{hour}",
            f"memberships.run_jobs@{hour}",
            f"moderation.watch@{now.replace(minute=15).isoformat()}",
            f"moderation.watch@{now.replace(minute=30).isoformat()}",
            f"notifications.send_digests@{period_start(now, timedelta(days=7)).isoformat()}",
            f"pools.chase_invoices@{hour}",
            f"pools.charge_due@{now.replace(minute=15).isoformat()}",
            f"pools.charge_due@{now.replace(minute=30).isoformat()}",
            f"pools.votes@{now.replace(minute=15).isoformat()}",
            f"pools.votes@{now.replace(minute=30).isoformat()}",
            f"providers.check_reminders@{period_start(now, timedelta(days=1)).isoformat()}",
            f"receipts.issue@{now.replace(minute=20).isoformat()}",
            f"receipts.issue@{now.replace(minute=25).isoformat()}",
            f"receipts.issue@{now.replace(minute=30).isoformat()}",
            f"wellbeing.end_due_breaks@{hour}",
        ]
    )


def test_the_periodic_jobs_run_their_existing_code_paths(app, db_session):
    Scheduler().tick(db_session)

    outcomes = []
    while outcome := run_next(db_session, "w"):
        outcomes.append((outcome.kind, outcome.outcome))

    assert sorted(outcomes) == [
        ("auth.purge_expired_links", "done"),
        ("buddies.resume_due", "done"),
        ("buddies.tell_when_free", "done"),
        ("memberships.run_jobs", "done"),
        ("moderation.watch", "done"),
        ("notifications.send_digests", "done"),
        ("pools.charge_due", "done"),
        ("pools.chase_invoices", "done"),
        ("pools.votes", "done"),
        ("providers.check_reminders", "done"),
        ("receipts.issue", "done"),
        ("wellbeing.end_due_breaks", "done"),
    ]


def test_purge_deletes_only_old_finished_jobs(app, db_session):
    old = enqueue(db_session, "test.ok")
    enqueue(db_session, "test.ok")
    dead = enqueue(db_session, "no.such_kind")
    db_session.commit()
    while run_next(db_session, "w"):
        pass
    old.finished_at = utcnow() - timedelta(days=40)
    dead.finished_at = utcnow() - timedelta(days=40)
    db_session.commit()

    assert services.purge_done(db_session, timedelta(days=30)) == 1
    assert db_session.scalar(select(func.count()).select_from(Job)) == 2


def test_a_handler_that_commits_without_saying_so_goes_dead_with_a_clear_error(app, db_session):
    job = enqueue(db_session, "test.commits_wrongly")
    db_session.commit()

    assert run_next(db_session, "w").outcome == "dead"

    db_session.refresh(job)
    assert job.status == JobStatus.DEAD
    assert "must be registered with commits=True" in (job.last_error or "")
