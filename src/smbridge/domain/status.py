"""The order status machine of SPEC.md ("Statuses")."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    NEW = "new"  # received from SM, not yet taken
    IN_ASSEMBLY = "in_assembly"  # «В сборке»: a picker or the store works on it
    ASSEMBLED = "assembled"
    READY = "ready_for_delivery"  # final contents sent to SM
    HANDED_OVER = "handed_over"  # courier took it (order.received)
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


#: The main line of the flow, in order; cancelled is off to the side.
FLOW: tuple[OrderStatus, ...] = (
    OrderStatus.NEW,
    OrderStatus.IN_ASSEMBLY,
    OrderStatus.ASSEMBLED,
    OrderStatus.READY,
    OrderStatus.HANDED_OVER,
    OrderStatus.DELIVERED,
)

FINAL: frozenset[OrderStatus] = frozenset({OrderStatus.DELIVERED, OrderStatus.CANCELLED})

#: The statuses of an order still in play (the store's board), in the flow's order.
ACTIVE: tuple[OrderStatus, ...] = tuple(status for status in OrderStatus if status not in FINAL)

_ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset({OrderStatus.IN_ASSEMBLY, OrderStatus.CANCELLED}),
    OrderStatus.IN_ASSEMBLY: frozenset({OrderStatus.ASSEMBLED, OrderStatus.CANCELLED}),
    OrderStatus.ASSEMBLED: frozenset({OrderStatus.READY, OrderStatus.CANCELLED}),
    # SM may report delivery before it reports the hand-over: both arrive out of order.
    OrderStatus.READY: frozenset(
        {OrderStatus.HANDED_OVER, OrderStatus.DELIVERED, OrderStatus.CANCELLED}
    ),
    OrderStatus.HANDED_OVER: frozenset({OrderStatus.DELIVERED, OrderStatus.CANCELLED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


class TransitionRefused(Exception):
    """A status change the machine does not allow."""

    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        super().__init__(f"order status {current.value} cannot change to {target.value}")
        self.current = current
        self.target = target


def allowed_targets(current: OrderStatus, *, pickup: bool = False) -> frozenset[OrderStatus]:
    """Where an order may go next. A pickup order never goes to a courier: the store hands
    it to the customer, ready_for_delivery → delivered (SM-API.md, self-pickup)."""
    allowed = _ALLOWED[current]
    return allowed - {OrderStatus.HANDED_OVER} if pickup else allowed


def check_transition(current: OrderStatus, target: OrderStatus, *, pickup: bool = False) -> None:
    if target not in allowed_targets(current, pickup=pickup):
        raise TransitionRefused(current, target)


def is_active(status: OrderStatus) -> bool:
    return status not in FINAL


def is_behind(status: OrderStatus, other: OrderStatus) -> bool:
    """True when ``status`` is an earlier step of the flow than ``other`` (or other is final)."""
    if other in FINAL:
        return status != other
    if status in FINAL:
        return False
    return FLOW.index(status) < FLOW.index(other)
