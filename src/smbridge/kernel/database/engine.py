"""Engines for SQLite and PostgreSQL behind one code path.

SQLite: WAL journal, ``synchronous=FULL`` (a commit survives power loss), a busy timeout,
and ``BEGIN IMMEDIATE`` for write transactions so that two writers never both read and then
fail to upgrade their lock. PostgreSQL: psycopg 3. Both keep a small fixed pool per process.
"""

from __future__ import annotations

import select
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

from smbridge.kernel.database.settings import DatabaseSettings

#: Execution option marking a read-only transaction (SQLite then takes no write lock).
READ_ONLY = "smbridge_read_only"


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_db_engine(settings: DatabaseSettings) -> Engine:
    url = normalize_url(settings.database_url)
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url, settings)
    engine = create_engine(
        url,
        **_fixed_pool(url, settings.db_pool_size),
        hide_parameters=True,  # SQL parameters carry customer data: keep them out of logs
        pool_recycle=1800,
    )
    event.listen(engine, "checkout", _refuse_dead_connection)
    return engine


def _refuse_dead_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A restarted server leaves every pooled connection dead: hand none of them out.

    Instead of ``pool_pre_ping`` (a round trip per checkout, one in twelve of a webhook's),
    look at the socket without waiting: a server that ended the session has sent its last
    words or closed the connection, so an idle connection with anything to read is dead.
    The pool then connects afresh (SQLAlchemy tries again on ``DisconnectionError``).
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        raise exc.DisconnectionError("connection closed")
    socket = select.poll()
    socket.register(dbapi_connection.pgconn.socket, select.POLLIN)
    if socket.poll(0):  # POLLIN, POLLHUP or POLLERR: each means the session is over
        raise exc.DisconnectionError("the server ended the session")


def _sqlite_engine(url: str, settings: DatabaseSettings) -> Engine:
    busy_timeout_ms = settings.sqlite_busy_timeout_ms
    cache_kib = settings.sqlite_cache_kib
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        hide_parameters=True,
        **_fixed_pool(url, settings.db_pool_size),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module: we issue BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # SQLite's default is 2 MB a connection, private to the process: up to 16 MB a
        # worker with 8 pooled, filled slowly as the database grows. A page missed here
        # comes from the OS's file cache, which every process shares.
        cursor.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _fixed_pool(url: str, size: int) -> dict[str, int]:
    """``size`` connections per process, kept open, no overflow.

    SQLAlchemy's default overflow closes each extra connection as it comes back, so under
    steady load (more threads than pooled connections) a process kept making and dropping
    them: on PostgreSQL every few webhooks paid for a new server process and lost the
    prepared statements (issue 11); on SQLite each new one built its page cache
    and statement cache again, while writers queue for the one write lock anyway. An
    in-memory SQLite database lives in one connection and keeps SQLAlchemy's pool for it.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return {}
    return {"pool_size": size, "max_overflow": 0}
