"""The `flask payments` commands."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from marketplace.extensions import db
from marketplace.payments import services

payments_cli = AppGroup("payments", help="Payments: compare our ledger with Stripe.")


@payments_cli.command("reconcile")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="How many of Stripe's PaymentIntents to list.",
)
def reconcile_command(limit: int) -> None:
    """Compare succeeded charges with Stripe and print any gaps (exit status 1 if any)."""
    report = services.reconcile(db.session, remote_limit=limit)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        sys.exit(1)
