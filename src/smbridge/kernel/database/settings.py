"""The database's settings section."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from smbridge.kernel.settings import SettingsSection


class DatabaseSettings(SettingsSection):
    heading: ClassVar[str] = "Database"

    database_url: str = Field(
        default="sqlite:///./smbridge.db",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=10_000,
        ge=0,
        description="how long a SQLite writer waits for the write lock, milliseconds",
    )
    db_pool_size: int = Field(
        default=8,
        ge=1,
        description="PostgreSQL connections per process (and as many again as overflow)",
    )
