"""`flask receipts ...`: issue the receipts that are due (what the `receipts.issue` job does)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from marketplace.extensions import db
from marketplace.receipts import jobs

receipts_cli = AppGroup("receipts", help="Receipts for successful payments.")


@receipts_cli.command("issue")
def issue_command() -> None:
    """Issue and email a receipt for every successful payment that has none yet. Safe to run
    twice, or on two machines at once: each payment gets one receipt."""
    numbers = jobs.issue_due(db.session)
    click.echo(f"Issued {len(numbers)} receipt(s){': ' + ', '.join(numbers) if numbers else ''}.")
