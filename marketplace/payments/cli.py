"""The `flask payments` commands."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from marketplace import outbox
from marketplace.extensions import db
from marketplace.payments import reconciliation

payments_cli = AppGroup("payments", help="Payments: compare our records with Stripe.")


@payments_cli.command("reconcile")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="How many of Stripe's most recent PaymentIntents, refunds and invoices to list.",
)
@click.option(
    "--mend/--no-mend",
    default=True,
    show_default=True,
    help="Record what Stripe already did to charges still open here (a hold placed, taken or "
    "released whose answer a crash lost). Never moves money.",
)
def reconcile_command(limit: int, mend: bool) -> None:
    """Compare charges, holds, refunds and subscription invoices with Stripe, and payouts with
    what is owed; mend what is only behind, and print every gap by kind (exit status 1 if any
    are left)."""
    report = reconciliation.reconcile(db.session, remote_limit=limit, mend=mend)
    if report.mended:
        outbox.commit(db.session)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        sys.exit(1)
