"""Benchmark: the memory of one assembly worker before and after large unwanted bodies.

    .venv/bin/python -m bench.worker_limits [--posts 20] [--megabytes 100] [--src DIR]
    .venv/bin/python -m bench.worker_limits --stack [--calls 2000]

``--stack`` measures the whole ``smbridge run`` instead (supervisor, 4 hook and 4 assembly
workers, the scheduler with its dispatcher, nginx when installed; SQLite): the VmRSS of each
process from /proc at rest and after ``--calls`` getActiveOrders and /healthz calls spread
over the workers, and their sum.

Starts ``smbridge serve assembly`` (one process, SQLite) and reads its resident memory
(VmRSS, and the peak VmHWM, from /proc) at rest and after each round of ``--posts`` POSTs of
``--megabytes`` MB of valid JSON: without a token (declared length, then chunked), then
with a store's token (over ``API_MAX_BODY_BYTES``). Prints one table. ``--src`` runs the
worker from another checkout's ``src`` (e.g. an older commit, to compare).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from tests.support.environment import free_port, throwaway_database, wait_until_up

from smbridge.assembly.repository import ApiTokenRepository
from smbridge.assembly.service import token_hash
from smbridge.domain.store import Store
from smbridge.kernel.database import migrations
from smbridge.kernel.database.unit_of_work import Database
from smbridge.orders.repository import StoreRepository
from smbridge.settings import Settings

PATH = "/sbermarket/orders/api/getActiveOrders"
TOKEN = "bench-store-token"  # noqa: S105 - a throwaway database's token
CHUNK = 1 << 20


def prepare(url: str) -> None:
    db = Database.from_settings(Settings(database_url=url))
    migrations.upgrade(db.engine)
    with db.unit_of_work() as uow:
        store = Store(sm_store_id="1", name="bench")
        uow.repo(StoreRepository).add(store)
        assert store.id is not None
        uow.repo(ApiTokenRepository).add(store.id, token_hash(TOKEN), "bench", datetime.now(UTC))
        uow.commit()
    db.dispose()


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    rss, peak = (int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))
    return rss, peak


def body(megabytes: int) -> bytes:
    padding = b"x" * (megabytes * 1_000_000)
    return b'{"requestId": "big", "requestData": {}, "padding": "' + padding + b'"}'


def chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


def post_round(base: str, data: bytes, posts: int, token: str | None, stream: bool) -> str:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Client-Token"] = token
    answers: Counter[str] = Counter()
    with httpx.Client(base_url=base, timeout=300) as client:
        for _ in range(posts):
            try:
                status = client.post(
                    PATH, content=chunks(data) if stream else data, headers=headers
                ).status_code
                answers[str(status)] += 1
            except httpx.HTTPError as error:  # e.g. the worker closed while we sent
                answers[type(error).__name__] += 1
    return ", ".join(f"{n}× {answer}" for answer, n in sorted(answers.items()))


def _process_tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        with suppress(OSError):
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
            children.setdefault(int(fields["PPid"]), []).append(int(fields["Pid"]))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def _name(pid: int) -> str:
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    words = [a.decode() for a in args if a]
    if words and words[0].startswith("nginx"):
        return "nginx " + ("master" if "master" in words[0] else "worker")
    if "run" in words:
        return "smbridge run (supervisor)"
    if "serve" in words:
        at = words.index("serve")
        return f"{words[at + 1]} worker"
    return " ".join(w for w in words[1:] if not w.startswith("-"))[:40] or words[0]


def stack_memory(posts: int, src: Path | None) -> None:
    """The whole ``smbridge run``: every process's VmRSS at rest and after light load."""
    hook_port, assembly_port, https_port, http_port = (
        _free_run(4),
        _free_run(4),
        _free_run(1),
        _free_run(1),
    )
    table = Table(
        "process",
        "count",
        "RSS MB at rest (max)",
        "RSS MB after (max)",
        "MB after (sum)",
        title="smbridge run (SQLite): memory per process" + (f" (from {src})" if src else ""),
    )
    with throwaway_database("sqlite") as url, tempfile.TemporaryDirectory() as state:
        prepare(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMBRIDGE_")}
        env |= {"SMBRIDGE_DATABASE_URL": url, "SMBRIDGE_LOG_LEVEL": "WARNING"}
        env |= {"SMBRIDGE_HOOK_TOKEN": "bench-hook-token"}
        if src:
            env["PYTHONPATH"] = str(src.resolve())
        command = [sys.executable, "-m", "smbridge", "run", "--hook-port", str(hook_port)]
        command += ["--assembly-port", str(assembly_port), "--https-port", str(https_port)]
        command += ["--http-port", str(http_port), "--state-dir", state]
        run = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            ports = [*range(hook_port, hook_port + 4), *range(assembly_port, assembly_port + 4)]
            for port in ports:
                wait_until_up(f"http://127.0.0.1:{port}/healthz", 120)
            time.sleep(2)
            rest = _memory_by_process(run.pid)
            headers = {"Client-Token": TOKEN, "Content-Type": "application/json"}
            with httpx.Client(timeout=30) as client:
                for n in range(posts):
                    port = ports[n % len(ports)]
                    if port >= assembly_port:
                        client.post(
                            f"http://127.0.0.1:{port}{PATH}",
                            content=b'{"requestData": {}}',
                            headers=headers,
                        )
                    else:
                        client.get(f"http://127.0.0.1:{port}/healthz")
            after = _memory_by_process(run.pid)
        finally:
            run.send_signal(signal.SIGTERM)
            run.wait(timeout=120)
    for name in sorted(after):
        table.add_row(
            name,
            str(len(after[name])),
            f"{max(rest.get(name, [0])):.0f}",
            f"{max(after[name]):.0f}",
            f"{sum(after[name]):.0f}",
        )
    total = sum(sum(v) for v in after.values())
    table.add_row(
        "whole stack",
        str(sum(len(v) for v in after.values())),
        f"{sum(sum(v) for v in rest.values()):.0f} (sum)",
        "",
        f"{total:.0f}",
    )
    Console().print(table)


def _memory_by_process(root: int) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for pid in _process_tree(root):
        with suppress(OSError, KeyError, IndexError):
            found.setdefault(_name(pid), []).append(memory_mb(pid)[0])
    return found


def _free_run(size: int) -> int:
    """The first of ``size`` consecutive free TCP ports."""
    while True:
        first = free_port()
        if all(_is_free(port) for port in range(first, first + size)):
            return first


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", action="store_true", help="the whole smbridge run instead")
    parser.add_argument("--calls", type=int, default=2000, help="--stack: calls after rest")
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--src", type=Path, help="run the worker from this src directory")
    args = parser.parse_args()
    if args.stack:
        stack_memory(args.calls, args.src)
        return
    data = body(args.megabytes)
    rounds = [
        ("no token, Content-Length", None, False),
        ("no token, chunked", None, True),
        ("store token, Content-Length", TOKEN, False),
    ]
    table = Table(
        "after",
        "answers",
        "RSS MB",
        "peak RSS MB",
        title=f"assembly worker: {args.posts} POSTs of {len(data) / 1e6:.0f} MB per row"
        + (f" (worker from {args.src})" if args.src else ""),
    )
    with throwaway_database("sqlite") as url:
        prepare(url)
        port = free_port()
        env = {**os.environ, "SMBRIDGE_DATABASE_URL": url, "SMBRIDGE_LOG_LEVEL": "WARNING"}
        if args.src:
            env["PYTHONPATH"] = str(args.src.resolve())
        command = [sys.executable, "-m", "smbridge", "serve", "assembly", "--port", str(port)]
        worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base + "/healthz", 60)
            table.add_row("start (one /healthz)", "", *(f"{m:.0f}" for m in memory_mb(worker.pid)))
            for name, token, stream in rounds:
                answers = post_round(base, data, args.posts, token, stream)
                table.add_row(name, answers, *(f"{m:.0f}" for m in memory_mb(worker.pid)))
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
    Console().print(table)


if __name__ == "__main__":
    main()
