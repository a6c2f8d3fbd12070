"""SM's rule for orders we cannot fulfil (SM-API.md §1): answer "created" with our number,
then cancel with a reason. An order for a store not mapped yet waits for it; the
``waiting_orders`` job adopts it once the store is mapped, or cancels it when the wait
runs out. An order without positions (or without any store reference) is cancelled at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from smbridge.domain.order import Order
from smbridge.entrypoints.scheduled_jobs import build_jobs
from smbridge.intake.acceptance import adopt_waiting, settle_waiting
from smbridge.intake.events import parse_webhook
from smbridge.intake.jobs import WAITING_ORDERS
from smbridge.intake.service import IntakePolicy, WebhookResponse, ingest_webhook
from smbridge.kernel.database.tables import sm_notifications, telegram_outbox
from smbridge.kernel.database.unit_of_work import Database
from smbridge.orders.repository import OrderRepository
from smbridge.scheduler.runner import Scheduler
from smbridge.settings import Settings
from tests.conftest import make_settings
from tests.factories import add_store, envelope, order_payload
from tests.support.clock import FrozenClock

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
POLICY = IntakePolicy(operations_chat_id="-900", store_wait=timedelta(minutes=30))
SM_ID = "H1234567890"


def send(db: Database, kind: str, at: datetime = T0, **payload: Any) -> WebhookResponse:
    body = envelope(kind, order_payload(SM_ID, **payload))
    return ingest_webhook(db, parse_webhook(body), POLICY, clock=lambda: at)


def the_order(db: Database) -> Order:
    with db.unit_of_work() as uow:
        order = uow.repo(OrderRepository).by_sm_id(SM_ID)
        assert order is not None
        uow.session.expunge(order)
        return order


def notifications(db: Database) -> list[tuple[str, dict[str, Any]]]:
    with db.engine.connect() as c:
        rows = c.execute(
            select(sm_notifications.c.type, sm_notifications.c.payload).order_by(
                sm_notifications.c.id
            )
        )
        return [(r.type, r.payload) for r in rows]


def alerts(db: Database) -> list[tuple[str | None, str]]:
    with db.engine.connect() as c:
        rows = c.execute(
            select(telegram_outbox.c.chat_id, telegram_outbox.c.text).order_by(telegram_outbox.c.id)
        )
        return [(r.chat_id, r.text) for r in rows]


def test_an_order_for_an_unknown_store_is_created_and_waits_for_it(db: Database) -> None:
    add_store(db, "202")  # another store: this order is not for it
    assert send(db, "order.paid", total={"discountTotalPrice": "300.10"}).status_code == 202
    reply = send(db, "order.created")

    # The window opens 10:00 Moscow; 15 min before it is later than now + 30 min.
    assert (reply.status_code, reply.body) == (
        200,
        {
            "status": "created",
            "number": "SM00000001",
            "expectedAssemblyTime": "2026-11-29T09:45:00+03:00",
        },
    )
    order = the_order(db)
    assert (order.store_id, order.sm_store_id, order.status) == (None, "101", "new")
    assert order.awaits_store
    assert str(order.paid_amount) == "300.10"  # the early payment found its order
    assert notifications(db) == []  # accepted goes out when the store is known
    ((chat, text),) = alerts(db)
    assert chat == "-900"
    assert text.startswith("Заказ СберМаркета H1234567890 пришёл для неизвестного магазина «101»")
    assert "`smbridge stores add --sm-id 101 --name …`" in text
    assert "30 мин" in text
    assert "Иван" not in text
    assert "+7999" not in text

    # SM's retry changes nothing and gets the same answer.
    assert send(db, "order.created", at=T0 + timedelta(seconds=5)) == reply
    assert len(alerts(db)) == 1


def test_the_job_adopts_a_waiting_order_once_its_store_is_mapped(db: Database) -> None:
    send(db, "order.created", delivery={"expectedFrom": "2026-11-28T12:20:00+03:00"})
    assert settle_waiting(db, POLICY, T0 + timedelta(minutes=10)) == {
        "adopted": 0,
        "cancelled": 0,
        "waiting": 1,
    }
    store = add_store(db, "101", timezone="Asia/Yekaterinburg", assembly_lead_minutes=20)

    later = T0 + timedelta(minutes=29)
    assert settle_waiting(db, POLICY, later)["adopted"] == 1

    order = the_order(db)
    assert (order.store_id, order.status, order.awaits_store) == (store.id, "new", False)
    # The promise is made again, from now and the store's own lead time.
    assert order.expected_assembly_at == later + timedelta(minutes=20)
    assert notifications(db) == [
        (
            "order.accepted",
            {
                "order_id": SM_ID,
                "number": "SM00000001",
                "estimated_assembly_at": "2026-11-28T14:49:00+05:00",
            },
        )
    ]
    assert settle_waiting(db, POLICY, later + timedelta(hours=1)) == {
        "adopted": 0,
        "cancelled": 0,
        "waiting": 0,
    }


def test_mapping_the_store_adopts_its_waiting_orders_at_once(db: Database) -> None:
    send(db, "order.created", storeID="777", storeImportKey="lenina-1")
    with db.unit_of_work() as uow:
        assert adopt_waiting(uow, POLICY, T0) == 0  # nothing mapped yet
    store = add_store(db, "101", import_key="lenina-1")  # found by SM's storeImportKey
    with db.unit_of_work() as uow:
        assert adopt_waiting(uow, POLICY, T0 + timedelta(minutes=3)) == 1
        uow.commit()
    assert the_order(db).store_id == store.id
    assert [kind for kind, _ in notifications(db)] == ["order.accepted"]


def test_an_order_whose_store_is_never_mapped_is_cancelled_by_us(db: Database) -> None:
    send(db, "order.created")
    assert settle_waiting(db, POLICY, T0 + timedelta(minutes=29, seconds=59))["waiting"] == 1
    assert settle_waiting(db, POLICY, T0 + timedelta(minutes=30))["cancelled"] == 1

    order = the_order(db)
    assert (order.status, order.cancel_reason, order.cancelled_by, order.store_id) == (
        "cancelled",
        "technical_issues",
        "smbridge",
        None,
    )
    assert order.cancelled_at == T0 + timedelta(minutes=30)
    assert notifications(db) == [
        ("order.canceled", {"order_id": SM_ID, "reason": "technical_issues"})
    ]
    (_, (chat, text)) = alerts(db)
    assert chat == "-900"
    assert text == (
        "Заказ СберМаркета H1234567890 (№SM00000001) отменён: магазин «101» не добавлен "
        "за 30 мин. СберМаркету отправлена отмена (причина technical_issues)."
    )
    add_store(db, "101")  # too late: a cancelled order stays cancelled and store-less
    with db.unit_of_work() as uow:
        assert adopt_waiting(uow, POLICY, T0 + timedelta(hours=1)) == 0


def test_a_waiting_order_sm_cancels_is_left_alone(db: Database) -> None:
    send(db, "order.created")
    send(db, "order.canceled", at=T0 + timedelta(minutes=5))
    assert settle_waiting(db, POLICY, T0 + timedelta(hours=1))["cancelled"] == 0
    assert (the_order(db).status, the_order(db).cancelled_by) == ("cancelled", "sm")
    assert notifications(db) == []


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"positions": []}, "пришёл без позиций и отменён"),
        ({"storeID": None}, "пришёл без магазина (нет storeID и storeImportKey) и отменён"),
    ],
)
def test_an_order_that_cannot_be_fulfilled_is_created_then_cancelled(
    db: Database, payload: dict[str, Any], words: str
) -> None:
    add_store(db)
    reply = send(db, "order.created", **payload)

    assert (reply.status_code, reply.body["status"], reply.body["number"]) == (
        200,
        "created",
        "SM00000001",
    )
    order = the_order(db)
    assert (order.status, order.cancel_reason, order.cancelled_by) == (
        "cancelled",
        "technical_issues",
        "smbridge",
    )
    assert notifications(db) == [
        ("order.canceled", {"order_id": SM_ID, "reason": "technical_issues"})
    ]
    ((chat, text),) = alerts(db)
    assert chat == "-900"
    assert f"Заказ СберМаркета {SM_ID} (№SM00000001) {words}" in text
    assert send(db, "order.created", at=T0 + timedelta(seconds=5), **payload) == reply


def test_the_scheduler_runs_the_job_on_its_own_clock(db: Database, database_url: str) -> None:
    settings: Settings = make_settings(
        database_url, store_wait_minutes=15, operations_chat_id="-900"
    )
    send(db, "order.created")
    clock = FrozenClock(T0 + timedelta(minutes=14))
    scheduler = Scheduler(db, build_jobs(settings, db, clock), clock)
    assert scheduler.run_once(WAITING_ORDERS).counts == {
        "adopted": 0,
        "cancelled": 0,
        "waiting": 1,
    }
    clock.now = T0 + timedelta(minutes=15)
    assert scheduler.run_once(WAITING_ORDERS).counts["cancelled"] == 1
    assert "не добавлен за 15 мин" in alerts(db)[-1][1]
