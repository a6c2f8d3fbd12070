"""What ``/healthz`` checks: the database answers (without taking SQLite's write lock)."""

from __future__ import annotations

from sqlalchemy import text

from smbridge.adapters.database import READ_ONLY
from smbridge.service_layer.unit_of_work import Database


def ping(db: Database) -> None:
    with db.engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True}).execute(text("SELECT 1"))
