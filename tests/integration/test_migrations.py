"""Migrating a database that already holds orders: nothing is lost, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text

from smbridge.kernel.database import migrations
from smbridge.kernel.database.tables import order_positions, orders, webhook_journal
from smbridge.kernel.database.unit_of_work import Database
from tests.support.environment import migrated_database

STORE = (
    "INSERT INTO stores (id, sm_store_id, name, timezone, active)"
    " VALUES (1, '101', 'Ленина', 'Europe/Moscow', true)"
)
ORDER = (
    "INSERT INTO orders (id, sm_order_id, number, store_id, status, customer, address,"
    " payment_methods, expected_assembly_at, received_at, changed_by_customer, version)"
    " VALUES (1, 'H1', 'SM00000001', 1, 'new', '{}', '{}', '[]',"
    " '2026-11-28 12:00:00+00', '2026-11-28 11:30:00+00', false, 1)"
)
LINE = (
    "INSERT INTO order_positions (order_id, line_no, sku, name, original_quantity, quantity,"
    " source, marking_codes) VALUES (1, :n, '1005', 'Молоко', '1', '1', 'sm', '[]')"
)
JOURNAL = (
    "INSERT INTO webhook_journal (event_key, event_type, received_at, deliveries, body,"
    " headers, status, attempts, reply_status, reply_body, order_id) VALUES ('k',"
    " 'order.created', '2026-11-28 11:30:00+00', 1, '{}', '{}', 'applied', 1, 200, '{}', 1)"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A database at 0009 (before orders could wait for their store) with an order in it."""
    with migrated_database(request.param, "0009") as db:
        with db.engine.begin() as c:
            c.execute(text(STORE))
            c.execute(text(ORDER))
            c.execute(text(LINE), [{"n": 1}, {"n": 2}])
            c.execute(text(JOURNAL))
        yield db


def test_orders_may_wait_for_their_store_and_keep_everything(old_database: Database) -> None:
    migrations.upgrade(old_database.engine)

    with old_database.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(order_positions)).scalar_one() == 2
        assert c.execute(select(webhook_journal.c.order_id)).scalar_one() == 1
        assert c.execute(select(orders.c.store_id, orders.c.sm_store_id)).one() == (1, None)
        if old_database.engine.dialect.name == "sqlite":  # switched off for the rebuild only
            assert c.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    with old_database.engine.begin() as c:  # an order without a store can be kept now
        c.execute(text(ORDER.replace("1, 'H1', 'SM00000001', 1", "2, 'H2', 'SM00000002', NULL")))
        c.execute(orders.update().where(orders.c.id == 2).values(sm_store_id="999"))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_idempotency_purge_finds_old_keys_through_an_index(kind: str) -> None:
    with migrated_database(kind) as db:
        assert _purge_plan_uses_the_index(db)
        migrations.downgrade(db.engine, "0011")
        assert not _purge_plan_uses_the_index(db)
        migrations.upgrade(db.engine)
        assert _purge_plan_uses_the_index(db)


def _purge_plan_uses_the_index(db: Database) -> bool:
    """Whether the purge's DELETE (assembly/repository.py) can use the created_at index."""
    purge = "DELETE FROM idempotency_keys WHERE created_at < '2026-11-28 12:00:00+00'"
    with db.engine.begin() as c:
        if db.engine.dialect.name == "sqlite":
            plan = c.exec_driver_sql(f"EXPLAIN QUERY PLAN {purge}").fetchall()
        else:  # an empty table is cheapest to scan: ask whether the index can serve at all
            c.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = c.exec_driver_sql(f"EXPLAIN {purge}").fetchall()
    return "ix_idempotency_keys_created_at" in " ".join(str(row) for row in plan)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_open_pickup_orders_sharing_a_code_stop_the_upgrade_that_makes_codes_unique(
    kind: str,
) -> None:
    with migrated_database(kind, "0021") as db:
        with db.engine.begin() as c:
            c.execute(text(STORE))
            for n in (1, 2):
                c.execute(
                    text(ORDER.replace("1, 'H1', 'SM00000001'", f"{n}, 'H{n}', 'SM0000000{n}'"))
                )
            c.execute(text("UPDATE orders SET status = 'assembled', handout_code = '123456'"))
        with pytest.raises(RuntimeError, match="store 1: 1"):
            migrations.upgrade(db.engine)
        with db.engine.begin() as c:  # handed over: the code is free again
            c.execute(text("UPDATE orders SET status = 'delivered' WHERE id = 1"))
        migrations.upgrade(db.engine)
        assert migrations.current_revision(db.engine) == migrations.head_revision()
