"""`flask worker` and `flask jobs ...`."""

from __future__ import annotations

import signal
from datetime import timedelta
from types import FrameType

import click
from flask import Flask
from flask.cli import AppGroup

from marketplace import outbox
from marketplace.db import as_utc
from marketplace.extensions import db
from marketplace.jobs import services, worker
from marketplace.jobs.models import JobStatus
from marketplace.jobs.schedule import Scheduler

jobs_cli = AppGroup("jobs", help="Background jobs: list, retry, purge.")


def register(app: Flask) -> None:
    """Add `flask worker` and `flask jobs`."""
    app.cli.add_command(worker_command)
    app.cli.add_command(jobs_cli)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit once no job is due (instead of waiting).")
@click.option("--id", "worker_id", default=None, help="Name in the jobs table [host:pid].")
@click.option(
    "--poll",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds to wait when no job is due.",
)
@click.option(
    "--schedule/--no-schedule",
    default=True,
    show_default=True,
    help="Enqueue the periodic jobs (pool charging, membership jobs, ...).",
)
def worker_command(burst: bool, worker_id: str | None, poll: float, schedule: bool) -> None:
    """Run background jobs. Run as many as you like, on any number of machines.

    SIGTERM finishes the job in hand, then exits.
    """
    name = worker_id or worker.default_worker_id()
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        ran = worker.work(
            db.session,
            name,
            burst=burst,
            poll=poll,
            scheduler=Scheduler() if schedule else None,
            should_stop=lambda: stopping,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo(f"Worker {name} ran {ran} job{'s' if ran != 1 else ''}.")


@jobs_cli.command("list")
@click.option("--status", type=click.Choice([s.value for s in JobStatus]), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def list_command(status: str | None, limit: int) -> None:
    """The most recent jobs, newest first."""
    for job in services.list_jobs(db.session, status, limit):
        error = (job.last_error or "").strip().splitlines()
        click.echo(
            f"{job.id}\t{job.kind}\t{job.status}\tattempts {job.attempts}/{job.max_attempts}"
            f"\trun at {as_utc(job.run_at):%Y-%m-%d %H:%M:%S}\t{job.worker or '-'}"
            + (f"\t{error[-1]}" if error else "")
        )


@jobs_cli.command("retry")
@click.argument("job_id", type=int)
def retry_command(job_id: int) -> None:
    """Put a dead job back in the queue."""
    try:
        job = services.retry(db.session, job_id)
    except services.JobError as error:
        raise click.ClickException(str(error)) from error
    outbox.commit(db.session)
    click.echo(f"Job {job.id} ({job.kind}) is queued again.")


@jobs_cli.command("purge")
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True)
def purge_command(days: int) -> None:
    """Delete jobs that finished successfully more than DAYS days ago."""
    count = services.purge_done(db.session, timedelta(days=days))
    outbox.commit(db.session)
    click.echo(f"Deleted {count} finished job{'s' if count != 1 else ''}.")
