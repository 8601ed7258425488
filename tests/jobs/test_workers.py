"""Real `flask worker` processes against a database of their own: each job runs exactly once.

The rest of the suite runs inside one rolled-back transaction that other processes cannot see,
so these tests migrate a separate database (PostgreSQL when TEST_DATABASE_URL is set).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from marketplace.config import PROJECT_ROOT
from marketplace.db import make_engine
from marketplace.jobs.models import Job, JobStatus
from marketplace.jobs.services import enqueue
from tests.conftest import reset_schema, separate_database
from tests.jobs.handlers import BARRIER_ENV, CRASH_MARKER_ENV, EFFECTS_TABLE

ON_POSTGRESQL = bool(os.environ.get("TEST_DATABASE_URL"))


@pytest.fixture(scope="module")
def database() -> Iterator[tuple[str, Engine]]:
    url, drop = separate_database("jobs")
    reset_schema(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {EFFECTS_TABLE} (n INTEGER NOT NULL, pid INTEGER)"))
    try:
        yield url, engine
    finally:
        engine.dispose()
        drop()


@pytest.fixture
def own_database(database) -> Iterator[tuple[str, Engine]]:
    url, engine = database
    yield url, engine
    with engine.begin() as connection:
        connection.execute(text(f"DELETE FROM {EFFECTS_TABLE}"))
        connection.execute(text("DELETE FROM jobs"))


def start_worker(
    url: str, name: str, tmp_path: Path, burst: bool = True, **env: str
) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "SEARCH_INDEX_DIR": str(tmp_path / f"index-{name}"),  # no race to create a shared one
        "MARKETPLACE_EXTRA_JOB_MODULES": "tests.jobs.handlers",  # the test hook
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--no-schedule"]
        + ["--id", name, "--poll", "0.2"]
        + (["--burst"] if burst else []),
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    output, _ = process.communicate(timeout=180)
    return process.returncode, output


def enqueue_records(engine: Engine, count: int, sleep: float = 0.0) -> None:
    with Session(engine) as session:
        for n in range(count):
            enqueue(session, "test.record", {"n": n, "sleep": sleep})
        session.commit()


def runs_per_job(engine: Engine) -> dict[int, int]:
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT n, COUNT(*) FROM {EFFECTS_TABLE} GROUP BY n"))
        return {int(n): int(count) for n, count in rows}


def statuses(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
        return {str(status): int(count) for status, count in rows}


@pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="parallel workers need PostgreSQL's SKIP LOCKED; SQLite runs one writer at a time "
    "(see test_one_worker_process_runs_every_job_once)",
)
def test_four_worker_processes_run_each_job_exactly_once(own_database, tmp_path):
    url, engine = own_database
    jobs = 300
    enqueue_records(engine, jobs, sleep=0.005)
    barrier = tmp_path / "barrier"
    barrier.mkdir()

    workers = [
        start_worker(url, f"w{i}", tmp_path, **{BARRIER_ENV: f"{barrier}:4"}) for i in range(4)
    ]
    results = [finish(worker) for worker in workers]

    assert [code for code, _ in results] == [0, 0, 0, 0], results
    assert statuses(engine) == {JobStatus.DONE.value: jobs}
    assert runs_per_job(engine) == dict.fromkeys(range(jobs), 1)  # none lost, none twice
    with Session(engine) as session:
        per_worker = dict(
            session.execute(select(Job.worker, func.count()).group_by(Job.worker)).all()
        )
    assert sum(per_worker.values()) == jobs
    assert len(per_worker) > 1, per_worker  # the work really was shared


def test_one_worker_process_runs_every_job_once(own_database, tmp_path):
    url, engine = own_database
    enqueue_records(engine, 50)

    code, output = finish(start_worker(url, "solo", tmp_path))

    assert code == 0, output
    assert "Worker solo ran 50 jobs." in output
    assert statuses(engine) == {JobStatus.DONE.value: 50}
    assert runs_per_job(engine) == dict.fromkeys(range(50), 1)


def test_a_worker_that_dies_mid_job_leaves_no_trace_and_the_job_runs_again(own_database, tmp_path):
    url, engine = own_database
    with Session(engine) as session:
        enqueue(session, "test.crash_once", {"n": 7})
        session.commit()
    marker = {CRASH_MARKER_ENV: str(tmp_path / "crashed")}

    code, output = finish(start_worker(url, "doomed", tmp_path, **marker))

    assert code == 3, output  # killed itself inside the handler, after writing its row
    assert runs_per_job(engine) == {}  # the row and the job's state rolled back together
    with Session(engine) as session:
        job = session.scalars(select(Job)).one()
        assert (job.status, job.attempts) == (JobStatus.QUEUED.value, 0)

    code, output = finish(start_worker(url, "next", tmp_path, **marker))

    assert code == 0, output
    assert runs_per_job(engine) == {7: 1}
    assert statuses(engine) == {JobStatus.DONE.value: 1}


def test_sigterm_lets_the_job_in_hand_finish_and_then_stops_the_worker(own_database, tmp_path):
    url, engine = own_database
    started = tmp_path / "started"
    with Session(engine) as session:
        enqueue(session, "test.record", {"n": 1, "sleep": 3, "started": str(started)})
        enqueue(session, "test.record", {"n": 2})
        session.commit()
    worker = start_worker(url, "t", tmp_path, burst=False)  # burst would stop by itself
    for _ in range(600):
        if started.exists() or worker.poll() is not None:
            break
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)

    code, output = finish(worker)

    assert code == 0, output
    assert "Worker t ran 1 job." in output
    assert runs_per_job(engine) == {1: 1}  # finished and committed; the next one never started
    assert statuses(engine) == {JobStatus.DONE.value: 1, JobStatus.QUEUED.value: 1}
