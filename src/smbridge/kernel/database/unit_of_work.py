"""The unit of work: one database transaction around one use case."""

from __future__ import annotations

import hashlib
import threading
from types import TracebackType
from typing import Protocol, Self, TypeVar

import structlog
from sqlalchemy import Engine, func, select
from sqlalchemy import exc as sa
from sqlalchemy.orm import Session, sessionmaker

from smbridge.kernel.database.engine import READ_ONLY, create_db_engine, is_sqlite
from smbridge.kernel.database.errors import translate
from smbridge.kernel.database.settings import DatabaseSettings
from smbridge.kernel.database.tables import start_mappers

log = structlog.get_logger(__name__)


class Repository(Protocol):
    """What a feature's repository is: an object built on the transaction's session."""

    def __init__(self, session: Session) -> None: ...


RepositoryT = TypeVar("RepositoryT", bound=Repository)


class Database:
    """An engine, its session factory, and this process's SQLite writer lock."""

    def __init__(self, engine: Engine) -> None:
        start_mappers()
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        # Reads that never commit: on SQLite a plain BEGIN, so they wait for no writer.
        self.read_sessions = sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        # SQLite's busy handler waits by sleeping in growing steps; queueing this process's
        # own writers on a lock instead keeps their latency flat. Other processes still meet
        # the busy timeout. PostgreSQL needs no such lock.
        self.write_lock: threading.Lock | None = threading.Lock() if is_sqlite(engine) else None

    @classmethod
    def from_settings(cls, settings: DatabaseSettings) -> Database:
        return cls(create_db_engine(settings))

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """A transaction; ``read_only`` ones take no write lock and must not commit."""
        return UnitOfWork(self, read_only=read_only)

    def dispose(self) -> None:
        self.engine.dispose()


class UnitOfWork:
    """Use as ``with db.unit_of_work() as uow: ...; uow.commit()``; no commit = rollback."""

    def __init__(self, database: Database, *, read_only: bool = False) -> None:
        self._database = database
        self._write_lock = None if read_only else database.write_lock
        self._sessions = database.read_sessions if read_only else database.sessions

    def __enter__(self) -> Self:
        if self._write_lock is not None:
            self._write_lock.acquire()
        self.session: Session = self._sessions()
        self._repositories: dict[type[Repository], Repository] = {}
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._end_session()
        finally:
            if self._write_lock is not None:
                self._write_lock.release()
        meaning = translate(exc) if exc is not None else None
        if meaning is not None:
            raise meaning from exc

    def _end_session(self) -> None:
        try:
            self.session.rollback()
        except sa.DBAPIError as broken:  # the connection died: the pool drops it
            log.warning("database.rollback_failed", error=type(broken.orig).__name__)
        finally:
            self.session.close()

    def repo(self, kind: type[RepositoryT]) -> RepositoryT:
        """This transaction's instance of a feature's repository (one per kind)."""
        found = self._repositories.get(kind)
        if found is None:
            found = self._repositories[kind] = kind(self.session)
        return found  # type: ignore[return-value]  # keyed by its own type

    def commit(self) -> None:
        self.session.commit()

    def lock_order_key(self, key: str) -> None:
        """Serialize every transaction that concerns one SM order.

        Without it two PostgreSQL workers could both miss an order being created: one parks
        an event while the other creates the order and finds nothing parked. SQLite's
        ``BEGIN IMMEDIATE`` already serializes all writers.
        """
        if self.session.get_bind().dialect.name != "postgresql":
            return
        lock_id = int.from_bytes(
            hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True
        )
        self.session.execute(select(func.pg_advisory_xact_lock(lock_id)))
