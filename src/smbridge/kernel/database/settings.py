"""The database's settings section."""

from __future__ import annotations

from typing import ClassVar

from smbridge.kernel.settings import NonNegativeInt, PositiveInt, SettingsSection, setting


class DatabaseSettings(SettingsSection):
    heading: ClassVar[str] = "Database"

    database_url: str = setting(
        "sqlite:///./smbridge.db",
        "SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    sqlite_busy_timeout_ms: NonNegativeInt = setting(
        10_000, "how long a SQLite writer waits for the write lock, milliseconds"
    )
    db_pool_size: PositiveInt = setting(8, "database connections per process, kept open once made")
