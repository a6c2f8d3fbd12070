"""Driving the real hook endpoint in-process, and reading back what it stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from starlette.testclient import TestClient

from smbridge.domain.order import Order
from smbridge.kernel.database.tables import (
    order_positions,
    orders,
    sm_notifications,
    telegram_outbox,
    webhook_journal,
)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.orders.repository import OrderRepository

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HOOK = "/sbermarket/orders/hook/"
HEADERS = {"Client-Token": "test-token", "Content-Type": "application/json"}
SM_ORDER = "H7700012345"


def fixture_body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(fixture_body(name))
    return loaded


def post(client: TestClient, name: str, path: str = HOOK) -> tuple[int, dict[str, Any]]:
    response = client.post(path, content=fixture_body(name), headers=HEADERS)
    return response.status_code, response.json()


def stored_order(db: Database, sm_order_id: str = SM_ORDER) -> Order:
    with db.unit_of_work() as uow:
        order = uow.repo(OrderRepository).by_sm_id(sm_order_id)
        assert order is not None, f"order {sm_order_id} not stored"
        uow.session.expunge(order)
        return order


def set_status(db: Database, status: str) -> None:
    with db.engine.begin() as c:
        c.execute(orders.update().where(orders.c.sm_order_id == SM_ORDER).values(status=status))


def journal(db: Database) -> list[tuple[str, str, int]]:
    with db.engine.connect() as c:
        rows = c.execute(
            select(
                webhook_journal.c.event_type, webhook_journal.c.status, webhook_journal.c.deliveries
            ).order_by(webhook_journal.c.id)
        )
        return [(r.event_type, r.status, r.deliveries) for r in rows]


def telegram_texts(db: Database) -> list[str]:
    with db.engine.connect() as c:
        return list(
            c.execute(select(telegram_outbox.c.text).order_by(telegram_outbox.c.id)).scalars()
        )


def row_counts(db: Database) -> dict[str, int]:
    tables = (orders, order_positions, webhook_journal, telegram_outbox, sm_notifications)
    with db.engine.connect() as c:
        return {
            t.name: int(c.execute(select(func.count()).select_from(t)).scalar_one()) for t in tables
        }
