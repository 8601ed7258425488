"""The `flask payments` commands."""

from __future__ import annotations

import sys
from datetime import datetime

import click
from flask.cli import AppGroup

from marketplace import outbox
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.money import format_pence
from marketplace.organisations.models import Organisation
from marketplace.payments import payouts, reconciliation

payments_cli = AppGroup(
    "payments", help="Payments: compare our ledger with Stripe, record payouts paid."
)


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


@payments_cli.command("record-payout")
@click.option("--organisation", "organisation_id", type=int, required=True, help="Its id.")
@click.option(
    "--amount", type=click.IntRange(min=1), required=True, help="In pence, e.g. 12000 for £120."
)
@click.option("--reference", required=True, help="The bank transfer's reference.")
@click.option(
    "--date",
    "paid_on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day it was paid (YYYY-MM-DD); today if left out.",
)
def record_payout_command(
    organisation_id: int, amount: int, reference: str, paid_on: datetime | None
) -> None:
    """Record a payout already paid to an organisation by bank transfer. Moves no money:
    localstripe has no Connect, so payouts are paid outside the site and written down here."""
    org = db.session.get(Organisation, organisation_id)
    if org is None:
        raise click.ClickException(f"There is no organisation {organisation_id}.")
    try:
        payout = payouts.record_payout(
            db.session, None, org, amount, reference, paid_on.date() if paid_on else None
        )
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    outbox.commit(db.session)
    left = payouts.balance_owed(db.session, org.id)
    click.echo(
        f"Recorded {format_pence(payout.amount_pence)} paid to {org.name} on "
        f"{payout.paid_on.isoformat()} (reference {payout.reference}). "
        f"Still owed: {format_pence(left)}."
    )
