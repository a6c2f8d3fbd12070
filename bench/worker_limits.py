"""Benchmark: the memory of one assembly worker before and after large unwanted bodies.

    .venv/bin/python -m bench.worker_limits [--posts 20] [--megabytes 100] [--src DIR]

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
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--src", type=Path, help="run the worker from this src directory")
    args = parser.parse_args()
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
