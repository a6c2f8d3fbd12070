"""Backing up a running database into one file, and restoring it into a new database.

SQLite: the online backup API copies the file inside one read transaction. In WAL mode a
reader blocks no writer, so the services keep accepting webhooks, and the copy is the
snapshot of the moment it began (a step-wise copy would restart on every write and might
never finish under load). PostgreSQL: ``pg_dump`` in its custom format (one consistent
snapshot too) and ``pg_restore`` into a database it creates, with binaries of at least the
server's major version (Debian keeps them in /usr/lib/postgresql/<major>/bin).

The password never reaches a command line (``ps`` shows those) nor a message: the client
binaries get it through ``PGPASSWORD``.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from smbridge.kernel.clock import utc_now
from smbridge.kernel.database import migrations, numbering
from smbridge.kernel.database.engine import normalize_url
from smbridge.kernel.database.numbering import NumberJump

SQLITE_MAGIC = b"SQLite format 3\x00"
PRIVATE = 0o600
PG_DUMP_MAGIC = b"PGDMP"
#: The least a restore moves the next order number on (`db restore --number-gap` sets
#: another): days of orders for any shop, and a visible jump in the numbers.
DEFAULT_NUMBER_GAP = 10_000


class BackupError(Exception):
    """A refusal or a failure, told to the operator as it is (no password in it)."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    seconds: float
    revision: str | None


@dataclass(frozen=True)
class RestoreResult:
    target: str  # the URL without its password
    seconds: float
    revision: str | None
    at_head: bool
    numbers: NumberJump | None  # None: an old SQLite schema, `db skip-numbers` after upgrade


def parse_url(url: str) -> URL:
    try:
        parsed = make_url(normalize_url(url))
    except ArgumentError as error:
        raise BackupError("not a database URL") from error
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise BackupError("a SQLite URL needs a file: sqlite:///path/to/smbridge.db")
        return parsed
    if backend == "postgresql":
        if not parsed.database:
            raise BackupError("a PostgreSQL URL needs a database name")
        return parsed
    raise BackupError(f"unsupported database {backend!r}: sqlite or postgresql")


def shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def backup(url: str, target: Path, *, force: bool = False) -> BackupResult:
    """Copy the database at ``url`` into the file ``target`` while it is in use."""
    source = parse_url(url)
    if target.exists() and not force:
        raise BackupError(f"{target} exists (--force replaces it)")
    if not target.parent.is_dir():
        raise BackupError(f"no directory {target.parent}")
    partial = target.with_name(target.name + ".partial")
    started = time.monotonic()
    try:
        _create_private(partial)  # customers' names, phones, addresses: owner only
        if source.get_backend_name() == "sqlite":
            revision = _sqlite_backup(Path(source.database or ""), partial)
        else:
            revision = _revision_of(source)
            _run(_pg_binary("pg_dump", source), source, "-Fc", "--no-password", "-f", str(partial))
        os.replace(partial, target)  # a file named like a backup is a whole backup
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, time.monotonic() - started, revision)


def restore(
    source: Path,
    url: str,
    *,
    force: bool = False,
    min_number_gap: int = DEFAULT_NUMBER_GAP,
    now: datetime | None = None,
) -> RestoreResult:
    """Restore the backup file ``source`` into a new database at ``url``, verify it, and move
    the next order number past any the lost database may have issued (numbering.py)."""
    target = parse_url(url)
    if not source.is_file():
        raise BackupError(f"no backup file {source}")
    with source.open("rb") as file:
        head = file.read(16)
    started = time.monotonic()
    if target.get_backend_name() == "sqlite":
        if head != SQLITE_MAGIC:
            raise BackupError(f"{source} is not a SQLite backup")
        revision = _sqlite_restore(source, Path(target.database or ""), force=force)
    else:
        if not head.startswith(PG_DUMP_MAGIC):
            raise BackupError(f"{source} is not a pg_dump custom-format backup")
        revision = _pg_restore(source, target, force=force)
    restored = _revision_of(target)
    if restored != revision:
        raise BackupError(f"restored database at revision {restored}, the backup at {revision}")
    jump = skip_numbers_at(url, min_number_gap, now or utc_now(), f"restore of {source.name}")
    return RestoreResult(
        shown(target),
        time.monotonic() - started,
        restored,
        restored == migrations.head_revision(),
        jump,
    )


def skip_numbers_at(url: str, min_gap: int, now: datetime, reason: str) -> NumberJump | None:
    """Set the number floor of the database at ``url``; None when its schema has no place
    for it (a SQLite database older than migration 0021)."""
    parsed = parse_url(url)
    engine = create_engine(parsed)
    try:
        with engine.begin() as connection:
            if not numbering.can_skip(connection):
                return None
            return numbering.skip_numbers(connection, now, min_gap, reason)
    except SQLAlchemyError as error:
        raise BackupError(f"cannot set the number floor: {_reason(error)}") from None
    finally:
        engine.dispose()


# -- SQLite ------------------------------------------------------------------------------


def _sqlite_backup(path: Path, partial: Path) -> str | None:
    source = _open_existing(path)
    try:
        copy = sqlite3.connect(partial)
        try:
            # pages=-1: the whole file in one step, i.e. in one read transaction.
            source.backup(copy, pages=-1)
            revision = _sqlite_check(copy, partial)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            copy.close()
    finally:
        source.close()
    _fsync(partial)
    return revision


