"""Benchmark: how much private memory SQLite's page cache takes in one of our processes.

    .venv/bin/python -m bench.sqlite_page_cache [--megabytes 90] [--connections 8]

Each SQLite connection keeps its own cache of database pages, up to ``cache_size``:
``SMBRIDGE_SQLITE_CACHE_KIB`` (512 KiB) in our engine, 2,000 KiB by SQLite's own default.
The pool holds ``SMBRIDGE_DB_POOL_SIZE`` connections a process (8), so a worker's private
memory may grow by up to their sum as the database outgrows the cache: bounded, not a
leak. This measures that bound on a file larger than it, for our setting and for SQLite's
default. Each cache size runs in a fresh process: an engine as the workers make it, every
pooled connection checked out at once and each reading the whole file, ``RssAnon`` before
and after. Prints one table.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, text

from bench.simulated_day import footprint
from smbridge.kernel.database.engine import READ_ONLY, create_db_engine
from smbridge.settings import Settings

ROW_BYTES = 400
SETTING = "setting"  # the engine as the workers have it, SQLITE_CACHE_KIB
SQLITE_DEFAULT = "-2000"


def make_file(path: Path, megabytes: int) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE pages (id INTEGER PRIMARY KEY, payload TEXT)")
        rows = megabytes * 1_000_000 // ROW_BYTES
        db.executemany(
            "INSERT INTO pages (payload) VALUES (?)",
            (("x" * ROW_BYTES + str(n),) for n in range(rows)),
        )


def private_mb() -> float:
    found = footprint(os.getpid())
    assert found is not None, "this process has no RssAnon"
    return found.private


def measure(path: Path, connections: int, cache_size: str) -> dict[str, float]:
    """In this process: every pooled connection reads the whole file at once."""
    engine = create_db_engine(Settings(database_url=f"sqlite:///{path}", db_pool_size=connections))
    reading = engine.execution_options(**{READ_ONLY: True})  # as the workers' reads are
    held = [reading.connect() for _ in range(connections)]
    for connection in held:
        if cache_size != SETTING:
            connection.exec_driver_sql(f"PRAGMA cache_size={int(cache_size)}")
    kib = held[0].exec_driver_sql("PRAGMA cache_size").scalar_one()
    page = held[0].exec_driver_sql("PRAGMA page_size").scalar_one()
    before = private_mb()
    readers = [threading.Thread(target=_read_all, args=(c,)) for c in held]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    after = private_mb()
    for connection in held:
        connection.close()
    engine.dispose()
    bound = connections * (-kib / 1024 if kib < 0 else kib * page / 1_048_576)
    return {"cache_size": kib, "before": before, "after": after, "bound": bound}


def _read_all(connection: Connection) -> None:
    for _ in range(2):
        connection.execute(text("SELECT count(*), max(length(payload)) FROM pages")).one()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=90, help="size of the database file")
    parser.add_argument("--connections", type=int, default=8, help="the pool of a process")
    parser.add_argument(
        "--cache-sizes", default=f"{SETTING},{SQLITE_DEFAULT}", help="PRAGMA values"
    )
    parser.add_argument("--child", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--child-cache-size", default=SETTING, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(Path(args.child), args.connections, args.child_cache_size)))
        return 0
    out = Table(
        "cache_size (PRAGMA)",
        "connections",
        "private MB before",
        "after",
        "growth MB",
        "bound MB (connections × cache)",
        title=f"SQLite page cache, {args.megabytes} MB file (bench/sqlite_page_cache.py)",
    )
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "pages.sqlite"
        make_file(path, args.megabytes)
        for size in args.cache_sizes.split(","):
            command = [sys.executable, "-m", "bench.sqlite_page_cache", "--child", str(path)]
            command += [f"--child-cache-size={size}", "--connections", str(args.connections)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            got = json.loads(done.stdout)
            out.add_row(
                f"{size} ({got['cache_size']})",
                str(args.connections),
                f"{got['before']:.1f}",
                f"{got['after']:.1f}",
                f"{got['after'] - got['before']:+.1f}",
                f"{got['bound']:.1f}",
            )
    Console().print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
