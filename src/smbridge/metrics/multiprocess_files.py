"""prometheus_client's multiprocess files: each process writes its own (``counter_PID.db``,
``histogram_PID.db``, ``gauge_MODE_PID.db``) and nothing removes them, so a machine whose
workers restart piles them up until reboot, and every scrape reads them all.

A process that ends is retired: its gauges' files go (``mark_process_dead``), and its
counters and histograms are added into one ``TYPE_archive.db`` per type before its files go,
so the sums ``/metrics`` reports never drop (Prometheus would read a drop as a reset). A
worker retires itself on exit and, on start, every process that died without doing so
(killed, crashed). A flock keeps a scrape from reading while files are being merged.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import multiprocess
from prometheus_client.mmap_dict import MmapedDict

# prometheus_client's multiprocess and mmap_dict modules have no type hints: hence the
# "no-untyped-call" ignores below.

#: Types whose values add up across processes (a histogram's buckets, sum and count too).
ADDITIVE = frozenset({"counter", "histogram", "summary"})
ARCHIVE = "archive"
LOCK_FILE = ".retire.lock"
_FILE = re.compile(r"^(?P<type>[a-z]+)_(?:(?P<mode>[a-z]+)_)?(?P<pid>\d+)\.db$")


@contextmanager
def locked(path: str, *, exclusive: bool) -> Iterator[None]:
    """Scrapes share the lock; retiring a process takes it alone."""
    handle = os.open(os.path.join(path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(handle)  # releases the lock


def retire_process(path: str, pid: int) -> int:
    """A process that ends (the caller itself, on exit); returns the files removed."""
    multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
    with locked(path, exclusive=True):
        return _retire(Path(path), {pid})


def retire_dead(path: str, alive: Callable[[int], bool] | None = None) -> int:
    """Every process with files here that no longer runs; returns the files removed."""
    is_alive = alive or process_alive
    with locked(path, exclusive=True):
        pids = {int(found["pid"]) for found in _files(Path(path)).values()}
        return _retire(Path(path), {pid for pid in pids if not is_alive(pid)})


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _files(directory: Path) -> dict[Path, re.Match[str]]:
    found = {}
    for file in directory.glob("*.db"):
        match = _FILE.match(file.name)
        if match is not None:  # not an archive
            found[file] = match
    return found


def _retire(directory: Path, pids: set[int]) -> int:
    removed = 0
    for file, match in _files(directory).items():
        if int(match["pid"]) not in pids:
            continue
        if match["type"] in ADDITIVE:
            _add_into(directory / f"{match['type']}_{ARCHIVE}.db", file)
        file.unlink(missing_ok=True)
        removed += 1
    return removed


def _add_into(archive_path: Path, file: Path) -> None:
    archive = MmapedDict(str(archive_path))  # type: ignore[no-untyped-call]
    try:
        for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(str(file)):  # type: ignore[no-untyped-call]
            total, _stamp = archive.read_value(key)  # type: ignore[no-untyped-call]
            archive.write_value(key, total + value, timestamp)  # type: ignore[no-untyped-call]
    finally:
        archive.close()  # type: ignore[no-untyped-call]
