"""``smbridge db backup`` and ``db restore`` refuse clearly (exit code 2, one message) and
never touch what they were not asked to."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smbridge.entrypoints.cli import context
from smbridge.entrypoints.cli.main import app
from smbridge.settings import get_settings
from tests.support.environment import free_port

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(context.console, "width", 400)  # one message, one line
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def refused(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> str:
    monkeypatch.setenv("SMBRIDGE_DATABASE_URL", url)
    get_settings.cache_clear()
    result = runner.invoke(app, ["db", *args])
    assert result.exit_code == 2, result.output
    return result.output


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "smbridge.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
        connection.execute("INSERT INTO alembic_version VALUES ('0001')")
    return path


def test_backup_of_a_missing_sqlite_file_is_refused_and_creates_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "missing.db"
    out = refused(monkeypatch, f"sqlite:///{missing}", "backup", str(tmp_path / "b.db"))
    assert f"no database file {missing}" in out
    assert not missing.exists()
    assert not (tmp_path / "b.db").exists()


def test_backup_over_an_existing_file_needs_force(
    database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "b.db"
    target.write_bytes(b"yesterday's backup")
    out = refused(monkeypatch, f"sqlite:///{database}", "backup", str(target))
    assert "exists (--force replaces it)" in out
    assert target.read_bytes() == b"yesterday's backup"

    forced = runner.invoke(app, ["db", "backup", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    assert target.read_bytes().startswith(b"SQLite format 3\x00")


def test_restore_of_a_missing_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    to = f"sqlite:///{tmp_path / 'new.db'}"
    out = refused(monkeypatch, to, "restore", str(tmp_path / "nope.db"), "--to", to)
    assert "no backup file" in out
    assert not (tmp_path / "new.db").exists()


def test_restore_over_an_existing_database_needs_force(
    database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = tmp_path / "b.db"
    backup.write_bytes(database.read_bytes())
    existing = tmp_path / "live.db"
    existing.write_bytes(b"the live database")
    url = f"sqlite:///{existing}"
    out = refused(monkeypatch, url, "restore", str(backup), "--to", url)
    assert "exists (--force replaces it)" in out
    assert existing.read_bytes() == b"the live database"

    forced = runner.invoke(app, ["db", "restore", str(backup), "--to", url, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "revision 0001" in forced.output
    assert "smbridge db upgrade" in forced.output  # 0001 is not this release's head


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://user@host/db", "unsupported database 'mysql'"),
        ("sqlite://", "a SQLite URL needs a file"),
        ("sqlite:///:memory:", "a SQLite URL needs a file"),
        ("not a url", "not a database URL"),
        ("postgresql://user@host", "a PostgreSQL URL needs a database name"),
    ],
)
def test_a_wrong_url_is_refused(
    url: str, message: str, database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert message in refused(monkeypatch, url, "backup", str(tmp_path / "b.db"))
    backup = tmp_path / "b.db"
    backup.write_bytes(database.read_bytes())
    assert message in refused(monkeypatch, url, "restore", str(backup), "--to", url)


def test_a_backup_of_the_other_kind_is_refused(
    database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = tmp_path / "smbridge.dump"
    dump.write_bytes(b"PGDMP\x01\x0f\x00")
    sqlite_url = f"sqlite:///{tmp_path / 'new.db'}"
    out = refused(monkeypatch, sqlite_url, "restore", str(dump), "--to", sqlite_url)
    assert "is not a SQLite backup" in out
    pg_url = "postgresql://postgres@127.0.0.1/x"
    out = refused(monkeypatch, pg_url, "restore", str(database), "--to", pg_url)
    assert "is not a pg_dump custom-format backup" in out


def test_a_corrupt_sqlite_backup_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    url = f"sqlite:///{tmp_path / 'new.db'}"
    refused(monkeypatch, url, "restore", str(broken), "--to", url)
    assert not (tmp_path / "new.db").exists()


def test_the_password_is_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql://smbridge:s3cret-pw@127.0.0.1:{free_port()}/smbridge"
    out = refused(monkeypatch, url, "backup", str(tmp_path / "b.dump"))
    assert "cannot reach postgresql+psycopg://smbridge:***@127.0.0.1" in out
    assert "s3cret-pw" not in out
