"""Use cases on in-memory fakes: here ``db`` is a FakeDatabase, not a real database."""

from __future__ import annotations

import pytest

from tests.support.clock import FrozenClock
from tests.support.fakes import FakeDatabase


@pytest.fixture
def db() -> FakeDatabase:
    """An empty database in memory (overrides the real ``db`` of tests/conftest.py)."""
    return FakeDatabase()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()
