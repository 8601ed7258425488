"""`flask pools ...`: the jobs that keep pools moving (run from cron)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from marketplace import outbox
from marketplace.extensions import db
from marketplace.pools import funding, jobs

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


@pools_cli.command("close-votes")
def close_votes_command() -> None:
    """Close votes whose window has ended and remind proposers to open one in time (what the
    `pools.votes` job does). Safe to run twice."""
    closed, reminded = jobs.close_votes(db.session)
    click.echo(f"Closed {closed} vote(s), reminded {reminded} proposer(s).")
