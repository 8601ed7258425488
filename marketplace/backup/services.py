"""Backing up a database to one file and restoring it into an empty database.

PostgreSQL uses pg_dump's custom format (compressed, restored with pg_restore); SQLite uses its
online backup API. Both read a consistent snapshot while the site keeps writing, so a backup can
be taken without stopping anything. A restore goes into an empty database unless the operator
forces it: restoring over live data by mistake is the one thing a restore tool must not make easy.

Nothing here needs a Flask app: the functions take a SQLAlchemy database URL, so they can be
tested, and called from scripts, on any database.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from marketplace.migrations import alembic_config

POSTGRESQL = "postgresql"
SQLITE = "sqlite"

# The first bytes of each kind of file: pg_dump's custom format and SQLite's database header.
_MAGIC = {POSTGRESQL: b"PGDMP", SQLITE: b"SQLite format 3\x00"}
_LABEL = {POSTGRESQL: "a PostgreSQL backup (pg_dump custom format)", SQLITE: "a SQLite database"}
NAMES = {POSTGRESQL: "PostgreSQL", SQLITE: "SQLite"}

# A table entry in `pg_restore --list`: "215; 1259 16390 TABLE public users postgres".
_LISTED_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (\S+) (\S+) ")


class BackupError(Exception):
    """A backup or restore that was refused or failed; the message says why, for the operator."""


@dataclass(frozen=True)
class BackupReport:
    """What a backup wrote: the row count of every table, as of the backup's snapshot."""

    path: Path
    kind: str
    tables: dict[str, int]
    bytes: int
    seconds: float

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


@dataclass(frozen=True)
class RestoreReport:
    """What a restore left in the target database."""

    source: Path
    kind: str
    tables: dict[str, int]
    bytes: int
    seconds: float
    schema_revision: str | None
    schema_is_current: bool
    replaced_existing: bool = False
    # PostgreSQL --force only: tables the target had that the backup does not (left untouched).
    leftover_tables: tuple[str, ...] = field(default=())

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


# ---------------------------------------------------------------------------------------------
# The two entry points


def backup(database_url: str, destination: Path) -> BackupReport:
    """Write a backup of the database to `destination` (replaced only once the backup is whole)."""
    started = time.perf_counter()
    kind = database_kind(database_url)
    with _written_atomically(destination) as partial:
        if kind == POSTGRESQL:
            tables = _backup_postgresql(database_url, partial)
        else:
            tables = _backup_sqlite(database_url, partial)
    return BackupReport(
        path=destination,
        kind=kind,
        tables=tables,
        bytes=destination.stat().st_size,
        seconds=time.perf_counter() - started,
    )


def restore(source: Path, database_url: str, *, force: bool = False) -> RestoreReport:
    """Restore a backup into the database, which must have no tables unless `force` is given.

    With `force`, the backup's tables replace the database's; on PostgreSQL tables the backup
    does not have are left alone and listed in the report. The search index is not touched:
    the caller rebuilds it (`flask search rebuild`).
    """
    started = time.perf_counter()
    kind = database_kind(database_url)
    found = file_kind(source)
    if found is None:
        raise BackupError(
            f"{source} is not a backup: it is neither {' nor '.join(_LABEL.values())}."
        )
    if found != kind:
        raise BackupError(
            f"{source} is {_LABEL[found]}, but the database to restore into is "
            f"{NAMES[kind]}: a backup can only be restored into a {NAMES[found]} database."
        )
    if kind == POSTGRESQL:
        existing, leftovers = _restore_postgresql(source, database_url, force=force)
    else:
        existing = _restore_sqlite(source, database_url, force=force)
        leftovers = ()
    tables = table_counts(database_url)
    revision = _schema_revision(database_url)
    return RestoreReport(
        source=source,
        kind=kind,
        tables=tables,
        bytes=source.stat().st_size,
        seconds=time.perf_counter() - started,
        schema_revision=revision,
        schema_is_current=revision in _migration_heads(database_url),
        replaced_existing=bool(existing),
        leftover_tables=leftovers,
    )


# ---------------------------------------------------------------------------------------------
# Recognising databases and files


def database_kind(database_url: str) -> str:
    """The kind of database, "postgresql" or "sqlite"; no other kind can be backed up here."""
    backend = make_url(database_url).get_backend_name()
    if backend not in (POSTGRESQL, SQLITE):
        raise BackupError(f"Only PostgreSQL and SQLite databases can be backed up, not {backend}.")
    return backend


