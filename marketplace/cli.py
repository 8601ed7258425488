"""Command-line tasks: migrations, demo data, creating an admin."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from marketplace import migrations
from marketplace.backup.cli import backup_command, restore_command
from marketplace.jobs import cli as jobs_cli

db_cli = AppGroup("db", help="Database schema migrations.")


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def upgrade_command(revision: str) -> None:
    """Apply migrations up to REVISION."""
    migrations.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo("Database is up to date.")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def revision_command(message: str) -> None:
    """Autogenerate a migration from the models."""
    migrations.make_revision(current_app.config["DATABASE_URL"], message)


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="Add demo data even if the database has accounts.")
def seed_demo_command(force: bool) -> None:
    """Fill an empty database with a fictional demo world and print the demo accounts."""
    from marketplace.demo import seed

    seeded = seed.seed_if_empty(force=force)
    if seeded is None:
        click.echo("The database already has data; demo data not loaded (use --force).")
        return
    click.echo(seed.describe_accounts(seeded))


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(db_cli)
    app.cli.add_command(seed_demo_command)
    jobs_cli.register(app)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
