"""What the browser tests and the screenshots find on the stand: stores with pickers,
orders that SM sent (through the hook), moved along through the assembly API as a
picker's app would (never by writing rows behind the use cases' back)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.assembly.service import token_hash
from smbridge.domain.picker import Picker
from smbridge.domain.store import Store
from smbridge.orders.repository import StoreRepository
from tests.browser.stand import Stand
from tests.factories import WINDOW_FROM, position
from tests.support.clock import FROZEN_NOW

API = "/sbermarket/orders/api/"


@dataclass(frozen=True)
class Shop:
    id: int  # stores.id
    sm_id: str
    name: str
    token: str  # its assembly API token (a picker's app)
    pickers: dict[str, int]  # name -> pickers.id


def open_shop(stand: Stand, sm_id: str, name: str, pickers: tuple[str, ...]) -> Shop:
    """A store with pickers and an assembly API token."""
    token = f"token-{sm_id}-{uuid.uuid4().hex[:8]}"
    with stand.db.unit_of_work() as uow:
        store = Store(sm_store_id=sm_id, name=name)
        uow.repo(StoreRepository).add(store)
        assert store.id is not None
        ids = {}
        for picker_name in pickers:
            picker = Picker(store_id=store.id, name=picker_name)
            uow.repo(PickerRepository).add(picker)
            assert picker.id is not None
            ids[picker_name] = picker.id
        uow.repo(ApiTokenRepository).add(store.id, token_hash(token), "ТСД", FROZEN_NOW)
        uow.commit()
        return Shop(store.id, sm_id, name, token, ids)


def call(stand: Stand, shop: Shop, method: str, **data: Any) -> dict[str, Any]:
    """One assembly API call as a picker's app makes it."""
    answer = httpx.post(
        f"{stand.url}{API}{method}",
        json={"requestId": uuid.uuid4().hex, "requestData": data},
        headers={"Client-Token": shop.token},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["result"]
    return result


# -- the products of the picking test ----------------------------------------------------

MILK = "4607001771548"  # a product's EAN-13: its barcode and, here, its SKU
KEFIR = "4607001770018"
KEFIR_SUBSTITUTE = "4607001770025"
CHEESE = "24680"  # a weighed product: the scales print its PLU into the label
CHEESE_ORDERED_GRAMS = 400
CHEESE_WEIGHED_GRAMS = 412


def cheese_label(grams: int = CHEESE_WEIGHED_GRAMS) -> str:
    """The in-store weight label the scales print, in the usual layout PP NNNNN QQQQQ C
    (made here by hand, not by the code under test)."""
    data = f"22{CHEESE}{grams:05d}"
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(data))
    return data + str((10 - total % 10) % 10)


def picking_payload(sm_order_id: str, store_sm_id: str, **fields: Any) -> dict[str, Any]:
    """Two bottles of milk to scan, a piece of weighed cheese to weigh by its label, and a
    kefir to replace."""
    cheese_total = (Decimal("799.00") * CHEESE_ORDERED_GRAMS / 1000).quantize(Decimal("0.01"))
    positions = [
        position(MILK, name="Молоко Простоквашино 3,2% 930 мл"),
        position(
            CHEESE,
            name="Сыр Российский весовой",
            quantity=1,
            originalQuantity=1,
            price="799.00",
            discountPrice="799.00",
            totalPrice=str(cheese_total),
            totalDiscountPrice=str(cheese_total),
            weight=str(CHEESE_ORDERED_GRAMS),
        ),
        position(
            KEFIR,
            name="Кефир Простоквашино 1% 900 мл",
            quantity=1,
            originalQuantity=1,
            price="99.90",
            discountPrice="99.90",
            totalPrice="99.90",
            totalDiscountPrice="99.90",
        ),
    ]
    total = sum((Decimal(p["totalDiscountPrice"]) for p in positions), Decimal(0))
    body: dict[str, Any] = {
        "originalOrderId": sm_order_id,
        "orderUUID": f"uuid-{sm_order_id}",
        "storeID": store_sm_id,
        "comment": "Позвоните за 10 минут",
        "state": "new",
        "paymentState": "not_paid",
        "customer": {"name": "Анна Смирнова", "phone": "+79990000001"},
        "address": {"full_address": "Москва, ул. Мира, д. 3, кв. 7", "city": "Москва"},
        "delivery": {
            "expectedFrom": WINDOW_FROM.isoformat(),
            "expectedTo": WINDOW_FROM.replace(hour=11).isoformat(),
            "isPlanned": True,
        },
        "total": {"totalPrice": str(total), "discountTotalPrice": str(total)},
        "paymentMethods": ["card_online"],
        "replacementPolicy": "call_or_replace",
        "positions": positions,
    }
    body.update(fields)
    return body
