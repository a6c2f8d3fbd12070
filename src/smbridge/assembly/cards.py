"""The order card the assembly API answers with, as plain values and as plain JSON.

The hot calls (``takeOrder``, ``recordPick``) read the card's columns in one statement and
write the few they change with Core statements (``repository.OrderCards``): loading and
flushing the ORM's graph of an order and its positions was the largest part of their CPU
(issue 11). The other methods load the ``Order`` and show it through ``card_of``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from smbridge.domain.order import Order
from smbridge.domain.pick import PickRecord
from smbridge.domain.sm_order import SmOrderLine
from smbridge.domain.status import OrderStatus


class CardPosition(NamedTuple):
    id: int | None
    line_no: int
    line: SmOrderLine
    pick: PickRecord


class BoardLine(NamedTuple):
    """An active order as the store's board (``getActiveOrders``) shows it."""

    number: str
    sm_order_id: str
    status: OrderStatus
    picker_id: int | None
    received_at: datetime
    taken_at: datetime | None
    assembled_at: datetime | None
    expected_assembly_at: datetime
    delivery_from: datetime | None
    delivery_to: datetime | None
    changed_by_customer: bool
    courier_arrived_at: datetime | None
    shipment_method: str | None  # SM's word; ``domain.pickup.delivery_type`` reads it


class CardState(NamedTuple):
    """What an order card shows, and the row's id and version to write it back by."""

    summary: BoardLine  # what the board shows of the order
    comment: str | None
    replacement_policy: str | None
    bags: int | None
    id: int
    version: int | None  # None: shown from a loaded ``Order`` (the ORM keeps its version)
    updated_at: datetime | None
    positions: list[CardPosition]


def card_of(order: Order) -> CardState:
    header = order.header
    assert order.id is not None, "a stored order has an id"
    return CardState(
        summary_of(order),
        header.comment,
        header.replacement_policy,
        order.bags,
        order.id,
        None,
        order.updated_at,
        [CardPosition(p.id, p.line_no, p.line, p.pick) for p in order.positions],
    )


def summary_of(order: Order) -> BoardLine:
    header = order.header
    assert order.number is not None, "a stored order has a number"
    return BoardLine(
        *(order.number, order.sm_order_id, order.status, order.picker_id, order.received_at),
        *(order.taken_at, order.assembled_at, order.expected_assembly_at),
        *(header.delivery_from, header.delivery_to, order.changed_by_customer),
        *(order.courier_arrived_at, header.shipment_method),
    )


def plain(value: Any) -> Any:
    """A value as pydantic's ``model_dump(mode="json")`` writes it: times ISO 8601 with UTC
    as ``Z``, decimals as their exact string."""
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, Decimal):
        return str(value)
    return value


def position_json(position: CardPosition) -> dict[str, Any]:
    """``schemas.PositionView`` of the position, as plain JSON."""
    line, pick = position.line, position.pick
    return {
        "lineNo": position.line_no,
        "sku": line.sku,
        "name": line.name,
        "originalQuantity": plain(line.original_quantity),
        "quantity": plain(line.quantity),
        "pickedQuantity": plain(pick.quantity),
        "weightGrams": plain(line.weight_grams),
        "pickedWeightGrams": plain(pick.weight_grams),
        "price": plain(line.price),
        "discountPrice": plain(line.discount_price),
        "markingCodes": list(pick.marking_codes),
        "replacedBySku": line.replaced_by_sku,
        "replacesLineNo": pick.replaces_line_no,
        "source": str(pick.source),
    }
