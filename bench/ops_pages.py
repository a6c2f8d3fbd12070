"""Benchmark: the reads behind the operations pages (/ui/ops) over 100,000 orders with
100,000 notifications, 100,000 journaled webhooks and 100,000 job runs, on SQLite and on
PostgreSQL: the first page and a page deep in each list (keyset by id, 50 rows, no counts).

    .venv/bin/python -m bench.ops_pages [--rows 100000] [--repeat 20]

Prints one table: the p95 of --repeat reads per page, in milliseconds. Target: ≤ 200 ms
per page (issue 12), of which these reads are the part that grows with the data.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert
from tests.support.environment import throwaway_database

from smbridge.domain.notification import DeliveryState
from smbridge.domain.webhook import JournalStatus
from smbridge.intake.replays import JournalPages
from smbridge.kernel.database import migrations
from smbridge.kernel.database.tables import (
    job_runs,
    orders,
    sm_notifications,
    stores,
    webhook_journal,
)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.monitoring.controls import MonitoringControls
from smbridge.notifications.dead_letters import DeadLetters
from smbridge.scheduler.runs import JobRuns
from smbridge.settings import Settings

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
BATCH = 20_000


def fill(db: Database, rows: int) -> None:
    """Orders; notifications 1 in 20 dead; webhooks 1 in 50 failed, 1 in 100 parked; runs."""
    with db.engine.begin() as c:
        c.execute(insert(stores).values(id=1, sm_store_id="101", name="Бенч", timezone="UTC"))
    for start in range(0, rows, BATCH):
        span = range(start, min(start + BATCH, rows))
        at = [NOW - timedelta(minutes=rows - n) for n in span]
        with db.engine.begin() as c:
            c.execute(insert(orders), [_order(n, at[i]) for i, n in enumerate(span)])
            c.execute(insert(sm_notifications), [_letter(n, at[i]) for i, n in enumerate(span)])
            c.execute(insert(webhook_journal), [_hook(n, at[i]) for i, n in enumerate(span)])
            c.execute(insert(job_runs), [_run(n, at[i]) for i, n in enumerate(span)])


def _order(n: int, at: datetime) -> dict[str, object]:
    return {
        "id": n + 1,
        "sm_order_id": f"H{n:09d}",
        "number": f"SM{n + 1:08d}",
        "store_id": 1,
        "status": "delivered",
        "customer": {},
        "address": {},
        "payment_methods": [],
        "expected_assembly_at": at,
        "received_at": at,
        "changed_by_customer": False,
        "version": 1,
    }


def _letter(n: int, at: datetime) -> dict[str, object]:
    dead = n % 20 == 0
    return {
        "order_id": n + 1,
        "sm_order_id": f"H{n:09d}",
        "type": "order.in_work",
        "payload": {"order_id": f"H{n:09d}"},
        "created_at": at,
        "state": "dead" if dead else "delivered",
        "attempts": 3 if dead else 1,
        "last_status": 422 if dead else 200,
        "last_error": "refused" if dead else None,
    }


def _hook(n: int, at: datetime) -> dict[str, object]:
    status = "failed" if n % 50 == 0 else ("parked" if n % 100 == 1 else "applied")
    return {
        "event_key": f"k{n}",
        "event_type": "order.paid",
        "sm_order_id": f"H{n:09d}",
        "received_at": at,
        "deliveries": 1,
        "body": "{}",
        "headers": {},
        "status": status,
        "attempts": 1,
        "reply_status": 200,
        "reply_body": {},
    }


def _run(n: int, at: datetime) -> dict[str, object]:
    job = ("monitoring", "sales_documents", "telegram")[n % 3]
    return {"job": job, "owner": "w1", "started_at": at, "finished_at": at, "counts": {"n": 1}}


def p95_ms(db: Database, read: Callable[[Database], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        read(db)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]


def pages(rows: int) -> dict[str, Callable[[Database], object]]:
    deep = rows * 9 // 10

    def reading(call: Callable[..., object]) -> Callable[[Database], object]:
        def run(db: Database) -> object:
            with db.unit_of_work(read_only=True) as uow:
                return call(uow)

        return run

    return {
        "dead letters, first page": reading(
            lambda uow: uow.repo(DeadLetters).page(DeliveryState.DEAD, None)
        ),
        "dead letters, deep page": reading(
            lambda uow: uow.repo(DeadLetters).page(DeliveryState.DEAD, deep)
        ),
        "failed webhooks, first page": reading(
            lambda uow: uow.repo(JournalPages).page(JournalStatus.FAILED, None)
        ),
        "parked webhooks, deep page": reading(
            lambda uow: uow.repo(JournalPages).page(JournalStatus.PARKED, deep)
        ),
        "job runs, newest page": reading(lambda uow: uow.repo(JobRuns).page(None, None)),
        "job runs of one job, old page": reading(
            lambda uow: uow.repo(JobRuns).page("telegram", rows // 10)
        ),
        "muted rules (each monitoring run)": reading(
            lambda uow: uow.repo(MonitoringControls).muted_rules(NOW)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    table = Table("page", "SQLite p95, ms", "PostgreSQL p95, ms")
    results: dict[str, list[str]] = {}
    for kind in ("sqlite", "postgresql"):
        with throwaway_database(kind) as url:
            db = Database.from_settings(Settings(database_url=url))
            migrations.upgrade(db.engine)
            fill(db, args.rows)
            if kind == "postgresql":
                with db.engine.connect() as c:
                    c.exec_driver_sql("ANALYZE")
            for name, read in pages(args.rows).items():
                results.setdefault(name, []).append(f"{p95_ms(db, read, args.repeat):.1f}")
            db.dispose()
    for name, cells in results.items():
        table.add_row(name, *cells)
    Console().print(table)


if __name__ == "__main__":
    main()
