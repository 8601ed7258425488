"""`flask backup PATH` and `flask restore PATH [--force] [--reindex]`, on the app's database."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from marketplace.backup import services
from marketplace.backup.services import BackupError
from marketplace.providers.indexing import rebuild_command, rebuild_from_database, search_cli

REBUILD_INDEX = f"flask {search_cli.name} {rebuild_command.name}"


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Back up the database to PATH (PostgreSQL: pg_dump custom format; SQLite: a copy)."""
    try:
        report = services.backup(current_app.config["DATABASE_URL"], path)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"Backed up the {services.NAMES[report.kind]} database to {report.path}: "
        f"{len(report.tables)} tables, {report.rows:,} rows, {_size(report.bytes)}, "
        f"in {report.seconds:.2f} s."
    )
    _echo_tables(report.tables)
    click.echo(
        "Not in the backup: the search index (rebuilt from the database), card details (held by "
        "Stripe) and the secret key (SECRET_KEY or instance/secret_key): keep that separately."
    )


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Replace the contents of a database that already has tables (otherwise refused).",
)
@click.option(
    "--reindex", is_flag=True, help=f"Rebuild the search index afterwards ({REBUILD_INDEX})."
)
@with_appcontext
def restore_command(path: Path, force: bool, reindex: bool) -> None:
    """Restore the backup at PATH into the database, which must be empty unless --force."""
    try:
        report = services.restore(path, current_app.config["DATABASE_URL"], force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"Restored {report.source} into the {services.NAMES[report.kind]} database"
        f"{' (its old contents replaced)' if report.replaced_existing else ''}: "
        f"{len(report.tables)} tables, {report.rows:,} rows, in {report.seconds:.2f} s."
    )
    _echo_tables(report.tables)
    if report.leftover_tables:
        click.echo(
            "These tables were already in the database and are not in the backup; they were "
            f"left as they were: {', '.join(report.leftover_tables)}."
        )
    if not report.schema_is_current:
        # The models describe the newest schema; the index must wait until the schema matches.
        click.echo(
            f"The backup's schema is at revision {report.schema_revision or '(none)'}, older "
            "than this code. Run `flask db upgrade`, then "
            f"`{REBUILD_INDEX}` to bring the search index up to date."
        )
        return
    if reindex:
        count = rebuild_from_database()
        click.echo(f"Rebuilt the search index: {count} published listings.")
    else:
        click.echo(
            "The search index still describes the old database: run "
            f"`{REBUILD_INDEX}` now (or restore with --reindex)."
        )


def _echo_tables(tables: dict[str, int]) -> None:
    width = max((len(name) for name in tables), default=0)
    for name, rows in tables.items():
        click.echo(f"  {name:<{width}}  {rows:>9,}")


def _size(count: int) -> str:
    size = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
