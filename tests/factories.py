"""Builders of SM webhook bodies for tests: realistic defaults, any field overridable."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from smbridge.domain import notification
from smbridge.domain.assembly import Substitute
from smbridge.domain.notification import Notification, NotificationType
from smbridge.domain.store import Store
from smbridge.kernel.database.unit_of_work import Database
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.orders.repository import OrderRepository, StoreRepository
from tests.support.clock import FROZEN_NOW

STORE_SM_ID = "101"
#: A default order's delivery window opens the morning after the frozen now: 10:00 in Moscow.
WINDOW_FROM = (FROZEN_NOW.astimezone(ZoneInfo("Europe/Moscow")) + timedelta(days=1)).replace(
    hour=10, minute=0
)
TOKEN = "test-token"
HEADERS = {"Client-Token": TOKEN, "Content-Type": "application/json"}


def position(sku: str = "100500", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": sku,
        "name": "Молоко Простоквашино 3,2% 930 мл",
        "originalQuantity": 2,
        "quantity": 2,
        "price": "89.90",
        "discountPrice": "79.90",
        "totalPrice": "179.80",
        "totalDiscountPrice": "159.80",
    }
    body.update(fields)
    return body


def weighed_position(sku: str = "200300", grams: str = "1250", **fields: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "name": "Бананы весовые",
        "quantity": 1,
        "originalQuantity": 1,
        "price": "119.00",
        "discountPrice": "119.00",
        "totalPrice": "148.75",
        "totalDiscountPrice": "148.75",
        "weight": grams,
    }
    return position(sku, **(defaults | fields))


def order_payload(sm_order_id: str = "H1234567890", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "originalOrderId": sm_order_id,
        "orderUUID": f"uuid-{sm_order_id}",
        "storeID": STORE_SM_ID,
        "comment": "Позвоните за 10 минут",
        "state": "new",
        "paymentState": "not_paid",
        "customer": {"name": "Иван Петров", "phone": "+79991111111"},
        "address": {"full_address": "Москва, ул. Ленина, д. 1, кв. 5", "city": "Москва"},
        "delivery": {
            "expectedFrom": WINDOW_FROM.isoformat(),
            "expectedTo": (WINDOW_FROM + timedelta(hours=1)).isoformat(),
            "isPlanned": True,
        },
        "total": {"totalPrice": "328.55", "discountTotalPrice": "308.55"},
        "paymentMethods": ["card_online"],
        "replacementPolicy": "call_or_replace",
        "positions": [position(), weighed_position()],
    }
    body.update(fields)
    return body


def envelope(event_type: str, payload: dict[str, Any], **fields: Any) -> bytes:
    return orjson.dumps({"event_type": event_type, "payload": payload, **fields})


def add_store(db: Database, sm_store_id: str = STORE_SM_ID, **fields: Any) -> Store:
    store = Store(sm_store_id=sm_store_id, name="Магазин на Ленина", **fields)
    with db.unit_of_work() as uow:
        uow.repo(StoreRepository).add(store)
        uow.commit()
    return store


def ready_with_an_unweighed_substitute(db: Database, order_id: int, at: datetime) -> None:
    """An order of ``order_payload()`` ready, its weighed bananas (line 2) replaced by weighed
    apples taken without their weight (replacePosition allowed it before it asked for one);
    the ready_for_delivery with these final contents is queued."""
    apples = Substitute("200301", "Яблоки весовые", Decimal(1), Decimal("189.00"), weighed=False)
    with db.unit_of_work() as uow:
        order = uow.repo(OrderRepository).get(order_id)
        assert order is not None
        order.take(1, at)
        order.record_pick(1, Decimal(2), None, None, at)
        order.replace(2, apples, at)
        order.finish(1, at)
        order.mark_ready(at)
        uow.repo(NotificationOutbox).add(
            Notification(
                order_id=order_id,
                sm_order_id=order.sm_order_id,
                type=NotificationType.READY_FOR_DELIVERY.value,
                payload=notification.ready_for_delivery(order),
                created_at=at,
            )
        )
        uow.commit()
