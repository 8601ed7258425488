"""`flask memberships ...`: the membership jobs (run from cron, e.g. hourly)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from marketplace.extensions import db
from marketplace.memberships import billing

memberships_cli = AppGroup("memberships", help="ULO memberships: switches, pauses, lapses.")


@memberships_cli.command("run-jobs")
def run_jobs_command() -> None:
    """Apply basis switches whose month has come, end finished pauses, lapse memberships whose
    payment has been due for 14 days, and send payment reminders. Safe to run again."""
    report = billing.run_jobs(db.session)
    click.echo(
        f"Switched {report.switched}, resumed {report.resumed}, lapsed {report.lapsed}; "
        f"payment reminders sent {report.reminders.sent}."
    )
