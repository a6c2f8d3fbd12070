"""Group commit on SQLite: the writes that wait while one commits are committed together.

Reached through ``Database.batched``; the hook's webhooks are its writes (issue 11).
SQLite takes one writer at a time and each commit syncs the disk (``synchronous=FULL``).
Writes arriving while a transaction runs wait on the process's write lock anyway; here the
first of them to get its turn (the leader) takes every write queued by then and applies
each in a SAVEPOINT of one transaction, commits once, and only then hands each caller its
answer: a webhook's 2xx still means committed. A write that fails to apply is rolled back to
its savepoint and recorded as failed in the same transaction (its ``failed`` callable), as it
is when alone, so one bad webhook does not fail the others. If the batch as a whole cannot
commit, each write is taken alone, as without batching; if the database is unavailable,
every caller hears so.

A batch of one is simply a write alone (no savepoint). PostgreSQL needs none of this: its
writers run side by side.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

import structlog
from sqlalchemy import Engine

from smbridge.kernel.database.errors import DatabaseUnavailable, WriteConflict, translate

if TYPE_CHECKING:  # the unit of work imports this module
    from smbridge.kernel.database.unit_of_work import Database, UnitOfWork

log = structlog.get_logger(__name__)

Reply = TypeVar("Reply")
#: Applies one item in the batch's transaction: its answer, and what to run after commit.
InBatch = Callable[["UnitOfWork"], tuple[Reply, Callable[[], None]]]
#: Records in the batch's transaction that the item failed to apply (its effects undone).
FailedInBatch = Callable[["UnitOfWork", Exception], tuple[Reply, Callable[[], None]]]

#: At most this many writes share one commit (bounds a batch's latency).
MAX_BATCH = 64


class _Slot(Generic[Reply]):
    __slots__ = ("alone", "done", "error", "failed", "in_batch", "reply")

    def __init__(
        self,
        in_batch: InBatch[Reply],
        failed: FailedInBatch[Reply],
        alone: Callable[[], Reply],
    ) -> None:
        self.in_batch, self.failed, self.alone = in_batch, failed, alone
        self.done = False
        self.reply: Reply | None = None
        self.error: BaseException | None = None


class Batcher:
    """One per database (engine) in a process; callers are threads (the hook's threadpool)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._queue: list[_Slot[object]] = []
        self._queue_lock = threading.Lock()
        self._leader = threading.Lock()

    def submit(
        self,
        in_batch: InBatch[Reply],
        failed: FailedInBatch[Reply],
        alone: Callable[[], Reply],
    ) -> Reply:
        """Apply one item, committed (maybe with others) before this returns."""
        slot: _Slot[Reply] = _Slot(in_batch, failed, alone)
        with self._queue_lock:
            self._queue.append(slot)  # type: ignore[arg-type]  # slots of any reply type
        while not slot.done:
            with self._leader:
                if slot.done:
                    break  # an earlier leader committed it
                with self._queue_lock:
                    batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                self._run(batch)
        if slot.error is not None:
            raise slot.error
        return slot.reply  # type: ignore[return-value]  # set whenever there is no error

    def queued(self) -> int:
        """How many items wait for a leader now."""
        with self._queue_lock:
            return len(self._queue)

    def leading(self) -> bool:
        """Whether a leader is applying a batch now."""
        return self._leader.locked()

    def _run(self, batch: list[_Slot[object]]) -> None:
        if len(batch) == 1:
            _run_alone(batch[0])
            return
        try:
            afterwards = self._commit_together(batch)
        except DatabaseUnavailable as unavailable:
            for slot in batch:
                slot.error, slot.done = unavailable, True
            return
        except Exception as exc:  # a conflict or a failed commit: each goes alone
            log.warning("database.batch_failed", size=len(batch), error=type(exc).__name__)
            for slot in batch:
                _run_alone(slot)
            return
        for slot, after in zip(batch, afterwards, strict=True):
            _run_after(after)
            slot.done = True

    def _commit_together(self, batch: list[_Slot[object]]) -> list[Callable[[], None]]:
        afterwards: list[Callable[[], None]] = []
        with self._db.unit_of_work() as uow:
            for slot in batch:
                slot.reply, after = _apply_in_savepoint(uow, slot)
                afterwards.append(after)
            uow.commit()
        return afterwards


def batcher(db: Database) -> Batcher:
    """This process's batcher for ``db``'s engine (copies of a database share it)."""
    with _batchers_lock:
        found = _batchers.get(db.engine)
        if found is None:
            found = _batchers[db.engine] = Batcher(db)
        return found


_batchers: weakref.WeakKeyDictionary[Engine, Batcher] = weakref.WeakKeyDictionary()
_batchers_lock = threading.Lock()


def _apply_in_savepoint(uow: UnitOfWork, slot: _Slot[object]) -> tuple[object, Callable[[], None]]:
    try:
        with uow.savepoint():
            return slot.in_batch(uow)
    except (WriteConflict, DatabaseUnavailable):
        raise  # the database's trouble: the whole batch
    except Exception as exc:
        if translate(exc) is not None:
            raise
        failed = exc
    with uow.savepoint():
        return slot.failed(uow, failed)


def _run_alone(slot: _Slot[object]) -> None:
    try:
        slot.reply = slot.alone()
    except BaseException as exc:  # handed to the caller's thread as it is
        slot.error = exc
    slot.done = True


def _run_after(after: Callable[[], None]) -> None:
    try:
        after()
    except Exception as exc:  # only logging: the commit stands
        log.error("database.batch_after_commit_failed", error=f"{type(exc).__name__}: {exc}")
