"""Benchmark: how fast the notification backlog of an SM outage drains once SM answers
again, on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.backlog_drain [--notifications 1500] [--outage 60] [--compare]

A real ``smbridge dispatcher`` process (production settings: 8 threads, 0.5 s poll) sends
to the SM emulator (a process of its own, which refuses a notification out of order).
SM answers 503 for ``--outage`` seconds while the backlog is written into the outbox at an
even pace (orders being picked during the outage: 3 notifications per order); then SM
answers again. From that moment: when SM received the first and the last notification,
the drain rate (notifications / time to the last), and each notification's delay after
recovery. Rows: the production defaults (catch-up, at most
``SMBRIDGE_DISPATCH_MAX_PER_SECOND``), the catch-up without a pace cap (the dispatcher's
full speed), and with ``--compare`` neither probe nor catch-up (every row retries on its
own backoff, as before the change).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import orjson
import uvicorn
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from tests.support.environment import free_port, throwaway_database, wait_until_up

from smbridge.domain.notification import Notification
from smbridge.domain.store import Store
from smbridge.emulators.sm import baskets
from smbridge.emulators.sm.app import MarketConfig, MarketOrder, Marketplace, create_app
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.clock import utc_now
from smbridge.kernel.database import migrations
from smbridge.kernel.database.tables import sm_notifications
from smbridge.kernel.database.unit_of_work import Database
from smbridge.kernel.logs import configure_logging
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.orders.repository import OrderRepository, StoreRepository
from smbridge.settings import Settings

TOKEN = "bench-token"  # noqa: S105 - the emulator's notification token on this bench
KINDS = ("order.in_work", "order.assembled", "order.canceled")
MODES = {
    "catch-up (defaults)": {},
    "catch-up, no pace cap": {"SMBRIDGE_DISPATCH_MAX_PER_SECOND": "1000000"},
    "per-row backoff (before)": {
        "SMBRIDGE_DISPATCH_MAX_PER_SECOND": "1000000",
        "SMBRIDGE_DISPATCH_DOWN_AFTER_FAILURES": "1000000000",
    },
}


@dataclass
class Drain:
    first: float
    last: float
    delays: list[float]
    failed_sends: int


def serve_market(port: int, sm_ids: list[str]) -> None:
    configure_logging("WARNING", json=False)
    config = MarketConfig(hook_urls=("http://127.0.0.1:9/",), hook_token=TOKEN, notify_token=TOKEN)
    market = Marketplace(config)
    for sm_id in sm_ids:
        market.orders[sm_id] = MarketOrder(sm_id, {}, set(), {})
    app = create_app(market, generate=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def sm_emulator(sm_ids: list[str]) -> Iterator[str]:
    port = free_port()
    process = multiprocessing.Process(target=serve_market, args=(port, sm_ids), daemon=True)
    process.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/healthz", 60)
        yield url
    finally:
        process.terminate()
        process.join(10)


@contextmanager
def dispatcher_process(url: str, sm_url: str, overrides: dict[str, str]) -> Iterator[None]:
    env = {
        **os.environ,
        "SMBRIDGE_DATABASE_URL": url,
        "SMBRIDGE_SM_BASE_URL": sm_url,
        "SMBRIDGE_SM_TOKEN": TOKEN,
        "SMBRIDGE_LOG_LEVEL": "ERROR",
        **overrides,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "smbridge", "dispatcher"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def orders_in(db: Database, count: int) -> dict[str, int]:
    """Orders taken in through the intake, as SM's webhooks would create them."""
    with db.unit_of_work() as uow:
        uow.repo(StoreRepository).add(Store(sm_store_id="101", name="bench"))
        uow.commit()
    rng, ids = random.Random(7), {}
    for n in range(count):
        sm_id = f"B{n:06d}"
        payload = baskets.order(sm_id, "101", datetime.now(UTC), rng)
        body = orjson.dumps({"event_type": "order.created", "payload": payload})
        ingest_webhook(db, parse_webhook(body), IntakePolicy(notify_accepted=False), utc_now)
        with db.unit_of_work() as uow:
            order = uow.repo(OrderRepository).by_sm_id(sm_id)
            assert order is not None
            assert order.id is not None
            ids[sm_id] = order.id
    return ids


def write_backlog(db: Database, ids: dict[str, int], seconds: float) -> None:
    """Each order's notifications, the orders spread evenly over ``seconds``."""
    started = time.monotonic()
    for n, (sm_id, order_id) in enumerate(ids.items()):
        time.sleep(max(0.0, started + seconds * n / len(ids) - time.monotonic()))
        with db.unit_of_work() as uow:
            for kind in KINDS:
                payload = {"order_id": sm_id, "reason": "technical_issues"}
                if kind != "order.canceled":
                    del payload["reason"]
                uow.repo(NotificationOutbox).add(
                    Notification(order_id, sm_id, kind, payload, created_at=utc_now())
                )
            uow.commit()
    time.sleep(max(0.0, started + seconds - time.monotonic()))


def measure(kind: str, orders: int, outage: float, overrides: dict[str, str]) -> Drain:
    with throwaway_database(kind) as url:
        db = Database.from_settings(Settings(database_url=url))
        migrations.upgrade(db.engine)
        ids = orders_in(db, orders)
        total = orders * len(KINDS)
        with sm_emulator(list(ids)) as sm_url, httpx.Client(base_url=sm_url) as sm:
            sm.post("/admin/outage", json={"seconds": 86_400}).raise_for_status()
            with dispatcher_process(url, sm_url, overrides):
                write_backlog(db, ids, outage)
                sm.post("/admin/outage", json={"seconds": 0}).raise_for_status()
                recovered = time.time()
                while sm.get("/report").json()["accepted"] < total:
                    time.sleep(0.2)
            received = [
                n["receivedAt"] - recovered
                for sm_id in ids
                for n in sm.get(f"/report/orders/{sm_id}").json()["notifications"]
            ]
            assert sm.get("/report").json()["rejected"] == 0
        with db.engine.connect() as c:
            sends = c.execute(select(func.sum(sm_notifications.c.attempts))).scalar_one()
        db.dispose()
    return Drain(min(received), max(received), received, int(sends) - total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notifications", type=int, default=1500)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args()
    configure_logging("WARNING", json=False)
    orders = args.notifications // len(KINDS)
    table = Table(
        title=f"Backlog of {orders * len(KINDS):,} notifications made during a "
        f"{args.outage:.0f} s SM outage: seconds after SM answers again"
    )
    for column in (
        "database",
        "dispatcher",
        "first s",
        "last s",
        "drain rate /s",
        "rate once started /s",
        "delay p50 s",
        "failed sends in outage",
    ):
        table.add_column(column)
    modes = list(MODES.items())[: 3 if args.compare else 2]
    for kind in ("sqlite", "postgresql"):
        for mode, overrides in modes:
            drain = measure(kind, orders, args.outage, overrides)
            table.add_row(
                kind,
                mode,
                f"{drain.first:.1f}",
                f"{drain.last:.1f}",
                f"{len(drain.delays) / drain.last:,.0f}",
                f"{len(drain.delays) / max(drain.last - drain.first, 1e-3):,.0f}",
                f"{statistics.median(drain.delays):.1f}",
                f"{drain.failed_sends:,}",
            )
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
