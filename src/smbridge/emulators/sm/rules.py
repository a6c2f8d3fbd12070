"""What SM accepts as a notification (SM-API.md §2), checked strictly."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

ORDERED_TYPES = (
    "order.accepted",
    "order.in_work",
    "order.assembled",
    "order.pickup_code_created",
    "order.ready_for_delivery",
)
KNOWN_TYPES = frozenset((*ORDERED_TYPES, "order.canceled", "order.delivering", "order.delivered"))


#: The notifications that may carry ``handoutCode`` (SM-API.md §2).
HANDOUT_CODE_TYPES = frozenset(("order.accepted", "order.in_work", "order.ready_for_delivery"))


class Refused(Exception):
    """SM answers 422 with this reason."""


def parse(body: object) -> tuple[str, dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("event"), dict):
        raise Refused('body must be {"event": {"type", "payload"}}')
    event = body["event"]
    kind, payload = event.get("type"), event.get("payload")
    if kind not in KNOWN_TYPES:
        raise Refused(f"unknown event type {kind!r}")
    if not isinstance(payload, dict) or not isinstance(payload.get("order_id"), str):
        raise Refused("payload.order_id (string) is required")
    return kind, payload


def check_delivery_type(kind: str, pickup: bool, seen: list[str]) -> None:
    """The self-pickup rules of SM-API.md §2, given the order's delivery type and the
    notifications SM accepted for it before: a handout code only for pickup orders and only
    before ready_for_delivery (whose order ORDERED_TYPES checks), which for a pickup order
    needs it; ``delivered`` only for a pickup order after ready_for_delivery; ``delivering``
    never (it belongs to "retailer assembles and delivers", not our model)."""
    if kind == "order.delivering":
        raise Refused("order.delivering is not sent under 'retailer assembles, SM delivers'")
    if kind in {"order.pickup_code_created", "order.delivered"} and not pickup:
        raise Refused(f"{kind} is only for self-pickup orders (shipmentMethod pickup)")
    if kind == "order.ready_for_delivery" and pickup and "order.pickup_code_created" not in seen:
        raise Refused("order.pickup_code_created must come before order.ready_for_delivery")
    if kind == "order.delivered" and "order.ready_for_delivery" not in seen:
        raise Refused("order.delivered before order.ready_for_delivery")


def check_fields(kind: str, payload: dict[str, Any], weighed: AbstractSet[str]) -> None:
    if kind == "order.accepted":
        _text(payload, "number")
        _aware_time(payload, "estimated_assembly_at")
    elif kind == "order.pickup_code_created":
        _text(payload, "code")
    elif kind == "order.canceled":
        _text(payload, "reason")
    elif kind == "order.ready_for_delivery":
        check_final_contents(payload, weighed)
    if "handoutCode" in payload:
        if kind not in HANDOUT_CODE_TYPES:
            raise Refused(f"payload.handoutCode is not part of {kind}")
        _text(payload, "handoutCode")


def check_final_contents(payload: dict[str, Any], weighed: AbstractSet[str]) -> None:
    order = payload.get("order")
    if not isinstance(order, dict) or order.get("originalOrderId") != payload["order_id"]:
        raise Refused("order.originalOrderId must repeat order_id")
    positions = order.get("positions")
    if not isinstance(positions, list) or not positions:
        raise Refused("order.positions: the final contents are required")
    ids = {line.get("id") for line in positions if isinstance(line, dict)}
    for index, position in enumerate(positions):
        _check_position(index, position, weighed, ids)


def _check_position(
    index: int, position: object, weighed: AbstractSet[str], ids: set[object]
) -> None:
    where = f"order.positions[{index}]"
    if not isinstance(position, dict) or not isinstance(position.get("id"), str):
        raise Refused(f"{where}.id (string) is required")
    quantity = position.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity < 0:
        raise Refused(f"{where}.quantity must be a non-negative number")
    weight = position.get("weight")
    if position["id"] in weighed and weight is None:
        raise Refused(f"{where}.weight is required for weighed goods")
    if weight is not None and (not isinstance(weight, str) or _decimal(weight) is None):
        raise Refused(f"{where}.weight must be a string of grams")
    codes = position.get("markingCode", [])
    if not isinstance(codes, list) or not all(
        isinstance(code, dict) and isinstance(code.get("value"), str) for code in codes
    ):
        raise Refused(f'{where}.markingCode must be [{{"value": str}}]')
    replaced_by = position.get("replacedByID")
    if replaced_by is not None and replaced_by not in ids:
        raise Refused(f"{where}.replacedByID {replaced_by!r} does not travel as a position")


def _text(payload: dict[str, Any], field: str) -> None:
    if not isinstance(payload.get(field), str) or not payload[field]:
        raise Refused(f"payload.{field} (string) is required")


def _aware_time(payload: dict[str, Any], field: str) -> None:
    _text(payload, field)
    try:
        moment = datetime.fromisoformat(payload[field])
    except ValueError:
        raise Refused(f"payload.{field} is not ISO-8601") from None
    if moment.utcoffset() is None:
        raise Refused(f"payload.{field} needs a UTC offset")


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
