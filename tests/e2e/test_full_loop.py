"""The whole loop over real processes: SM emulator → hook → pickers → assembly API →
dispatcher → SM emulator, with chaos, on each database."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from smbridge.kernel.database.tables import orders, sm_notifications
from smbridge.kernel.database.unit_of_work import Database
from tests.support.ending import ending
from tests.support.stack import running_stack

ORDERS = 200


def finished(report: dict[str, Any]) -> int:
    states = report["orders"]
    return int(states.get("delivered", 0)) + int(states.get("cancelled", 0))


@pytest.mark.slow
def test_two_hundred_orders_with_chaos_all_end_delivered_or_cancelled(
    db: Database, database_url: str
) -> None:
    with running_stack(
        database_url,
        "--orders",
        str(ORDERS),
        "--rate",
        "10",
        "--speed",
        "600",
        "--chaos",
        "--seed",
        "7",
        "--pick-seconds",
        "0.05",
    ) as stack:
        report = stack.wait_until(
            lambda r: r["orders"]["generated"] == ORDERS and finished(r) == ORDERS, 400
        )

    assert report["rejected"] == 0, report["rejections"]
    assert report["orders"]["generated"] == ORDERS
    assert finished(report) == ORDERS, report["orders"]
    assert report["webhooks"].get("duplicate", 0) > 0  # the chaos really happened
    # a fifth are pickup orders: their customers came to the counter, we reported delivery
    handed_out = report["notifications"].get("order.delivered", 0)
    assert handed_out > 0
    assert report["notifications"].get("order.pickup_code_created", 0) >= handed_out
    assert (
        report["webhooks"].get("order.canceled", 0) + report["webhooks"].get("order.updated", 0) > 0
    )
    end = ending(db.engine)
    assert set(end.statuses) <= {"delivered", "cancelled"}
    assert sum(end.statuses.values()) == ORDERS
    assert end.journal.get("failed", 0) == 0
    assert end.journal.get("parked", 0) == 0
    assert end.undelivered == 0


COURIER_NOTIFICATIONS = [
    "order.accepted",
    "order.in_work",
    "order.assembled",
    "order.ready_for_delivery",
]
#: The store hands a pickup order over itself: its code first, its delivery last.
PICKUP_NOTIFICATIONS = [
    "order.accepted",
    "order.in_work",
    "order.assembled",
    "order.pickup_code_created",
    "order.ready_for_delivery",
    "order.delivered",
]


@pytest.mark.slow
def test_sm_down_for_a_while_then_every_notification_arrives_in_order(
    db: Database, database_url: str
) -> None:
    fast_retries = {
        "SMBRIDGE_DISPATCH_FIRST_RETRY_SECONDS": "0.2",
        "SMBRIDGE_DISPATCH_MAX_RETRY_SECONDS": "2",
    }
    with running_stack(
        database_url,
        "--orders",
        "30",
        "--rate",
        "10",
        "--speed",
        "600",
        "--seed",
        "3",
        "--pick-seconds",
        "0.02",
        env=fast_retries,
    ) as stack:
        httpx.post(f"{stack.sm_url}/admin/outage", json={"seconds": 6, "status": 503})
        report = stack.wait_until(lambda r: finished(r) == 30, 300)
        views = [httpx.get(f"{stack.sm_url}/report/orders/{sm_id}").json() for sm_id in _sm_ids(db)]

    assert finished(report) == 30
    assert report["rejected"] == 0, report["rejections"]
    for view in views:
        kinds = [n["type"] for n in view["notifications"]]
        assert kinds in (COURIER_NOTIFICATIONS, PICKUP_NOTIFICATIONS), view
    with db.engine.connect() as c:
        retried = c.execute(
            select(func.count())
            .select_from(sm_notifications)
            .where(sm_notifications.c.attempts > 1)
        ).scalar_one()
    assert retried > 0  # the outage really got in the way


def _sm_ids(db: Database) -> list[str]:
    with db.engine.connect() as c:
        return list(c.execute(select(orders.c.sm_order_id)).scalars())
