"""A small quarter for the reports' tests, built around the frozen now (2026-11-28 12:00
Moscow): seven orders of two stores received 25-29 November (two of them just outside the
period 26-28 November, Moscow days), their positions, sales documents and notifications."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from smbridge.kernel.database.tables import (
    order_positions,
    orders,
    sales_documents,
    sm_notifications,
    stores,
)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.reports.period import ReportScope

PERIOD = ReportScope(date(2026, 11, 26), date(2026, 11, 29))
MIN = timedelta(minutes=1)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def _order(
    order_id: int, store_id: int, received: datetime, status: str, **times: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": order_id,
        "sm_order_id": f"R{order_id}",
        "number": f"N{order_id}",
        "store_id": store_id,
        "status": status,
        "customer": {},
        "address": {},
        "payment_methods": [],
        "expected_assembly_at": received + 45 * MIN,
        "received_at": received,
        "taken_at": None,
        "assembled_at": None,
        "cancelled_at": None,
        "cancel_reason": None,
        "cancelled_by": None,
        "changed_by_customer": False,
        "version": 1,
    }
    row.update(times)
    return row


def _line(
    order_id: int, line_no: int, quantity: str, picked: str | None, **more: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "order_id": order_id,
        "line_no": line_no,
        "sku": f"S{line_no}",
        "name": "Товар",
        "original_quantity": Decimal(quantity),
        "quantity": Decimal(quantity),
        "picked_quantity": None if picked is None else Decimal(picked),
        "replaced_by_sku": None,
        "source": "sm",
        "replaces_line_no": None,
        "marking_codes": [],
    }
    row.update(more)
    return row


def _document(
    order_id: int,
    store_id: int,
    *,
    day: date,
    total: str,
    discount: str,
    paid: str,
    difference: str,
) -> dict[str, Any]:
    return {
        "number": f"D{order_id}",
        "order_id": order_id,
        "store_id": store_id,
        "document_date": day,
        "created_at": utc(28, 8),
        "order_number": f"N{order_id}",
        "sm_order_id": f"R{order_id}",
        "total": Decimal(total),
        "discount": Decimal(discount),
        "paid_amount": Decimal(paid),
        "difference": Decimal(difference),
    }


def _note(
    order_id: int, kind: str, created: datetime, state: str, delivered: datetime | None = None
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "sm_order_id": f"R{order_id}",
        "type": kind,
        "payload": {},
        "created_at": created,
        "state": state,
        "attempts": 1,
        "delivered_at": delivered,
    }


def seed_quarter(db: Database) -> tuple[int, int]:
    """Two stores, seven orders (two outside the period); returns the stores' ids."""
    a, b = 1, 2
    o1, o2 = utc(26, 10), utc(26, 20, 30)  # 13:00 and 23:30 in Moscow: the 26th
    with db.engine.begin() as connection:
        connection.execute(
            insert(stores),
            [
                {
                    "id": a,
                    "sm_store_id": "A",
                    "name": "Магазин А",
                    "timezone": "Europe/Moscow",
                    "active": True,
                },
                {
                    "id": b,
                    "sm_store_id": "B",
                    "name": "Магазин Б",
                    "timezone": "Europe/Moscow",
                    "active": True,
                },
            ],
        )
        connection.execute(
            insert(orders),
            [
                # took 10, assembled in 20: 15 minutes before the deadline
                _order(1, a, o1, "delivered", taken_at=o1 + 10 * MIN, assembled_at=o1 + 30 * MIN),
                # took 20, assembled in 30: 5 minutes late
                _order(2, a, o2, "delivered", taken_at=o2 + 20 * MIN, assembled_at=o2 + 50 * MIN),
                # 00:30 in Moscow: the 27th
                _order(
                    3,
                    a,
                    utc(26, 21, 30),
                    "cancelled",
                    cancelled_by="sm",
                    cancel_reason="Клиент отменил",
                    cancelled_at=utc(26, 22),
                ),
                _order(
                    4,
                    b,
                    utc(27, 8),
                    "cancelled",
                    taken_at=utc(27, 8, 5),
                    cancelled_by="store",
                    cancel_reason="Нет товара",
                    cancelled_at=utc(27, 9),
                ),
                _order(5, b, utc(28, 6), "in_assembly", taken_at=utc(28, 6, 30)),
                # 23:59 on the 25th and 00:00 on the 29th in Moscow: outside
                _order(6, a, utc(25, 20, 59), "delivered", taken_at=utc(25, 21)),
                _order(7, a, utc(28, 21), "new"),
            ],
        )
        connection.execute(
            insert(order_positions),
            [
                _line(1, 1, "2", "2"),
                _line(1, 2, "1", "0", replaced_by_sku="S9"),
                _line(1, 3, "3", "2"),  # short
                _line(1, 4, "1", "1", sku="S9", source="replacement", replaces_line_no=2),
                _line(2, 1, "10", "9"),  # short: 9 < 10 as numbers, not as text
                _line(
                    2, 2, "1", "1", weight_grams=Decimal(1250), picked_weight_grams=Decimal(1100)
                ),
                _line(5, 1, "1", "0"),  # not assembled: not counted
            ],
        )
        connection.execute(
            insert(sales_documents),
            [
                _document(
                    1,
                    a,
                    day=date(2026, 11, 26),
                    total="1234.56",
                    discount="10.00",
                    paid="1234.56",
                    difference="0.00",
                ),
                _document(
                    4,
                    b,
                    day=date(2026, 11, 26),
                    total="100.05",
                    discount="0.50",
                    paid="100.00",
                    difference="-0.05",
                ),
                _document(
                    2,
                    a,
                    day=date(2026, 11, 27),
                    total="0.10",
                    discount="0.00",
                    paid="0.30",
                    difference="0.20",
                ),
                _document(
                    6,
                    a,
                    day=date(2026, 11, 29),
                    total="5.00",
                    discount="0.00",
                    paid="5.00",
                    difference="0.00",
                ),
            ],
        )
        connection.execute(
            insert(sm_notifications),
            [
                _note(1, "order.accepted", o1, "delivered", o1 + timedelta(seconds=1.5)),
                _note(
                    1,
                    "order.in_work",
                    o1 + 10 * MIN,
                    "delivered",
                    o1 + 10 * MIN + timedelta(seconds=0.5),
                ),
                _note(2, "order.accepted", o2, "dead"),
                _note(4, "order.accepted", utc(27, 8), "pending"),
                _note(6, "order.accepted", utc(25, 20, 59), "delivered", utc(25, 21)),
            ],
        )
    return a, b