def file_kind(path: Path) -> str | None:
    """The kind of backup, "postgresql" or "sqlite", from the file's first bytes; else None."""
    try:
        with path.open("rb") as handle:
            head = handle.read(max(len(magic) for magic in _MAGIC.values()))
    except OSError as error:
        raise BackupError(f"Cannot read {path}: {error.strerror}.") from error
    return next((kind for kind, magic in _MAGIC.items() if head.startswith(magic)), None)


def _reading_engine(database_url: str) -> Engine:
    """An engine for looking only. Not make_engine: on SQLite its transactions take the write
    lock, and counting rows must not queue behind (or hold up) the running site."""
    return create_engine(database_url)


def table_counts(database_url: str) -> dict[str, int]:
    """Every table in the database with its number of rows."""
    engine = _reading_engine(database_url)
    try:
        with engine.connect() as connection:
            return _counts(connection)
    except SQLAlchemyError as error:
        raise BackupError(f"Cannot read {_display(database_url)}: {_reason(error)}") from error
    finally:
        engine.dispose()


def _table_names(connection: Connection) -> list[str]:
    if connection.dialect.name == SQLITE:
        sql = (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
            "ESCAPE '\\' ORDER BY name"
        )
        return list(connection.exec_driver_sql(sql).scalars())
    # Every schema that is not PostgreSQL's own: pg_dump backs them all up. Ours use `public`,
    # named without its schema.
    rows = connection.exec_driver_sql(
        "SELECT schemaname, tablename FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
        "AND schemaname !~ '^pg_' ORDER BY schemaname, tablename"
    )
    return [table if schema == "public" else f"{schema}.{table}" for schema, table in rows]


def _counts(connection: Connection) -> dict[str, int]:
    quote = connection.dialect.identifier_preparer.quote
    counts = {}
    for name in _table_names(connection):
        quoted = ".".join(quote(part) for part in name.split(".", 1))
        counts[name] = connection.exec_driver_sql(f"SELECT count(*) FROM {quoted}").scalar_one()  # noqa: S608 - names from the catalogue, quoted
    return counts


def _schema_revision(database_url: str) -> str | None:
    """The Alembic revision the database is at (None if it has no alembic_version table)."""
    engine = _reading_engine(database_url)
    try:
        with engine.connect() as connection:
            if "alembic_version" not in _table_names(connection):
                return None
            return connection.exec_driver_sql(
                "SELECT version_num FROM alembic_version"
            ).scalar_one_or_none()
    finally:
        engine.dispose()


def _migration_heads(database_url: str) -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def _refuse_unless_empty(existing: list[str], database_url: str, force: bool) -> None:
    if existing and not force:
        shown = ", ".join(existing[:5]) + (", ..." if len(existing) > 5 else "")
        raise BackupError(
            f"{_display(database_url)} already has {len(existing)} table(s) ({shown}). "
            "Restore into a new, empty database; or, to replace everything in this one with the "
            "backup, use --force (take a backup of it first)."
        )


