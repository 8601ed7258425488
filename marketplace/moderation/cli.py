"""Moderation jobs: `flask moderation hide-reported`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from marketplace import outbox
from marketplace.extensions import db
from marketplace.moderation import reports

moderation_cli = AppGroup("moderation", help="Moderation jobs.")


@moderation_cli.command("hide-reported")
def hide_reported_command() -> None:
    """Hide things reported by three people that no moderator has acted on for 12 hours."""
    notices = reports.hide_after_reports(db.session)
    outbox.commit(db.session)
    reports.send_under_review(notices)
    click.echo(f"Hid content for {len(notices)} owner notice(s).")
