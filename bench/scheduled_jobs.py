"""Benchmark: a monitoring run over 1,000,000 stored orders (100,000 active), and sales
documents for 10,000 delivered orders, on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.scheduled_jobs [--orders 1000000] [--active 100000]
        [--delivered 10000] [--repeat 3]

Prints one table (medians of --repeat runs). Targets: monitoring ≤ 1 s; sales ≤ 10 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, insert, text, update
from tests.support.environment import throwaway_database

from smbridge.kernel.database import migrations
from smbridge.kernel.database.tables import order_positions, orders, sales_documents, stores
from smbridge.kernel.database.unit_of_work import Database
from smbridge.monitoring.service import run_monitoring
from smbridge.sales.service import create_documents
from smbridge.settings import Settings

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ONE, PRICE = Decimal(1), Decimal("100.00")
ACTIVE = ["new", "in_assembly", "assembled", "ready_for_delivery", "handed_over"]


def fill(db: Database, total: int, active: int, delivered_recent: int) -> None:
    """History (delivered long ago, documented or cancelled), active orders, and recent
    deliveries without documents, inserted in bulk."""
    rng = random.Random(1)
    with db.engine.begin() as c:
        c.execute(
            insert(stores).values(
                id=1, sm_store_id="101", name="Бенч", timezone="Europe/Moscow", active=True
            )
        )
    history = total - active - delivered_recent
    batch = 20_000
    for start in range(0, total, batch):
        rows = []
        for n in range(start, min(start + batch, total)):
            rows.append(_order(n, rng, history, active))
        with db.engine.begin() as c:
            c.execute(insert(orders), rows)
    _positions_for_recent(db, history + active, total)


def _order(n: int, rng: random.Random, history: int, active: int) -> dict[str, object]:
    if n < history:  # long finished
        status = "delivered" if n % 10 else "cancelled"
        at = NOW - timedelta(days=30 + n % 300)
    elif n < history + active:  # today's work, mostly healthy
        status = ACTIVE[n % len(ACTIVE)]
        at = NOW - timedelta(minutes=rng.randint(0, 5))
    else:  # delivered in the last hours, documents due
        status, at = "delivered", NOW - timedelta(hours=3)
    return {
        "id": n + 1,
        "sm_order_id": f"H{n:09d}",
        "number": f"SM{n + 1:08d}",
        "store_id": 1,
        "status": status,
        "customer": {},
        "address": {},
        "payment_methods": [],
        "expected_assembly_at": at + timedelta(hours=2),
        "received_at": at,
        "delivery_from": at + timedelta(hours=3),
        "delivered_at": at if status == "delivered" else None,
        "paid_amount": Decimal("100.00"),
        # History was documented long ago (the marker is all the jobs look at).
        "sales_document_id": n + 1 if n < history and status == "delivered" else None,
        "changed_by_customer": False,
        "version": 1,
    }


def _positions_for_recent(db: Database, first: int, end: int) -> None:
    rows = [
        {
            "order_id": n + 1,
            "line_no": 1,
            "sku": "100500",
            "name": "Молоко",
            "original_quantity": ONE,
            "quantity": ONE,
            "picked_quantity": ONE,
            "price": PRICE,
            "discount_price": PRICE,
            "source": "sm",
            "marking_codes": [],
        }
        for n in range(first, end)
    ]
    with db.engine.begin() as c:
        for start in range(0, len(rows), 20_000):
            c.execute(insert(order_positions), rows[start : start + 20_000])


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def measure(url: str, args: argparse.Namespace) -> dict[str, float]:
    settings = Settings(database_url=url)
    db = Database.from_settings(settings)
    migrations.upgrade(db.engine)
    started = time.perf_counter()
    fill(db, args.orders, args.active, args.delivered)
    with db.engine.begin() as c:  # statistics as after a normal day
        c.execute(text("ANALYZE"))
    fill_s = time.perf_counter() - started
    monitoring = [timed(lambda: run_monitoring(db, settings, NOW)) for _ in range(args.repeat)]
    sales = []
    for _ in range(args.repeat):
        with db.engine.begin() as c:  # undo the previous round: documents and their links
            c.execute(delete(sales_documents))
            c.execute(
                update(orders)
                .where(orders.c.delivered_at > NOW - timedelta(days=1))
                .values(sales_document_id=None)
            )
        sales.append(timed(lambda: create_documents(db, clock=lambda: NOW)))
    db.dispose()
    return {
        "fill": fill_s,
        "monitoring": statistics.median(monitoring),
        "sales": statistics.median(sales),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--active", type=int, default=100_000)
    parser.add_argument("--delivered", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    table = Table(
        title=f"scheduled jobs: {args.orders:,} orders stored, {args.active:,} "
        f"active, {args.delivered:,} delivered awaiting documents "
        f"(median of {args.repeat})"
    )
    for column in (
        "database",
        "fill, s",
        "monitoring run, s",
        "target",
        "sales documents, s",
        "target",
        "documents/s",
    ):
        table.add_column(column)
    for name, kind in (("SQLite", "sqlite"), ("PostgreSQL", "postgresql")):
        with throwaway_database(kind) as url:
            result = measure(url, args)
        table.add_row(
            name,
            f"{result['fill']:.0f}",
            f"{result['monitoring']:.3f}",
            "≤ 1",
            f"{result['sales']:.2f}",
            "≤ 10",
            f"{args.delivered / result['sales']:,.0f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
