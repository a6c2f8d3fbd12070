"""The migrations build exactly the schema the code declares, on both databases.

A column, index or constraint declared in ``tables.py`` but never migrated (or migrated but
not declared) works in the tests' expectations and fails, or is missing, in production,
which only ever runs the migrations. Alembic's autogenerate comparison finds every such
difference.
"""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import String, Text

from smbridge.kernel.database.tables import metadata
from tests.support.environment import migrated_database


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_migrated_schema_is_the_declared_one(kind: str) -> None:
    with migrated_database(kind) as db, db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = _flat(compare_metadata(context, metadata))
    if kind == "sqlite":
        differences = [d for d in differences if not _sqlite_free_text(d)]
    assert differences == []


def _flat(differences: list[Any]) -> list[tuple[Any, ...]]:
    """Alembic groups a column's modifications in a list; one difference a line."""
    flat: list[tuple[Any, ...]] = []
    for difference in differences:
        flat.extend(difference if isinstance(difference, list) else [difference])
    return flat


def _sqlite_free_text(difference: tuple[Any, ...]) -> bool:
    """A VARCHAR(n) the code declares Text: deliberate on SQLite only. Migrations 0007 and
    0013 widen SM's free texts to TEXT on PostgreSQL alone, because SQLite never enforces a
    VARCHAR's length (both are TEXT affinity) and widening would rebuild whole tables there
    for no effect."""
    if difference[0] != "modify_type":
        return False
    existing, declared = difference[-2], difference[-1]
    return isinstance(existing, String) and type(declared) is Text