# ---------------------------------------------------------------------------------------------
# PostgreSQL


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL for pg_dump and pg_restore, and the environment that carries the password.

    SQLAlchemy's `postgresql+psycopg://` becomes `postgresql://`. The password goes in PGPASSWORD,
    never on a command line, where any user on the machine could read it in the process list.
    """
    url = make_url(database_url)
    env = {"PGPASSWORD": str(url.password)} if url.password else {}
    # URL.create, not url.set: set() takes password=None as "leave it as it is".
    without_password = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    return without_password.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
    )
    if found is None:
        raise BackupError(
            f"{name} was not found: install the PostgreSQL client tools of the server's version."
        )
    return found


def _run(args: list[str], env: dict[str, str]) -> str:
    """Run a PostgreSQL tool; its own error message becomes ours when it fails."""
    result = subprocess.run(  # noqa: S603 - fixed tools, arguments we built, no shell
        args, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        message = result.stderr.strip() or f"exit status {result.returncode}"
        raise BackupError(f"{Path(args[0]).name} failed: {message}")
    return result.stdout


def _backup_postgresql(database_url: str, partial: Path) -> dict[str, int]:
    libpq_url, env = _libpq(database_url)
    pg_dump = _tool("pg_dump")
    engine = create_engine(database_url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection, connection.begin():
            # pg_dump reads the snapshot this transaction exports, so the row counts in the
            # report are exactly the rows in the file, however busy the site is meanwhile.
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            counts = _counts(connection)
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={partial}",
                    f"--dbname={libpq_url}",
                ],
                env,
            )
    except SQLAlchemyError as error:
        raise BackupError(f"Cannot read {_display(database_url)}: {_reason(error)}") from error
    finally:
        engine.dispose()
    return counts


def _archive_tables(source: Path) -> list[str]:
    """The tables a pg_dump archive holds; also proves the archive is readable before we start."""
    listing = _run([_tool("pg_restore"), "--list", str(source)], {})
    tables = []
    for line in listing.splitlines():
        if match := _LISTED_TABLE.match(line):
            schema, table = match.groups()
            tables.append(table if schema == "public" else f"{schema}.{table}")
    return tables


def _restore_postgresql(
    source: Path, database_url: str, *, force: bool
) -> tuple[list[str], tuple[str, ...]]:
    libpq_url, env = _libpq(database_url)
    in_archive = _archive_tables(source)
    engine = _reading_engine(database_url)
    try:
        with engine.connect() as connection:
            existing = _table_names(connection)
    except SQLAlchemyError as error:
        raise BackupError(
            f"Cannot open {_display(database_url)}: {_reason(error)} "
            "(create an empty database first, e.g. with createdb)."
        ) from error
    finally:
        engine.dispose()
    _refuse_unless_empty(existing, database_url, force)
    args = [
        _tool("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        # All or nothing: a restore that fails half way leaves the database as it was.
        "--single-transaction",
        f"--dbname={libpq_url}",
    ]
    if existing:
        args += ["--clean", "--if-exists"]  # drop what the archive is about to create
    _run([*args, str(source)], env)
    leftovers = tuple(name for name in existing if name not in set(in_archive))
    return existing, leftovers


# ---------------------------------------------------------------------------------------------
# SQLite


def _sqlite_path(database_url: str) -> Path:
    name = make_url(database_url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupError("Only a SQLite database in a file can be backed up or restored.")
    return Path(name)


def _open_read_only(path: Path) -> sqlite3.Connection:
    # mode=ro: a mistyped path fails instead of quietly creating an empty database to back up.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=15)


def _backup_sqlite(database_url: str, partial: Path) -> dict[str, int]:
    path = _sqlite_path(database_url)
    if not path.is_file():
        raise BackupError(f"There is no SQLite database at {path}.")
    _copy_sqlite(path, partial)
    return table_counts(f"sqlite:///{partial}")


def _copy_sqlite(source: Path, target: Path) -> None:
    """Copy with SQLite's backup API: page by page under a read lock, so the copy is consistent
    even while the site writes (a plain file copy could catch a transaction half written)."""
    try:
        reader = _open_read_only(source)
        try:
            writer = sqlite3.connect(target, timeout=15)
            try:
                reader.backup(writer)
            finally:
                writer.close()
        finally:
            reader.close()
    except sqlite3.Error as error:
        raise BackupError(f"Cannot copy {source} to {target}: {error}") from error


def _check_sqlite_file(source: Path) -> None:
    try:
        reader = _open_read_only(source)
        try:
            verdict = reader.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            reader.close()
    except sqlite3.Error as error:
        raise BackupError(f"{source} cannot be read as a SQLite database: {error}") from error
    if verdict != "ok":
        raise BackupError(f"{source} is damaged (SQLite quick_check: {verdict}).")


def _restore_sqlite(source: Path, database_url: str, *, force: bool) -> list[str]:
    target = _sqlite_path(database_url)
    _check_sqlite_file(source)
    if not target.exists():
        # A new file appears under its name only when complete.
        with _written_atomically(target) as partial:
            _copy_sqlite(source, partial)
        return []
    try:
        reader = _open_read_only(target)
        try:
            existing = [
                name
                for (name,) in reader.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
                )
            ]
        finally:
            reader.close()
    except sqlite3.Error as error:
        raise BackupError(f"Cannot read {target}: {error}") from error
    _refuse_unless_empty(existing, database_url, force)
    # Into the existing file, not by renaming over it: a running site keeps its open file, and
    # SQLite writes the copy in one transaction, so a failure leaves the old contents.
    _copy_sqlite(source, target)
    return existing


# ---------------------------------------------------------------------------------------------
# Helpers


@contextmanager
def _written_atomically(destination: Path) -> Iterator[Path]:
    """A temporary file beside `destination`, renamed onto it only if the block succeeds.

    A backup that fails (disk full, database gone) must never leave a half-written file under
    the name the operator will later restore from.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp makes the file readable by its owner only: a backup holds everyone's personal data.
    handle, name = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".partial"
    )
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)


def _display(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)


def _reason(error: SQLAlchemyError) -> str:
    """The driver's own message, first line only (SQLAlchemy adds the SQL and a help link)."""
    original = getattr(error, "orig", None) or error
    return str(original).strip().splitlines()[0]
