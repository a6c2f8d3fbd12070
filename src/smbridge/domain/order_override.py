"""An operator forces an order's status (with a reason, audited by the use case).

The status machine still decides which status may follow which (status.py): the override
only skips what the store's own steps require on the way (a picker on shift, every line
picked), for an order whose real state the store and SM know better than our record.

What SM is told follows SPEC.md's statuses: «in assembly», «assembled», «ready for
delivery» (defined as *final contents sent to SM*) and a cancellation by our side are ours
to report, so forcing them queues the same notification the store's own step would;
«handed to courier» and «delivered» are SM's own facts (its webhooks report them to us), so
forcing them tells SM nothing it does not know.
"""

from __future__ import annotations

from datetime import datetime

from smbridge.domain import notification
from smbridge.domain.notification import NotificationType
from smbridge.domain.order import Order
from smbridge.domain.status import OrderStatus, TransitionRefused, check_transition

#: The cancellation reason SM gets when operations cancel (one of SM's reason codes).
FORCED_CANCEL_REASON = "technical_issues"

_TOLD: dict[OrderStatus, NotificationType] = {
    OrderStatus.IN_ASSEMBLY: NotificationType.IN_WORK,
    OrderStatus.ASSEMBLED: NotificationType.ASSEMBLED,
    OrderStatus.READY: NotificationType.READY_FOR_DELIVERY,
    OrderStatus.CANCELLED: NotificationType.CANCELED,
}


def force_status(
    order: Order, target: OrderStatus, now: datetime
) -> tuple[NotificationType, dict[str, object]] | None:
    """Move ``order`` to ``target`` if the machine allows it (else TransitionRefused); returns
    the notification to queue for SM, if this status is ours to report."""
    if order.status is target:
        raise TransitionRefused(order.status, target)
    check_transition(order.status, target, pickup=order.is_pickup)
    order.status = target
    order.updated_at = now
    match target:
        case OrderStatus.IN_ASSEMBLY:
            order.taken_at = now
        case OrderStatus.ASSEMBLED:
            order.assembled_at = now
        case OrderStatus.READY:
            order.ready_at = now
        case OrderStatus.HANDED_OVER:
            order.handed_over_at = now
        case OrderStatus.DELIVERED:
            order.delivered_at = now
        case OrderStatus.CANCELLED:
            order.cancelled_at, order.cancelled_by = now, "operations"
            order.cancel_reason = FORCED_CANCEL_REASON
        case _:  # pragma: no cover - NEW is never a target of the machine
            pass
    kind = _TOLD.get(target)
    if target is OrderStatus.DELIVERED and order.is_pickup:
        kind = NotificationType.DELIVERED  # SM hears a pickup order's delivery from us
    if kind is None:
        return None
    payload = notification.payload_for(kind, order, "UTC")
    assert payload is not None
    return kind, payload
