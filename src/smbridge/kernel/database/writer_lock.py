"""One SQLite writer at a time, across this process's threads and every process on the file.

SQLite lets one connection write at a time; the others meet ``SQLITE_BUSY`` and its busy
handler, which polls by sleeping in growing steps (up to 100 ms each). With a pool of worker
processes on one file, that polling, not the work, made the slowest writes: a writer that
happened to sleep just as the lock came free slept on while others went ahead, so p99 of a
write reached a second. A blocking ``flock`` on a file beside the database queues writers in
the kernel instead, which wakes a waiter the moment the lock is released.

The lock is advisory: a process that does not take it (the ``sqlite3`` shell, a backup) is
still kept in order by SQLite's own lock and the busy timeout, as before.
"""

from __future__ import annotations

import fcntl
import os
import threading
from types import TracebackType

from sqlalchemy import Engine


class WriterLock:
    """Taken before ``BEGIN IMMEDIATE`` and released after the transaction ends."""

    def __init__(self, database_path: str | None) -> None:
        # Threads of one process share one descriptor, and flock does not exclude holders of
        # the same open file: they queue on the thread lock first.
        self._threads = threading.Lock()
        self._path = None if database_path is None else database_path + "-writer.lock"
        self._fd: int | None = None
        self._pid = 0

    def acquire(self) -> None:
        self._threads.acquire()
        try:
            if self._path is not None:
                fcntl.flock(self._descriptor(), fcntl.LOCK_EX)  # waits without the GIL
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _descriptor(self) -> int:
        # A forked child would share its parent's open file, and with it the lock: each
        # process opens its own.
        if self._fd is None or self._pid != os.getpid():
            assert self._path is not None
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd


def sqlite_writer_lock(engine: Engine) -> WriterLock:
    """The writer lock of a SQLite engine; an in-memory database has no file to lock."""
    path = engine.url.database or ""
    if path in ("", ":memory:") or path.startswith("file::memory:"):
        return WriterLock(None)
    return WriterLock(os.path.abspath(path))
