"""What ``/healthz`` checks: the database answers (without taking SQLite's write lock)."""

from __future__ import annotations

from sqlalchemy import text

from smbridge.kernel.database.engine import READ_ONLY
from smbridge.kernel.database.unit_of_work import Database


def ping(db: Database) -> None:
    with db.engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True}).execute(text("SELECT 1"))
