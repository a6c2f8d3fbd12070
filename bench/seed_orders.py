"""Fill a database with a retailer's quarter: 100,000 orders over ~90 days in ~20 stores.

Each order has its positions (some replaced, some short), its notifications to SM (some
slow, a few dead), its ``order.created`` journal row, and a delivered one its sales
document; cancelled ones carry a side and a reason. The last hours' orders are still in
play (new, in assembly, assembled, ready). Written with Core bulk inserts (executemany) in
chunks, ids given, so 100,000 orders take seconds, not minutes. Deterministic for a seed.

Other benches reuse ``seed(engine, ...)`` on a migrated, empty database; from the shell::

    .venv/bin/python -m bench.seed_orders sqlite:////tmp/seed.db --orders 100000
    .venv/bin/python -m bench.seed_orders postgresql+psycopg://postgres@127.0.0.1:5432/mydb

(the database is migrated first; it must hold no orders).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Table, func, insert, select

from smbridge.kernel.database import migrations
from smbridge.kernel.database.tables import (
    order_positions,
    orders,
    pickers,
    sales_documents,
    sm_notifications,
    stores,
    webhook_journal,
)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings

MOSCOW = ZoneInfo("Europe/Moscow")
#: The default end of the seeded quarter: the test suite's frozen now (tests/support/clock).
DEFAULT_END = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
CHUNK = 5_000
PICKERS_PER_STORE = 6
LINES = 4  # SM's lines per order (a replacement adds one)
CANCEL_REASONS = {
    "sm": ("Клиент отменил заказ", "Нет курьера", "Не удалось связаться с клиентом"),
    "store": ("Нет товара", "Магазин закрыт", "Технический сбой"),
}
ACTIVE_HOURS = 3  # orders received in the last hours are still in play


@dataclass(frozen=True)
class Seeded:
    stores: int
    orders: int
    positions: int
    notifications: int
    journal: int
    sales_documents: int
    seconds: float
    first_store_id: int
    end: datetime


def seed(
    engine: Engine,
    *,
    orders_count: int = 100_000,
    days: int = 90,
    store_count: int = 20,
    end: datetime = DEFAULT_END,
    rng_seed: int = 12,
) -> Seeded:
    """Write the quarter into a migrated database that holds no orders yet."""
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    with engine.begin() as connection:
        if connection.execute(select(func.count()).select_from(orders)).scalar_one():
            raise SystemExit("the database already holds orders: seed an empty one")
        first_store = int(connection.execute(select(func.max(stores.c.id))).scalar() or 0) + 1
        first_picker = int(connection.execute(select(func.max(pickers.c.id))).scalar() or 0) + 1
        store_ids = list(range(first_store, first_store + store_count))
        connection.execute(
            insert(stores),
            [
                {
                    "id": store_id,
                    "sm_store_id": f"seed-{store_id}",
                    "name": f"Магазин №{n + 1}",
                    "timezone": "Europe/Moscow",
                    "active": True,
                }
                for n, store_id in enumerate(store_ids)
            ],
        )
        connection.execute(
            insert(pickers),
            [
                {
                    "id": first_picker + n * PICKERS_PER_STORE + k,
                    "store_id": store_id,
                    "name": f"Сборщик {k + 1}",
                    "active": True,
                }
                for n, store_id in enumerate(store_ids)
                for k in range(PICKERS_PER_STORE)
            ],
        )
    counts = {"positions": 0, "notifications": 0, "journal": 0, "sales": 0}
    start = end - timedelta(days=days)
    for chunk in _chunks(orders_count):
        rows: dict[str, list[dict[str, Any]]] = {
            "orders": [],
            "positions": [],
            "notifications": [],
            "journal": [],
            "sales": [],
        }
        for n in chunk:
            _order(
                rng,
                n + 1,
                start=start,
                end=end,
                store_ids=store_ids,
                first_picker=first_picker,
                rows=rows,
            )
        with engine.begin() as connection:
            for table, key in (
                (orders, "orders"),
                (order_positions, "positions"),
                (sm_notifications, "notifications"),
                (webhook_journal, "journal"),
                (sales_documents, "sales"),
            ):
                if rows[key]:
                    connection.execute(insert(table), rows[key])
        for key in counts:
            counts[key] += len(rows[key])
    if engine.dialect.name == "postgresql":
        _reset_sequences(engine)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # As autovacuum would: the visibility map lets index-only scans skip the heap.
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return Seeded(
        store_count,
        orders_count,
        counts["positions"],
        counts["notifications"],
        counts["journal"],
        counts["sales"],
        time.perf_counter() - started,
        first_store,
        end,
    )


def _chunks(total: int) -> Iterator[range]:
    for first in range(0, total, CHUNK):
        yield range(first, min(first + CHUNK, total))


def _order(
    rng: random.Random,
    order_id: int,
    *,
    start: datetime,
    end: datetime,
    store_ids: list[int],
    first_picker: int,
    rows: dict[str, list[dict[str, Any]]],
) -> None:
    span = (end - start).total_seconds()
    # Most orders come in the daytime (Moscow); spread evenly over the days.
    received = start + timedelta(seconds=rng.random() * span)
    local = received.astimezone(MOSCOW)
    if local.hour < 8:
        received += timedelta(hours=8 - local.hour)
    received = min(received, end - timedelta(minutes=1)).replace(microsecond=0)
    store_index = order_id % len(store_ids)
    store_id = store_ids[store_index]
    picker_id = first_picker + store_index * PICKERS_PER_STORE + rng.randrange(PICKERS_PER_STORE)
    sm_order_id = f"S{order_id:09d}"
    number = f"{order_id:08d}"
    deadline = received + timedelta(minutes=45)
    taken = received + timedelta(minutes=rng.randint(1, 30), seconds=rng.randint(0, 59))
    assembled = taken + timedelta(minutes=rng.randint(5, 40), seconds=rng.randint(0, 59))
    ready = assembled + timedelta(minutes=1)
    handed = ready + timedelta(minutes=rng.randint(5, 60))
    delivered = handed + timedelta(minutes=rng.randint(20, 90))
    age = end - received
    roll = rng.random()
    times: dict[str, datetime | None] = dict.fromkeys(
        ("taken_at", "assembled_at", "ready_at", "handed_over_at", "delivered_at", "cancelled_at")
    )
    cancel: tuple[str, str] | None = None
    if age < timedelta(hours=ACTIVE_HOURS):
        status = rng.choice(("new", "in_assembly", "assembled", "ready_for_delivery"))
        reached = {"new": 0, "in_assembly": 1, "assembled": 2, "ready_for_delivery": 3}[status]
        for index, (key, at) in enumerate(
            (("taken_at", taken), ("assembled_at", assembled), ("ready_at", ready))
        ):
            if index < reached and at < end:
                times[key] = at
    elif roll < 0.08:
        status = "cancelled"
        side = "sm" if rng.random() < 0.6 else "store"
        cancel = (side, rng.choice(CANCEL_REASONS[side]))
        if rng.random() < 0.5:
            times["taken_at"] = taken
        times["cancelled_at"] = (times["taken_at"] or received) + timedelta(minutes=5)
    else:
        status = "delivered"
        times.update(
            taken_at=taken,
            assembled_at=assembled,
            ready_at=ready,
            handed_over_at=handed,
            delivered_at=delivered,
        )
    lines, total = _positions(rng, order_id, assembled=times["assembled_at"] is not None)
    rows["positions"] += lines
    rows["orders"].append(
        {
            "id": order_id,
            "sm_order_id": sm_order_id,
            "number": number,
            "store_id": store_id,
            "sm_store_id": f"seed-{store_id}",
            "status": status,
            "customer": {},
            "address": {},
            "payment_methods": [],
            "delivery_from": received + timedelta(hours=2),
            "delivery_to": received + timedelta(hours=3),
            "total_price": total,
            "complete_before": deadline,
            "expected_assembly_at": deadline,
            "picker_id": picker_id if times["taken_at"] else None,
            "received_at": received,
            **times,
            "cancel_reason": cancel[1] if cancel else None,
            "cancelled_by": cancel[0] if cancel else None,
            "changed_by_customer": False,
            "bags": 2 if times["assembled_at"] else None,
            "sales_document_id": order_id if status == "delivered" else None,
            "updated_at": received,
            "version": 1,
        }
    )
    rows["journal"].append(
        {
            "id": order_id,
            "event_key": f"seed-{order_id}",
            "event_type": "order.created",
            "sm_order_id": sm_order_id,
            "received_at": received,
            "deliveries": 1,
            "body": '{"event_type":"order.created"}',
            "headers": {},
            "status": "applied",
            "attempts": 1,
            "applied_at": received,
            "reply_status": 200,
            "reply_body": {},
            "order_id": order_id,
        }
    )
    steps = [("order.accepted", received)]
    steps += [
        (kind, at)
        for kind, at in (
            ("order.in_work", times["taken_at"]),
            ("order.assembled", times["assembled_at"]),
            ("order.ready_for_delivery", times["ready_at"]),
            ("order.canceled", times["cancelled_at"] if cancel and cancel[0] == "store" else None),
        )
        if at is not None
    ]
    for index, (kind, at) in enumerate(steps):
        state = "delivered"
        if rng.random() < 0.01:
            state = "dead"
        elif at > end - timedelta(minutes=2):
            state = "pending"
        latency = timedelta(milliseconds=rng.randint(80, 1500))
        if rng.random() < 0.03:
            latency = timedelta(seconds=rng.randint(30, 600))  # SM was slow or down
        rows["notifications"].append(
            {
                "id": order_id * 8 + index,
                "order_id": order_id,
                "sm_order_id": sm_order_id,
                "type": kind,
                "payload": {},
                "created_at": at,
                "state": state,
                "attempts": 1,
                "delivered_at": at + latency if state == "delivered" else None,
                "last_status": 200 if state == "delivered" else 422 if state == "dead" else None,
            }
        )
    if status == "delivered" and times["delivered_at"] is not None:
        document_at = times["delivered_at"]
        rows["sales"].append(
            {
                "id": order_id,
                "number": f"SD-{order_id:09d}",
                "order_id": order_id,
                "store_id": store_id,
                "document_date": document_at.astimezone(MOSCOW).date(),
                "created_at": document_at,
                "order_number": number,
                "sm_order_id": sm_order_id,
                "total": total,
                "discount": Decimal("0.00"),
                "paid_amount": total,
                "difference": Decimal("0.00"),
            }
        )


def _positions(
    rng: random.Random, order_id: int, *, assembled: bool
) -> tuple[list[dict[str, Any]], Decimal]:
    lines: list[dict[str, Any]] = []
    total = Decimal("0.00")
    replaced_line: int | None = None
    for line_no in range(1, LINES + 1):
        quantity = Decimal(rng.randint(1, 4))
        price = Decimal(rng.randint(4_900, 59_900)) / 100
        picked: Decimal | None = None
        replaced_by: str | None = None
        if assembled:
            picked = quantity
            roll = rng.random()
            if roll < 0.05 and replaced_line is None:
                replaced_line, replaced_by, picked = line_no, f"9{order_id % 1000:05d}", Decimal(0)
            elif roll < 0.12:
                picked = quantity - 1
        amount = price * quantity
        total += amount if picked is None else price * picked
        lines.append(
            {
                "id": order_id * 8 + line_no,
                "order_id": order_id,
                "line_no": line_no,
                "sku": f"{100000 + (order_id * 7 + line_no) % 5000}",
                "name": f"Товар {line_no}",
                "original_quantity": quantity,
                "quantity": quantity,
                "picked_quantity": picked,
                "price": price,
                "discount_price": price,
                "total_price": amount,
                "total_discount_price": amount,
                "replaced_by_sku": replaced_by,
                "source": "sm",
                "replaces_line_no": None,
                "marking_codes": [],
            }
        )
    if replaced_line is not None:
        price = Decimal("99.90")
        total += price
        lines.append(
            {
                "id": order_id * 8 + LINES + 1,
                "order_id": order_id,
                "line_no": LINES + 1,
                "sku": f"9{order_id % 1000:05d}",
                "name": "Замена",
                "original_quantity": Decimal(0),
                "quantity": Decimal(1),
                "picked_quantity": Decimal(1),
                "price": price,
                "discount_price": price,
                "total_price": price,
                "total_discount_price": price,
                "replaced_by_sku": None,
                "source": "replacement",
                "replaces_line_no": replaced_line,
                "marking_codes": [],
            }
        )
    return lines, total


def _reset_sequences(engine: Engine) -> None:
    """Ids were given: move PostgreSQL's sequences past them."""
    tables: list[Table] = [
        stores,
        pickers,
        orders,
        order_positions,
        sm_notifications,
        webhook_journal,
        sales_documents,
    ]
    with engine.begin() as connection:
        for table in tables:
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--stores", type=int, default=20)
    args = parser.parse_args()
    db = Database.from_settings(Settings(database_url=args.database_url))
    try:
        migrations.upgrade(db.engine)
        done = seed(db.engine, orders_count=args.orders, days=args.days, store_count=args.stores)
    finally:
        db.dispose()
    print(
        f"{done.orders} orders, {done.positions} positions, {done.notifications} notifications, "
        f"{done.journal} journal rows, {done.sales_documents} sales documents in "
        f"{done.stores} stores: {done.seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
