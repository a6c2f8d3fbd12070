"""Benchmark: the store workstation's pages with 100,000 orders stored, on SQLite and on
PostgreSQL.

    .venv/bin/python -m bench.store_pages [--orders 100000] [--stores 20] [--requests 100]

Orders spread over the stores, a few hundred still active, each with two notifications to
SM, a journal entry and an archived Telegram message (the card's timeline reads all four).
An operator of store 1 signs in; each page is requested ``--requests`` times through the
app in process (TestClient: the time is the server's, plus a little client overhead).
Target (issue 12): p95 ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, text
from tests.support.clock import FrozenClock
from tests.support.environment import migrated_database
from tests.support.ui import add_staff, sign_in, ui_client

from smbridge.domain.staff import Role
from smbridge.kernel.database.tables import (
    order_positions,
    orders,
    pickers,
    sm_notifications,
    stores,
    telegram_archive,
    webhook_journal,
)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ACTIVE = ("new", "in_assembly", "assembled")
BATCH = 10_000


def fill(db: Database, total: int, store_count: int) -> str:
    """The orders and what the timeline reads of them; returns an active order of store 1."""
    with db.engine.begin() as c:
        c.execute(
            insert(stores),
            [
                {
                    "id": i,
                    "sm_store_id": str(i),
                    "name": f"Магазин {i}",
                    "timezone": "Europe/Moscow",
                }
                for i in range(1, store_count + 1)
            ],
        )
        c.execute(
            insert(pickers),
            [
                {"id": i, "store_id": 1 + i % store_count, "name": f"Сборщик {i}"}
                for i in range(1, 201)
            ],
        )
    for start in range(1, total + 1, BATCH):
        ids = range(start, min(start + BATCH, total + 1))
        with db.engine.begin() as c:
            c.execute(insert(orders), [_order(i, total, store_count) for i in ids])
            for kind in ("order.accepted", "order.in_work"):
                c.execute(insert(sm_notifications), [_notification(i, kind) for i in ids])
            c.execute(insert(webhook_journal), [_journal(i) for i in ids])
            c.execute(insert(telegram_archive), [_telegram(i) for i in ids])
    card = next(i for i in range(total, 0, -1) if _active(i) and 1 + i % store_count == 1)
    with db.engine.begin() as c:
        c.execute(
            insert(order_positions),
            [
                {
                    "order_id": card,
                    "line_no": n,
                    "sku": f"{100000 + n}",
                    "name": f"Товар {n}",
                    "original_quantity": Decimal(2),
                    "quantity": Decimal(2),
                    "source": "sm",
                    "marking_codes": [],
                }
                for n in range(1, 31)
            ],
        )
        c.execute(text("ANALYZE"))
    return f"SM{card:08d}"


def _active(i: int) -> bool:
    return i % 400 == 0


def _order(i: int, total: int, store_count: int) -> dict[str, object]:
    at = NOW - timedelta(minutes=total - i)
    status = ACTIVE[i % 3] if _active(i) else ("delivered" if i % 10 else "cancelled")
    return {
        "id": i,
        "sm_order_id": f"H{i}",
        "number": f"SM{i:08d}",
        "store_id": 1 + i % store_count,
        "status": status,
        "customer": {"name": "Покупатель", "phone": "+70000000000"},
        "address": {"full_address": "Москва"},
        "payment_methods": [],
        "expected_assembly_at": at + timedelta(hours=1),
        "received_at": at,
        "changed_by_customer": False,
        "version": 1,
        "picker_id": None if status == "new" else 1 + i % 200,
    }


def _notification(i: int, kind: str) -> dict[str, object]:
    return {
        "order_id": i,
        "sm_order_id": f"H{i}",
        "type": kind,
        "payload": {},
        "created_at": NOW,
        "state": "delivered",
        "attempts": 1,
    }


def _journal(i: int) -> dict[str, object]:
    return {
        "event_key": f"key-{i}",
        "event_type": "order.created",
        "sm_order_id": f"H{i}",
        "received_at": NOW,
        "deliveries": 1,
        "body": "{}",
        "headers": {},
        "status": "applied",
        "attempts": 1,
        "reply_status": 200,
        "reply_body": {},
        "order_id": i,
    }


def _telegram(i: int) -> dict[str, object]:
    return {
        "outbox_id": i,
        "text": "Новый заказ",
        "order_id": i,
        "store_id": 1,
        "status": "sent",
        "created_at": NOW,
        "archived_at": NOW,
        "attempts": 1,
        "message_ids": [],
    }


def measure(get: Callable[[], object], requests: int) -> tuple[float, float]:
    spent = []
    for _ in range(requests):
        started = time.perf_counter()
        get()
        spent.append(time.perf_counter() - started)
    spent.sort()
    return statistics.median(spent) * 1000, spent[max(0, int(len(spent) * 0.95) - 1)] * 1000


def run(kind: str, total: int, store_count: int, requests: int) -> list[tuple[str, float, float]]:
    results = []
    with migrated_database(kind) as db:
        number = fill(db, total, store_count)
        clock = FrozenClock(NOW)
        add_staff(db, login="bench", role=Role.STORE_OPERATOR, store_id=1, now=clock())
        settings = Settings(database_url=str(db.engine.url.render_as_string(False)))
        with ui_client(settings, db, clock) as client:
            sign_in(client, "bench")
            pages = {
                "board": "/ui/store/",
                "board rows (htmx)": "/ui/store/board",
                "board, late only": "/ui/store/?late=1",
                "order card": f"/ui/store/orders/{number}",
                "picking list": f"/ui/store/orders/{number}/print",
                "entry screen": f"/ui/store/orders/{number}/entry",
            }
            for name, path in pages.items():
                assert client.get(path).status_code == 200, path
                median, p95 = measure(partial(client.get, path), requests)
                results.append((f"{kind}: {name}", median, p95))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--stores", type=int, default=20)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    table = Table(title=f"Store workstation, {args.orders:,} orders, {args.stores} stores")
    for column in ("page", "median, ms", "p95, ms"):
        table.add_column(column)
    for kind in ("sqlite", "postgresql"):
        for name, median, p95 in run(kind, args.orders, args.stores, args.requests):
            table.add_row(name, f"{median:.1f}", f"{p95:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
