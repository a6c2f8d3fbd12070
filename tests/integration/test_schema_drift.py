"""The migrations build exactly the schema the code declares, on both databases.

A column, index or constraint declared in ``tables.py`` but never migrated (or migrated but
not declared) works in the tests that create tables from the metadata and fails, or is
missing, in production, which only ever runs the migrations. Alembic's autogenerate
comparison finds every such difference.
"""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from smbridge.kernel.database import migrations
from smbridge.kernel.database.tables import metadata
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from tests.support.environment import throwaway_database


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_migrated_schema_is_the_declared_one(kind: str) -> None:
    with throwaway_database(kind) as url:
        db = Database.from_settings(Settings(database_url=url))
        try:
            migrations.upgrade(db.engine)
            with db.engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"compare_type": True, "compare_server_default": True}
                )
                differences = compare_metadata(context, metadata)
        finally:
            db.dispose()
    assert [_readable(d) for d in differences] == []


def _readable(difference: Any) -> str:
    return repr(difference)[:300]
