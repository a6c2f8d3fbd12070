"""Notifications to SM (SM-API.md §2): what each step of an order tells SM, and retry timing."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from smbridge.domain.order import NewOrder, Order
from smbridge.domain.position import Position


class _OfSm(Protocol):
    """Anything that names an SM order (an ``Order``, or its card read without the ORM)."""

    @property
    def sm_order_id(self) -> str: ...


class NotificationType(StrEnum):
    ACCEPTED = "order.accepted"
    IN_WORK = "order.in_work"
    ASSEMBLED = "order.assembled"
    PICKUP_CODE_CREATED = "order.pickup_code_created"  # a pickup order's code, before ready
    READY_FOR_DELIVERY = "order.ready_for_delivery"
    DELIVERED = "order.delivered"  # a pickup order handed to the customer at the store
    CANCELED = "order.canceled"  # one "l" in SM's notification API


class DeliveryState(StrEnum):
    PENDING = "pending"  # waits for its turn or its next attempt
    SENDING = "sending"  # claimed by a dispatcher until its lease runs out
    DELIVERED = "delivered"  # SM answered 200 or 202
    DEAD = "dead"  # SM refused it (422/405) or retries ran out: an admin decides
    SUPERSEDED = "superseded"  # SM cancelled the order first: sending it would only be refused


@dataclass(eq=False)
class Notification:
    """One row of the outbox: written in the same transaction as the change it reports."""

    order_id: int
    sm_order_id: str
    type: str
    payload: dict[str, Any]
    created_at: datetime
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    delivered_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    last_response: str | None = None
    id: int | None = None

    def body(self) -> dict[str, Any]:
        return {"event": {"type": self.type, "payload": self.payload}}


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in delay and in attempts."""

    first_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=5)
    max_attempts: int = 12
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def next_attempt(
        self, attempts: int, now: datetime, asked: timedelta | None = None
    ) -> datetime | None:
        """When to try again after ``attempts`` failures; None when they are used up.
        ``asked``: the wait SM asked for (Retry-After), kept to up to ``max_delay``."""
        if attempts >= self.max_attempts:
            return None
        ceiling = min(self.max_delay, self.first_delay * (1 << max(0, attempts - 1)))
        delay = ceiling * self.rng.uniform(0.5, 1.0)
        if asked is not None:
            delay = max(delay, min(asked, self.max_delay))
        return now + delay


def json_number(value: Decimal) -> int | float:
    """SM's ``quantity`` is a JSON number: integers stay integers, fractions keep their digits."""
    if value == value.to_integral_value():
        return int(value)
    return float(str(value))


def grams(value: Decimal) -> str:
    """SM's ``weight`` is a string of grams."""
    return format(value.normalize(), "f")  # "1250", "1250.5"; never "1.25E+3"


# --- what each step tells SM -----------------------------------------------------------------


def accepted(order: NewOrder | Order, store_timezone: str) -> dict[str, Any]:
    estimated = order.expected_assembly_at.astimezone(ZoneInfo(store_timezone))
    return {
        "order_id": order.sm_order_id,
        "number": order.number,
        "estimated_assembly_at": estimated.isoformat(),
    }


def order_only(order: _OfSm) -> dict[str, Any]:
    """in_work, assembled and delivered carry nothing but the order."""
    return {"order_id": order.sm_order_id}


def ready_for_delivery(order: Order) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "order_id": order.sm_order_id,
        "order": {"originalOrderId": order.sm_order_id, "positions": final_contents(order)},
    }
    if order.is_pickup and order.handout_code is not None:
        payload["handoutCode"] = order.handout_code  # SM allows it on ready_for_delivery
    return payload


def pickup_code_created(order: Order) -> dict[str, Any]:
    return {"order_id": order.sm_order_id, "code": order.handout_code}


def canceled(order: Order) -> dict[str, Any]:
    return {"order_id": order.sm_order_id, "reason": order.cancel_reason or "technical_issues"}


def payload_for(kind: str, order: Order, store_timezone: str) -> dict[str, Any] | None:
    """What a notification of this type says about the order as it is now (None: a type
    whose body is not built from the order, kept as it was stored)."""
    match kind:
        case NotificationType.ACCEPTED:
            return accepted(order, store_timezone)
        case NotificationType.IN_WORK | NotificationType.ASSEMBLED | NotificationType.DELIVERED:
            return order_only(order)
        case NotificationType.PICKUP_CODE_CREATED:
            return pickup_code_created(order)
        case NotificationType.READY_FOR_DELIVERY:
            return ready_for_delivery(order)
        case NotificationType.CANCELED:
            return canceled(order)
    return None


def final_contents(order: Order) -> list[dict[str, Any]]:
    """What the customer gets: picked quantities, weights, marking codes, replacements.

    A replaced line travels with quantity 0 and ``replacedByID``; its substitute follows as a
    position of its own. Weighed goods always carry their weight (SM recomputes from it).
    """
    return [_final_position(position) for position in order.positions]


def _final_position(position: Position) -> dict[str, Any]:
    pick = position.pick
    quantity = pick.quantity if pick.quantity is not None else Decimal(0)
    line: dict[str, Any] = {"id": position.line.sku, "quantity": json_number(quantity)}
    if position.is_weighed:
        line["weight"] = grams(pick.weight_grams or Decimal(0))
    if pick.marking_codes:
        line["markingCode"] = [{"value": code} for code in pick.marking_codes]
    if position.line.replaced_by_sku is not None:
        line["replacedByID"] = position.line.replaced_by_sku
    return line
