"""The database's settings section."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from smbridge.kernel.settings import NonNegativeInt, PositiveInt, SettingsSection, setting

#: 16 pages of 4 KiB to 256 MiB: a pooled connection's page cache is private memory.
CacheKib = Annotated[int, Field(ge=64, le=262_144)]


class DatabaseSettings(SettingsSection):
    heading: ClassVar[str] = "Database"

    database_url: str = setting(
        "sqlite:///./smbridge.db",
        "SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    sqlite_busy_timeout_ms: NonNegativeInt = setting(
        10_000, "how long a SQLite writer waits for the write lock, milliseconds"
    )
    sqlite_cache_kib: CacheKib = setting(
        512, "SQLite page cache of each pooled connection, KiB (the OS caches the file as well)"
    )
    db_pool_size: PositiveInt = setting(8, "database connections per process, kept open once made")
