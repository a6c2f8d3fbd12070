"""The sales document («реализация») of a delivered order, from its final contents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from smbridge.domain.order import Order
from smbridge.domain.position import Position

KOPECK = Decimal("0.01")


@dataclass(eq=False)
class SalesLine:
    line_no: int
    sku: str
    name: str
    quantity: Decimal
    weight_grams: Decimal | None
    price: Decimal  # per piece, or per kilogram for weighed goods
    discount_price: Decimal
    amount: Decimal  # what the customer pays for the line
    discount: Decimal
    replaces_sku: str | None = None
    id: int | None = None


@dataclass(eq=False)
class SalesDocument:
    number: str
    order_id: int
    store_id: int
    document_date: date
    created_at: datetime
    order_number: str
    sm_order_id: str
    customer_name: str | None
    customer_inn: str | None
    total: Decimal
    discount: Decimal
    paid_amount: Decimal | None
    difference: Decimal | None  # paid − total; monitoring alerts when not zero
    lines: list[SalesLine] = field(default_factory=list)
    exported_at: datetime | None = None
    files_written_at: datetime | None = None
    id: int | None = None


def sales_lines(order: Order) -> list[SalesLine]:
    """What left the store: picked lines (substitutes included), at the discounted price."""
    by_line = {position.line_no: position for position in order.positions}
    lines: list[SalesLine] = []
    for position in order.positions:
        pick = position.pick
        if not pick.quantity:
            continue
        replaced = by_line.get(pick.replaces_line_no) if pick.replaces_line_no else None
        lines.append(_line(len(lines) + 1, position, replaced.line.sku if replaced else None))
    return lines


def document_for(
    order: Order, number: str, created_at: datetime, document_date: date
) -> SalesDocument:
    if order.id is None or order.number is None:
        raise ValueError("order is not stored yet")
    if order.store_id is None:  # only a new or cancelled order can be without one
        raise ValueError("order has no store")
    lines = sales_lines(order)
    total = sum((line.amount for line in lines), Decimal(0))
    paid = order.paid_amount
    return SalesDocument(
        number=number,
        order_id=order.id,
        store_id=order.store_id,
        document_date=document_date,
        created_at=created_at,
        order_number=order.number,
        sm_order_id=order.sm_order_id,
        customer_name=order.customer_name,
        customer_inn=_text(order.header.customer.get("inn")),
        total=total,
        discount=sum((line.discount for line in lines), Decimal(0)),
        paid_amount=paid,
        difference=None if paid is None else paid - total,
        lines=lines,
    )


def _line(line_no: int, position: Position, replaces: str | None) -> SalesLine:
    sm_line, pick = position.line, position.pick
    quantity = pick.quantity or Decimal(0)
    price = sm_line.price if sm_line.price is not None else Decimal(0)
    discounted = sm_line.discount_price if sm_line.discount_price is not None else price
    weight = pick.weight_grams if position.is_weighed else None
    amount = _amount(discounted, quantity, weight)
    return SalesLine(
        line_no=line_no,
        sku=sm_line.sku,
        name=sm_line.name,
        quantity=quantity,
        weight_grams=weight,
        price=price,
        discount_price=discounted,
        amount=amount,
        discount=_amount(price, quantity, weight) - amount,
        replaces_sku=replaces,
    )


def _amount(price: Decimal, quantity: Decimal, weight_grams: Decimal | None) -> Decimal:
    """Weighed goods are priced per kilogram of the picked weight; pieces per piece."""
    raw = price * weight_grams / 1000 if weight_grams is not None else price * quantity
    return raw.quantize(KOPECK, rounding=ROUND_HALF_UP)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
