"""The C heap of a long-running process (glibc's malloc): two arenas, trimmed each minute.

glibc gives threads that allocate at the same moment arenas of their own, up to eight per
core. Our processes run many threads (a web worker's pool of up to 40, the scheduler's
job threads and lease heartbeats), and SQLite allocates on whichever thread holds a pooled
connection. Each arena keeps the chunks freed in it, in holes it cannot hand back: over a
simulated day a hook worker's private memory grew 12 MB while the memory it used grew 1 MB
(issue 13; docs/reliability.md §5). Two arenas leave few holes; ``malloc_trim`` returns
the free pages inside them to the OS.

Elsewhere (musl, macOS) nothing is done. glibc's own ``MALLOC_ARENA_MAX``, when set, wins.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from typing import Final

ARENAS: Final = 2
TRIM_SECONDS: Final = 60.0
_M_ARENA_MAX: Final = -8  # mallopt's parameter number (malloc.h)


def bound_the_heap() -> None:
    """Limit the arenas and start trimming each minute (without glibc: nothing).

    Call it first thing, before other threads exist: an arena a thread already took stays.
    """
    libc = _glibc()
    if libc is None:
        return
    if "MALLOC_ARENA_MAX" not in os.environ:
        libc.mallopt(_M_ARENA_MAX, ARENAS)
    threading.Thread(target=_trim_every, args=(libc,), name="malloc-trim", daemon=True).start()


def trim() -> bool:
    """Hand the free pages of every arena back to the OS now; whether any were."""
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(0))


def _trim_every(libc: ctypes.CDLL) -> None:
    while True:
        time.sleep(TRIM_SECONDS)
        libc.malloc_trim(0)


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    if not (hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    return libc
