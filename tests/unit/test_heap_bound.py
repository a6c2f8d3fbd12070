"""The C heap's bound (kernel/memory.py): each case in a fresh process, as glibc sets its
arenas up once per process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

# Eight threads allocate at once; then glibc's report of the heap is read back.
_ARENAS = """
import ctypes, os, sys, tempfile, threading
from smbridge.kernel.memory import bound_the_heap
if sys.argv[1] == "bounded":
    bound_the_heap()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.fopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
start = threading.Barrier(8)
def allocate():
    start.wait()
    for _ in range(2000):
        libc.free(libc.malloc(1000))
threads = [threading.Thread(target=allocate) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
path = os.path.join(tempfile.mkdtemp(), "heap.xml")
report = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, report)
libc.fclose(report)
print(open(path).read().count("<heap nr="))
"""

# 24 MiB in blocks below the mmap threshold, all freed but the last: the heap's top stays
# in use, so glibc cannot shrink it by itself.
_TRIM = """
import ctypes
from smbridge.kernel.memory import trim
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def private_kib():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
blocks = [libc.malloc(64 * 1024) for _ in range(384)]
for block in blocks:
    ctypes.memset(block, 1, 64 * 1024)
for block in blocks[:-1]:
    libc.free(block)
held = private_kib()
trimmed = trim()
print(trimmed, held - private_kib())
"""


def _run(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


def test_a_bounded_process_keeps_two_arenas_however_many_threads_allocate() -> None:
    assert int(_run(_ARENAS, "bounded")) == 2
    assert int(_run(_ARENAS, "unbounded")) > 2  # glibc's own way: an arena per thread


def test_glibcs_own_setting_wins_over_ours() -> None:
    assert int(_run(_ARENAS, "bounded", env={"MALLOC_ARENA_MAX": "3"})) == 3


def test_a_trim_hands_the_free_pages_back() -> None:
    trimmed, given_back_kib = _run(_TRIM).split()
    assert trimmed == "True"
    assert int(given_back_kib) > 20 * 1024
