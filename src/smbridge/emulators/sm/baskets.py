"""Realistic grocery orders as SM would send them: pieces, weighed and marked goods."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

KOPECK = Decimal("0.01")


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: Decimal  # per piece, or per kilogram for weighed goods
    weighed: bool = False
    marked: bool = False  # «Честный знак»: the picker scans a marking code


CATALOG: tuple[Product, ...] = (
    Product("100500", "Молоко Простоквашино 3,2% 930 мл", Decimal("89.90"), marked=True),
    Product("100501", "Кефир Домик в деревне 1% 900 г", Decimal("79.50"), marked=True),
    Product("100502", "Хлеб Бородинский 400 г", Decimal("64.00")),
    Product("100503", "Яйцо куриное С1, 10 шт", Decimal("119.90")),
    Product("100504", "Сыр Российский 45%", Decimal("899.00"), weighed=True),
    Product("100505", "Бананы", Decimal("129.00"), weighed=True),
    Product("100506", "Яблоки Гала", Decimal("189.00"), weighed=True),
    Product("100507", "Куриное филе охлаждённое", Decimal("459.00"), weighed=True),
    Product("100508", "Вода Святой Источник 1,5 л", Decimal("59.90"), marked=True),
    Product("100509", "Гречка Мистраль 900 г", Decimal("139.00")),
    Product("100510", "Масло сливочное Вологодское 82,5% 180 г", Decimal("249.00"), marked=True),
    Product("100511", "Кофе Jacobs Monarch 240 г", Decimal("579.00")),
    Product("100512", "Огурцы гладкие", Decimal("239.00"), weighed=True),
    Product("100513", "Шоколад Алёнка 90 г", Decimal("99.90")),
)

CATALOG_BY_SKU: dict[str, Product] = {product.sku: product for product in CATALOG}

CUSTOMERS = (
    ("Иван Петров", "+79991111111"),
    ("Анна Смирнова", "+79992222222"),
    ("Олег Кузнецов", "+79993333333"),
    ("Мария Иванова", "+79994444444"),
)


def money(value: Decimal) -> str:
    return str(value.quantize(KOPECK, rounding=ROUND_HALF_UP))


def position(product: Product, rng: random.Random) -> dict[str, Any]:
    if product.weighed:
        grams = Decimal(rng.randrange(300, 2500, 50))
        total = product.price * grams / 1000
        quantity: int = 1
        extra = {"weight": str(grams)}
    else:
        quantity = rng.randint(1, 4)
        total = product.price * quantity
        extra = {}
    discount = Decimal("0.9") if rng.random() < 0.2 else Decimal(1)
    return {
        "id": product.sku,
        "name": product.name,
        "originalQuantity": quantity,
        "quantity": quantity,
        "price": money(product.price),
        "discountPrice": money(product.price * discount),
        "totalPrice": money(total),
        "totalDiscountPrice": money(total * discount),
        **extra,
    }


def order(
    sm_order_id: str,
    store_id: str,
    now: datetime,
    rng: random.Random,
    timezone: str = "Europe/Moscow",
) -> dict[str, Any]:
    products = rng.sample(CATALOG, rng.randint(1, 6))
    positions = [position(product, rng) for product in products]
    name, phone = rng.choice(CUSTOMERS)
    start = (
        (now + timedelta(minutes=rng.choice((45, 90, 180, 24 * 60))))
        .astimezone(ZoneInfo(timezone))
        .replace(second=0, microsecond=0)
    )
    total = sum((Decimal(line["totalPrice"]) for line in positions), Decimal(0))
    discounted = sum((Decimal(line["totalDiscountPrice"]) for line in positions), Decimal(0))
    return {
        "originalOrderId": sm_order_id,
        "orderUUID": f"{sm_order_id.lower()}-uuid",
        "storeID": store_id,
        "state": "new",
        "paymentState": "not_paid",
        "comment": rng.choice(("", "Позвоните за 10 минут", "Домофон не работает")),
        "customer": {"name": name, "phone": phone},
        "address": {"full_address": "Москва, ул. Ленина, д. 1, кв. 5", "city": "Москва"},
        "delivery": {
            "expectedFrom": start.isoformat(),
            "expectedTo": (start + timedelta(hours=1)).isoformat(),
            "isPlanned": start - now > timedelta(hours=2),
        },
        "total": {"totalPrice": money(total), "discountTotalPrice": money(discounted)},
        "paymentMethods": ["card_online"],
        "replacementPolicy": "call_or_replace",
        "positions": positions,
    }
