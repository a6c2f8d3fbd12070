"""The unit of work: one database transaction around one use case.

Work that must follow a commit, and only a commit (such as sending the notifications it
queued), is handed to ``after_commit``; a process entry point can also give the database
commit listeners that see every unit of work as it commits. The kernel knows no feature:
listeners are plain callables that the entry points wire in.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from types import TracebackType
from typing import Protocol, Self, TypeVar

import structlog
from sqlalchemy import BigInteger, Engine, bindparam, func, select
from sqlalchemy import exc as sa
from sqlalchemy.orm import Session, sessionmaker

from smbridge.kernel.database import group_commit
from smbridge.kernel.database.engine import READ_ONLY, create_db_engine, is_sqlite
from smbridge.kernel.database.errors import translate, translating_errors
from smbridge.kernel.database.settings import DatabaseSettings
from smbridge.kernel.database.tables import start_mappers
from smbridge.kernel.database.writer_lock import WriterLock, sqlite_writer_lock

log = structlog.get_logger(__name__)

#: Built once: building and keying the statement anew cost as much CPU as running it.
_ADVISORY_LOCK = select(func.pg_advisory_xact_lock(bindparam("lock_id", type_=BigInteger)))


class Repository(Protocol):
    """What a feature's repository is: an object built on the transaction's session."""

    def __init__(self, session: Session) -> None: ...


RepositoryT = TypeVar("RepositoryT", bound=Repository)
Reply = TypeVar("Reply")

#: Told of each unit of work that committed, after its commit; it reads the transaction's
#: repositories (``uow.repo``) to find what to do next.
CommitListener = Callable[["UnitOfWork"], None]


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
        # SQLite's busy handler waits by sleeping in growing steps; queueing writers on a
        # lock instead keeps their latency flat. PostgreSQL needs no such lock.
        self.write_lock: WriterLock | None = (
            sqlite_writer_lock(engine) if is_sqlite(engine) else None
        )
        self.commit_listeners: tuple[CommitListener, ...] = ()

    @classmethod
    def from_settings(cls, settings: DatabaseSettings) -> Database:
        return cls(create_db_engine(settings))

    def with_commit_listener(self, listener: CommitListener) -> Database:
        """This database (same engine, sessions and write lock) with one more listener.

        A copy, so that a process wiring its listeners never changes a database that others
        (tests, a second app in the same process) hold.
        """
        listening = copy.copy(self)
        listening.commit_listeners = (*self.commit_listeners, listener)
        return listening

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """A transaction; ``read_only`` ones take no write lock and must not commit."""
        return UnitOfWork(self, read_only=read_only)

    def batched(
        self,
        in_batch: group_commit.InBatch[Reply],
        failed: group_commit.FailedInBatch[Reply],
        alone: Callable[[], Reply],
    ) -> Reply:
        """One small write that may share its commit with others; committed when this returns.

        ``alone`` does the write in its own transaction. On SQLite the writes that queue
        behind one commit are committed together (group_commit.py): ``in_batch`` applies
        this one in the shared transaction, and ``failed`` records there that it could not
        be applied. Elsewhere (PostgreSQL: writers run side by side) it is simply ``alone``.
        """
        if self.write_lock is None:
            return alone()
        return group_commit.batcher(self).submit(in_batch, failed, alone)

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
        self._after_commit: list[Callable[[], None]] = []
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
        """Commit, then run the post-commit hooks: first this transaction's, then the
        database's listeners. A failing hook is logged; the commit stands all the same.

        A failed commit raises what it means (``AlreadyExists``, ``WriteConflict`` ...);
        leaving the ``with`` block then rolls the transaction back.
        """
        with translating_errors():
            self.session.commit()
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            _run_hook(hook)
        for listener in self._database.commit_listeners:
            _run_hook(partial(listener, self))

    def rollback(self) -> None:
        """Undo this transaction's changes and forget what was to follow its commit; the
        repositories start afresh (what they remembered was rolled back too)."""
        self.session.rollback()
        self._after_commit.clear()
        self._repositories.clear()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction's next commit succeeded (never on rollback)."""
        self._after_commit.append(callback)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of this transaction that may fail alone: an exception undoes only the
        writes made inside (and goes on); what the transaction did before stands."""
        nested = self.session.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            raise
        nested.commit()

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
        self.session.execute(_ADVISORY_LOCK, {"lock_id": lock_id})


def _run_hook(hook: Callable[[], None]) -> None:
    try:
        hook()
    except Exception as exc:  # the commit is done: what follows it must not undo the answer
        log.error("database.after_commit_failed", error=f"{type(exc).__name__}: {exc}")
