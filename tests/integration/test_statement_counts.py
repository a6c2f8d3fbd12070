"""SQL statements per webhook and per assembly call: the hot paths cannot silently grow.

Counted, not timed, on both databases: every statement the driver executes (SQLite's
BEGIN IMMEDIATE included) and each COMMIT. The bounds are today's counts; lowering one is
progress (issue 11), raising one needs a reason in the commit that does it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.unit_of_work import Database
from tests.factories import envelope, order_payload
from tests.support.clock import FrozenClock
from tests.support.shop import NUMBER, PICK_ALL, Shop

# What each step may cost at most, in statements: (SQLite, PostgreSQL).
BOUNDS: dict[str, tuple[int, int]] = {
    "order.created": (9, 9),
    "order.updated": (6, 6),
    "getActiveOrders": (3, 2),
    "takeOrder": (7, 6),
    "recordPick": (5, 4),
    "finishAssembly": (7, 5),
}


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]).split(None, 1)[0].upper())  # the statement's verb

    def commit(_connection: Any) -> None:
        statements.append("COMMIT")  # a driver call, not a statement: counted as one

    event.listen(db.engine, "before_cursor_execute", record)
    event.listen(db.engine, "commit", commit)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        event.remove(db.engine, "commit", commit)


def bound(db: Database, step: str) -> int:
    sqlite, postgresql = BOUNDS[step]
    return sqlite if db.engine.dialect.name == "sqlite" else postgresql


def within(db: Database, step: str, statements: list[str]) -> None:
    assert len(statements) <= bound(db, step), f"{step}: {len(statements)} {statements}"


@pytest.fixture
def shop(db: Database, clock: FrozenClock) -> Shop[Database]:
    return Shop(db, clock)


def test_a_new_order_webhook(db: Database, clock: FrozenClock, shop: Shop[Database]) -> None:
    body = envelope("order.created", order_payload("H2"))
    hook = parse_webhook(body)
    with counting(db) as statements:
        ingest_webhook(db, hook, IntakePolicy(), clock)
    print("order.created", len(statements), statements)
    within(db, "order.created", statements)


def test_an_update_webhook(db: Database, clock: FrozenClock, shop: Shop[Database]) -> None:
    hook = parse_webhook(envelope("order.updated", order_payload()))
    with counting(db) as statements:
        ingest_webhook(db, hook, IntakePolicy(), clock)
    print("order.updated", len(statements), statements)
    within(db, "order.updated", statements)


def test_a_picker_s_calls(db: Database, shop: Shop[Database]) -> None:
    shop.on_shift()
    steps: list[tuple[str, dict[str, Any]]] = [
        ("getActiveOrders", {}),
        ("takeOrder", {"orderNumber": NUMBER, "pickerId": shop.picker.id}),
        ("recordPick", PICK_ALL[0]),
        ("recordPick", PICK_ALL[1]),  # the weighed line
        ("finishAssembly", {"orderNumber": NUMBER, "bags": 1}),
    ]
    for method, data in steps:
        with counting(db) as statements:
            shop.call(method, **data)
        print(method, len(statements), statements)
        within(db, method, statements)
