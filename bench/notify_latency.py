"""Benchmark: from a picker's finishAssembly returning to SM receiving
order.ready_for_delivery, over real processes, on SQLite and on PostgreSQL, while
order.created webhooks arrive at the hook pool at ``--rate`` per second (50: issue 11).

    .venv/bin/python -m bench.notify_latency [--orders 300] [--pickers 4] [--rate 50]
        [--databases sqlite,postgresql]

"Before" a change: run it with ``PYTHONPATH=<a checkout of main>/src`` (the system's
processes inherit it).

The whole system runs as ``smbridge run --demo --pickers 0``: the SM emulator posts new
orders to the hook pool at ``--rate`` per second and never stops (the background load, also
every order's order.accepted to send); this script is the only picker (several threads) and
picks the first ``--orders`` orders of one store. Prints one table; p50/p99 over all picked
orders; "to assembled" is finishAssembly returned -> SM received order.assembled (queued in
the same transaction, sent first), "assembled to ready" the gap between the two at SM.
Target (issue 11): p50 ≤ 30 ms, p99 ≤ 150 ms.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from tests.support.environment import free_port_range, throwaway_database, wait_until_up

from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.assembly.service import token_hash
from smbridge.domain.picker import Picker
from smbridge.emulators.pickers.crew import AssemblyApi
from smbridge.emulators.sm.baskets import CATALOG_BY_SKU
from smbridge.kernel.database.unit_of_work import Database
from smbridge.orders.repository import StoreRepository
from smbridge.settings import Settings


@contextmanager
def system(url: str, rate: float) -> Iterator[tuple[str, str]]:
    base = free_port_range(9)  # one free range: 4 hook, 4 assembly workers, the SM emulator
    hook, assembly, sm = base, base + 4, base + 8
    env = {**os.environ, "SMBRIDGE_DATABASE_URL": url, "SMBRIDGE_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smbridge",
            "run",
            "--demo",
            "--pickers",
            "0",
            "--orders",
            "0",  # never stop: the webhook load lasts the whole measurement
            "--rate",
            str(rate),
            "--speed",
            "1",
            "--hook-port",
            str(hook),
            "--assembly-port",
            str(assembly),
            "--sm-port",
            str(sm),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{sm}/healthz", 180)  # a loaded box starts slowly
        wait_until_up(f"http://127.0.0.1:{assembly}/healthz", 180)
        yield f"http://127.0.0.1:{sm}", f"http://127.0.0.1:{assembly}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def pickers_and_token(url: str, count: int) -> tuple[str, list[int]]:
    db = Database.from_settings(Settings(database_url=url))
    token = uuid.uuid4().hex
    with db.unit_of_work() as uow:
        store = uow.repo(StoreRepository).by_sm_id("101")
        assert store is not None
        assert store.id is not None
        uow.repo(ApiTokenRepository).add(store.id, token_hash(token), "bench", datetime.now(UTC))
        ids = []
        for n in range(count):
            picker = Picker(store_id=store.id, name=f"bench {n}")
            uow.repo(PickerRepository).add(picker)
            assert picker.id is not None
            ids.append(picker.id)
        uow.commit()
    db.dispose()
    return token, ids


def pick(api: AssemblyApi, picker_id: int, number: str) -> tuple[str, float]:
    card = api.call("takeOrder", orderNumber=number, pickerId=picker_id)
    for line in card["positions"]:
        data: dict[str, Any] = {
            "orderNumber": number,
            "lineNo": line["lineNo"],
            "quantity": line["quantity"],
        }
        if line["weightGrams"] is not None:
            data["weightGrams"] = line["weightGrams"]
        product = CATALOG_BY_SKU.get(line["sku"])
        if product is not None and product.marked:
            data["markingCodes"] = [f"0104600{n:024d}" for n in range(int(float(line["quantity"])))]
        api.call("recordPick", **data)
    api.call("finishAssembly", orderNumber=number, bags=1)
    return card["smOrderId"], time.time()


def work(api_url: str, token: str, picker_ids: list[int], orders: int) -> dict[str, float]:
    board = AssemblyApi(api_url, token)
    for picker_id in picker_ids:
        board.call("openShift", pickerId=picker_id)
    todo: queue.Queue[str] = queue.Queue()
    finished: dict[str, float] = {}
    lock = threading.Lock()

    def picker(picker_id: int) -> None:
        api = AssemblyApi(api_url, token)
        while len(finished) < orders:
            try:
                number = todo.get(timeout=0.5)
            except queue.Empty:
                continue
            sm_id, returned = pick(api, picker_id, number)
            with lock:
                finished[sm_id] = returned

    threads = [threading.Thread(target=picker, args=(p,), daemon=True) for p in picker_ids]
    for thread in threads:
        thread.start()
    seen: set[str] = set()
    while len(finished) < orders:
        for order in board.call("getActiveOrders")["orders"]:
            if order["status"] == "new" and order["number"] not in seen:
                seen.add(order["number"])
                todo.put(order["number"])
        time.sleep(0.1)
    with lock:  # a picker may still finish one more: measure what was done by now
        return dict(finished)


def generated(sm_url: str) -> int:
    return int(httpx.get(f"{sm_url}/report", timeout=60).json()["orders"]["generated"])


def latencies(
    sm_url: str, finished: dict[str, float]
) -> tuple[list[float], list[float], list[float]]:
    """finishAssembly returned -> ready_for_delivery at SM, -> assembled at SM, and the gap
    between the two at SM (ms)."""
    ready_ms, assembled_ms, gaps_ms = [], [], []
    with httpx.Client(base_url=sm_url, timeout=60) as client:
        for sm_id, returned in finished.items():
            for _ in range(100):
                view = client.get(f"/report/orders/{sm_id}").json()
                seen = {n["type"]: n["receivedAt"] for n in view["notifications"]}
                if "order.ready_for_delivery" in seen:
                    ready_ms.append((seen["order.ready_for_delivery"] - returned) * 1000)
                    if "order.assembled" in seen:
                        assembled_ms.append((seen["order.assembled"] - returned) * 1000)
                        gap = seen["order.ready_for_delivery"] - seen["order.assembled"]
                        gaps_ms.append(gap * 1000)
                    break
                time.sleep(0.05)
    return ready_ms, assembled_ms, gaps_ms


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--pickers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=50.0, help="order.created webhooks/s")
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (one alone halves the run)",
    )
    args = parser.parse_args()
    table = Table(
        title=f"finishAssembly returned -> SM received order.ready_for_delivery, "
        f"{args.orders:,} orders, {args.pickers} pickers, 4+4 workers, "
        f"order.created at {args.rate:g}/s meanwhile"
    )
    for column in (
        "database",
        "orders measured",
        "p50 ms",
        "p99 ms",
        "max ms",
        "to assembled p50/p99",
        "assembled to ready p50",
        "webhooks/s meanwhile",
        "arrived before the answer",
        "target p50/p99",
    ):
        table.add_column(column)
    for kind in args.databases.split(","):
        with throwaway_database(kind) as url, system(url, args.rate) as (sm_url, api_url):
            token, picker_ids = pickers_and_token(url, args.pickers)
            started, before = time.monotonic(), generated(sm_url)
            finished = work(api_url, token, picker_ids, args.orders)
            load = (generated(sm_url) - before) / (time.monotonic() - started)
            values, assembled, gaps = latencies(sm_url, finished)
        early = sum(v < 0 for v in values)
        table.add_row(
            kind,
            f"{len(values):,}",
            f"{statistics.median(values):.1f}",
            f"{percentile(values, 0.99):.1f}",
            f"{max(values):.1f}",
            f"{statistics.median(assembled):.1f} / {percentile(assembled, 0.99):.1f}",
            f"{statistics.median(gaps):.1f}" if gaps else "-",
            f"{load:.1f}",
            f"{early:,}",
            "≤ 30 / ≤ 150",
        )
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
