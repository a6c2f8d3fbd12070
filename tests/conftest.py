"""Every database test runs on SQLite and on PostgreSQL (a throwaway database per run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from smbridge.kernel.database import migrations
from smbridge.kernel.database.tables import metadata
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from tests.support.clock import FrozenClock
from tests.support.environment import create_postgres_database, drop_postgres_database

# Hypothesis' per-example deadline is a wall-clock bound: it fails a correct test on a busy
# machine (and under the moved clocks). Tests bound their work by example counts instead.
hypothesis_settings.register_profile("smbridge", deadline=None)
hypothesis_settings.load_profile("smbridge")


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
    name, url = create_postgres_database()
    try:
        _migrate(url)
        yield url
    finally:
        drop_postgres_database(name)


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


@pytest.fixture
def clock() -> FrozenClock:
    """The instant every use case under test sees; tests move it explicitly."""
    return FrozenClock()
