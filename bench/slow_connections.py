"""Benchmark: one hook worker against many clients that send one header line a second.

    .venv/bin/python -m bench.slow_connections [--connections 1100] [--src DIR]

Starts ``smbridge serve hook`` (SQLite) with systemd's default soft limit of open files
(1,024), opens ``--connections`` connections that each send a request line and then one
header line a second, asks ``/healthz`` while they are open, and counts the connections the
worker closes within 40 s. Prints one table. ``--src`` runs the worker from another
checkout's ``src`` (e.g. an older commit, to compare).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from tests.support.environment import free_port, wait_until_up

SYSTEMD_SOFT_LIMIT = 1024
WATCH_SECONDS = 40


def start_worker(folder: str, src: Path | None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "SMBRIDGE_DATABASE_URL": f"sqlite:///{folder}/bench.db",
        "SMBRIDGE_LOG_LEVEL": "WARNING",
    }
    if src:
        env["PYTHONPATH"] = str(src.resolve())
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    worker = subprocess.Popen(
        [sys.executable, "-m", "smbridge", "serve", "hook", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: resource.setrlimit(  # noqa: PLW1509 - before exec, on purpose
            resource.RLIMIT_NOFILE, (min(SYSTEMD_SOFT_LIMIT, hard), hard)
        ),
    )
    wait_until_up(f"http://127.0.0.1:{port}/healthz", 60)
    return worker, port


def open_slow(port: int, count: int) -> list[socket.socket]:
    connections = []
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        connection.sendall(b"POST /sbermarket/orders/hook/ HTTP/1.1\r\nHost: bench\r\n")
        connections.append(connection)
    return connections


def healthz(port: int) -> str:
    try:
        return str(httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code)
    except httpx.HTTPError as error:
        return type(error).__name__


def trickle_until_closed(connections: list[socket.socket]) -> tuple[int, int]:
    """One header line a second on each open connection; (closed, closed with 408)."""
    still_open = {c.fileno(): c for c in connections}
    closed = timed_out = 0
    deadline = time.monotonic() + WATCH_SECONDS
    while still_open and time.monotonic() < deadline:
        for connection in still_open.values():
            with contextlib.suppress(OSError):  # closed: counted below
                connection.sendall(b"X-Slow: x\r\n")
        time.sleep(1.0)
        poller = select.poll()  # select() cannot watch descriptors past 1,024
        for descriptor in still_open:
            poller.register(descriptor, select.POLLIN)
        for descriptor, _event in poller.poll(0):
            connection = still_open.pop(descriptor)
            with contextlib.suppress(OSError):  # reset instead of an answer
                timed_out += connection.recv(4096).startswith(b"HTTP/1.1 408")
            connection.close()
            closed += 1
    for connection in still_open.values():
        connection.close()
    return closed, timed_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1100)
    parser.add_argument("--src", type=Path, help="run the worker from this src directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        worker, port = start_worker(folder, args.src)
        try:
            connections = open_slow(port, args.connections)
            health = healthz(port)
            closed, timed_out = trickle_until_closed(connections)
            limits = Path(f"/proc/{worker.pid}/limits").read_text().splitlines()
            soft = next(line for line in limits if line.startswith("Max open files")).split()[3]
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
    title = f"hook worker, {args.connections} slow connections" + (
        f" (worker from {args.src})" if args.src else ""
    )
    table = Table("what", "seen", title=title)
    table.add_row("worker's soft limit of open files", soft)
    table.add_row("/healthz while they are open", health)
    table.add_row(f"closed by the worker within {WATCH_SECONDS} s", str(closed))
    table.add_row("of them answered 408", str(timed_out))
    Console().print(table)


if __name__ == "__main__":
    main()
