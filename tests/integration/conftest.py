"""Fixtures shared by the integration tests of backups and restores."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.environment import drop_postgres_database


@pytest.fixture
def new_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Where to restore: a database that does not exist yet, of the same kind."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"smbridge_restored_{uuid.uuid4().hex[:12]}"
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        drop_postgres_database(name)
