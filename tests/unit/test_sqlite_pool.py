"""A SQLite database file gets a fixed pool: connections are kept, never made and dropped."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, event, text

from smbridge.kernel.database.engine import create_db_engine
from smbridge.settings import Settings

THREADS = 6


def _connections_made(engine: Engine) -> list[int]:
    made: list[int] = []
    event.listen(engine, "connect", lambda *_: made.append(1))
    return made


def _all_at_once(engine: Engine) -> None:
    """THREADS threads ask for a connection at once and hold it a moment."""
    asked = threading.Barrier(THREADS, timeout=10)

    def work() -> None:
        try:
            asked.wait()
        except threading.BrokenBarrierError:  # shown by the count of connections
            return
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            time.sleep(0.05)  # long enough for every other thread to ask meanwhile

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


def test_more_threads_than_the_pool_share_its_connections(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'pool.db'}", db_pool_size=2)
    engine = create_db_engine(settings)
    made = _connections_made(engine)
    try:
        for _ in range(3):
            _all_at_once(engine)
        assert len(made) == 2
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_an_in_memory_database_still_opens() -> None:
    engine = create_db_engine(Settings(database_url="sqlite://"))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 2")).scalar_one() == 2
    finally:
        engine.dispose()


def _cache_size(settings: Settings) -> int:
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection:
            return int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    finally:
        engine.dispose()


def test_each_connection_keeps_the_page_cache_the_settings_give(tmp_path: Path) -> None:
    """A negative ``cache_size`` is KiB; SQLite's own default would be -2000 (2 MB)."""
    url = f"sqlite:///{tmp_path / 'cache.db'}"
    assert _cache_size(Settings(database_url=url)) == -512
    assert _cache_size(Settings(database_url=url, sqlite_cache_kib=4096)) == -4096


def test_a_page_cache_out_of_bounds_is_refused() -> None:
    for kib in (0, 63, 262_145):
        with pytest.raises(ValidationError, match="sqlite_cache_kib"):
            Settings(sqlite_cache_kib=kib)
