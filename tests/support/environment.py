"""Helpers for test stands, tests and benchmarks on this machine: free loopback ports,
throwaway databases, waiting for a service. Nothing here runs in production."""

from __future__ import annotations

import os
import random
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from smbridge.kernel.database import migrations
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings

PG_ADMIN_URL = os.environ.get(
    "SMBRIDGE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_port_range(count: int) -> int:
    """A first port such that ``count`` consecutive loopback ports are free.

    The range lies outside the kernel's ephemeral ports: there, any test's client socket or
    server on port 0 could take one of ours between this check and the stand's bind (nginx
    once found its port taken for the whole of a CI test)."""
    low, high = fixed_port_span(count)
    for _ in range(200):
        base = random.randint(low, high)
        if all(_is_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no free port range")


def fixed_port_span(count: int) -> tuple[int, int]:
    """The first ports a range of ``count`` may start at, none of it an ephemeral port."""
    ephemeral_low, ephemeral_high = _ephemeral_ports()
    if ephemeral_low - count > 10_000:
        return 10_000, ephemeral_low - count
    return ephemeral_high + 1, 65_535 - count


def _ephemeral_ports() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    except OSError:  # not Linux: the IANA dynamic range
        return 49_152, 65_535
    return int(low), int(high)


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_until_up(url: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not come up in {seconds} s")
        time.sleep(0.05)


def create_postgres_database() -> tuple[str, str]:
    """A new empty database on the local server: (name, URL)."""
    name = f"smbridge_tmp_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def throwaway_database(kind: str) -> Iterator[str]:
    """A fresh, empty database of ``kind`` ("sqlite" or "postgresql"), removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'smbridge.db'}"
        return
    name, url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(name)


@contextmanager
def migrated_database(kind: str, revision: str = "head") -> Iterator[Database]:
    """A fresh database of ``kind`` migrated to ``revision``, removed afterwards."""
    with throwaway_database(kind) as url:
        db = Database.from_settings(Settings(database_url=url))
        try:
            migrations.upgrade(db.engine, revision)
            yield db
        finally:
            db.dispose()
