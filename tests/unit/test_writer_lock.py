"""SQLite writers queue on a lock that other processes on the same file see too."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine

from smbridge.kernel.database.writer_lock import WriterLock, sqlite_writer_lock

_HOLDER = """
import sys
from smbridge.kernel.database.writer_lock import WriterLock
with WriterLock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""


def _holder(database: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    return holder


def test_a_writer_waits_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    database = tmp_path / "orders.db"
    lock = WriterLock(str(database))
    taken = threading.Event()

    def writer() -> None:
        with lock:
            taken.set()

    with _holder(database) as holder:  # closes its pipes and waits for it
        thread = threading.Thread(target=writer)
        thread.start()
        assert holder.stdin is not None
        assert not taken.wait(0.3)  # blocked by the other process
        holder.stdin.close()  # the other process commits and lets go
        assert taken.wait(30)
        thread.join(30)
    assert (tmp_path / "orders.db-writer.lock").exists()


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    lock = WriterLock(str(tmp_path / "orders.db"))
    inside = 0
    most = 0
    guard = threading.Lock()

    def writer() -> None:
        nonlocal inside, most
        for _ in range(200):
            with lock:
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0)  # let another thread run while this one holds the lock
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most == 1


def test_the_lock_file_lies_beside_the_database_and_memory_has_none(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'stand.db'}")
    with sqlite_writer_lock(engine):
        pass
    assert (tmp_path / "stand.db-writer.lock").exists()
    in_memory = create_engine("sqlite://")
    with sqlite_writer_lock(in_memory):
        pass
    assert list(tmp_path.iterdir()) == [tmp_path / "stand.db-writer.lock"]
