"""Every database test runs on SQLite and on PostgreSQL (a throwaway database per run)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from smbridge.adapters import migrations
from smbridge.adapters.tables import metadata
from smbridge.config import Settings
from smbridge.logs import configure_logging
from smbridge.service_layer.unit_of_work import Database

#: Where a PostgreSQL server is; the tests create and drop their own database on it.
PG_ADMIN_URL = os.environ.get(
    "SMBRIDGE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session", autouse=True)
def _structured_logs() -> None:
    """As in production: JSON lines on (whatever is now) stderr, so tests can read them."""
    configure_logging("INFO", json=True)


def _create_pg_database() -> tuple[str, str]:
    name = f"smbridge_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database of each kind, made once per test run."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "smbridge.db"
        url = f"sqlite:///{path}"
        _migrate(url)
        yield url
        return
    name, url = _create_pg_database()
    try:
        _migrate(url)
        yield url
    finally:
        _drop_pg_database(name)


def _migrate(url: str) -> None:
    db = Database.from_settings(Settings(database_url=url))
    migrations.upgrade(db.engine)
    db.dispose()


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "hook_token": "test-token",
        "log_json": True,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The database of this test's kind, emptied before the test."""
    database = Database.from_settings(Settings(database_url=database_url))
    _empty(database)
    yield database
    database.dispose()


def _empty(database: Database) -> None:
    names = [t.name for t in reversed(metadata.sorted_tables)]
    with database.engine.begin() as connection:
        if database.engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                connection.execute(text(f"DELETE FROM {name}"))
