"""`flask pools ...`: the jobs that keep pools moving (run from cron)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from marketplace import outbox
from marketplace.extensions import db
from marketplace.pools import funding

pools_cli = AppGroup("pools", help="Pools: lapse, fund and charge.")


@pools_cli.command("charge-due")
def charge_due_command() -> None:
    """Lapse pools past their deadline, collect months that are due, settle grace periods.

    Safe to run twice, or on two machines at once: each member is charged at most once a month.
    """
    report = funding.JobReport()
    for _ in funding.charge_due_steps(db.session, report):
        outbox.commit(db.session)  # each pool's work on its own
    click.echo(
        f"Lapsed {report.lapsed}, funded {report.funded}, "
        f"collected a month for {report.collected} pool(s)."
    )