def _sqlite_restore(source: Path, path: Path, *, force: bool) -> str | None:
    if path.exists() and not force:
        raise BackupError(f"{path} exists (--force replaces it)")
    if not path.parent.is_dir():
        raise BackupError(f"no directory {path.parent}")
    backup_file = _open_existing(source)
    try:
        revision = _sqlite_check(backup_file, source)
        partial = path.with_name(path.name + ".partial")
        _create_private(partial)
        copy = sqlite3.connect(partial)
        try:
            backup_file.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode=WAL")  # as the services keep it
            _sqlite_check(copy, partial)
        finally:
            copy.close()
    finally:
        backup_file.close()
    _fsync(partial)
    # A stale -wal beside the new file would be replayed into it: remove the old one's.
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    os.replace(partial, path)
    return revision


def _open_existing(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise BackupError(f"no database file {path}")
    try:
        # mode=rw: never create an empty database in place of a missing one.
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path}: {error}") from error
    return connection


def _sqlite_check(connection: sqlite3.Connection, path: Path) -> str | None:
    problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise BackupError(f"{path} fails the integrity check: {problems[:3]}")
    if connection.execute("PRAGMA foreign_key_check").fetchone() is not None:
        raise BackupError(f"{path} has broken foreign keys")
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return str(row[0]) if row else None


def _create_private(path: Path) -> None:
    """An empty file only its owner may read, whatever the umask: SQLite and pg_dump write
    into it and keep its mode (an empty file is an empty SQLite database)."""
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    os.chmod(path, PRIVATE)  # O_CREAT's mode is masked by the umask; this is not


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# -- PostgreSQL --------------------------------------------------------------------------


def _revision_of(url: URL) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'alembic_version'"
                    if url.get_backend_name() == "sqlite"
                    else "SELECT count(*) FROM pg_tables WHERE tablename = 'alembic_version'"
                )
            ).scalar_one()
            if not exists:
                return None
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return str(found) if found is not None else None
    except SQLAlchemyError as error:
        raise BackupError(f"cannot reach {shown(url)}: {_reason(error)}") from None
    finally:
        engine.dispose()


def _pg_restore(source: Path, url: URL, *, force: bool) -> str | None:
    # The new database does not exist yet: ask the server's maintenance database.
    binary = _pg_binary("pg_restore", url.set(database="postgres"))
    revision = _dumped_revision(binary, source)
    name = url.database or ""
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    quoted = '"' + name.replace('"', '""') + '"'
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar_one()
            if exists and not force:
                raise BackupError(f"database {name} exists (--force drops it)")
            if exists:
                connection.execute(text(f"DROP DATABASE {quoted} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {quoted}"))
    except SQLAlchemyError as error:
        raise BackupError(f"cannot create database {name}: {_reason(error)}") from None
    finally:
        admin.dispose()
    # One transaction: a restore that fails half way leaves an empty database, not half of
    # one. No owners or grants: the objects belong to the user of the URL, who runs smbridge.
    _run(
        binary,
        url,
        "--no-password",
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-acl",
        str(source),
    )
    return revision


def _dumped_revision(binary: str, source: Path) -> str | None:
    """The schema revision inside a dump: the data of its alembic_version table."""
    found = subprocess.run(
        [binary, "--data-only", "--table=alembic_version", "-f", "-", str(source)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if found.returncode != 0:
        raise BackupError(f"{source}: {found.stderr.strip()}")
    match = re.search(r"^COPY [^\n]*alembic_version[^\n]*\n([0-9a-zA-Z_]+)\n", found.stdout, re.M)
    return match.group(1) if match else None


def _pg_binary(name: str, url: URL) -> str:
    """The client binary for the server at ``url``: its own major version if installed,
    else the nearest newer one (a client may be newer than the server, never older)."""
    major = _server_major(url)
    candidates: list[tuple[int, str]] = []
    for found in glob.glob(f"/usr/lib/postgresql/*/bin/{name}"):
        version = Path(found).parent.parent.name
        if version.isdigit():
            candidates.append((int(version), found))
    on_path = shutil.which(name)
    if on_path is not None:
        candidates.append((_binary_major(on_path), on_path))
    usable = sorted(c for c in candidates if c[0] >= major)
    if not usable:
        raise BackupError(
            f"no {name} of PostgreSQL {major} or newer "
            f"(Debian: apt install postgresql-client-{major})"
        )
    return usable[0][1]


def _server_major(url: URL) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            number = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    except SQLAlchemyError as error:
        raise BackupError(f"cannot reach {shown(url)}: {_reason(error)}") from None
    finally:
        engine.dispose()
    return number // 10000


def _binary_major(path: str) -> int:
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+)(?:\.\d+)?", version.stdout)
    return int(match.group(1)) if match else 0


def _reason(error: SQLAlchemyError) -> str:
    """The driver's first line (libpq's messages name host, user and database, never the
    password), without SQLAlchemy's statement and parameters."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _run(binary: str, url: URL, *args: str) -> None:
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    conninfo = url.set(drivername="postgresql", password=None).render_as_string()
    done = subprocess.run(
        [binary, *args, f"--dbname={conninfo}"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise BackupError(f"{Path(binary).name} failed: {done.stderr.strip()[-2000:]}")
