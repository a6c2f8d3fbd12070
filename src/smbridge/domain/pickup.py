"""Self-pickup orders (SPEC.md "Self-pickup orders"): the delivery type, the handout code
and the rules of the handover at the store's counter."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from smbridge.domain.status import OrderStatus

#: SM's ``shipmentMethod`` of an order the customer collects at the store (SM-API.md §1).
PICKUP_METHOD = "pickup"

#: Digits only: read aloud over a counter, typed on a terminal's keypad or scanned, a digit
#: is never mistaken for another (no O/0 or I/1 to confuse).
HANDOUT_ALPHABET = "0123456789"
HANDOUT_LENGTH = 6
#: A pickup order's code is in use from assembly until handover or cancellation.
CODE_IN_USE = (OrderStatus.ASSEMBLED, OrderStatus.READY)
_DRAWS = 100  # a store has at most a few hundred open pickup orders among 10⁶ codes


class DeliveryType(StrEnum):
    COURIER = "courier"  # SM's courier takes the order at the store
    PICKUP = "pickup"  # the customer collects it at the store with a handout code


def delivery_type(shipment_method: str | None) -> DeliveryType:
    """SM's ``shipmentMethod`` (free text, its values unpublished) as our delivery type."""
    if shipment_method is not None and shipment_method.strip().lower() == PICKUP_METHOD:
        return DeliveryType.PICKUP
    return DeliveryType.COURIER


def new_handout_code(taken: Collection[str], choice: Callable[[str], str] = secrets.choice) -> str:
    """A fresh code, unique among ``taken`` (the store's open pickup orders' codes).

    Drawn from ``secrets``: nothing about it follows from the order's number or time.
    """
    for _ in range(_DRAWS):
        code = "".join(choice(HANDOUT_ALPHABET) for _ in range(HANDOUT_LENGTH))
        if code not in taken:
            return code
    raise RuntimeError("no free handout code: the store's open pickup orders fill the space")


def normalized_code(entered: str) -> str:
    """What staff typed or scanned, without the spaces and dashes people put in codes."""
    return "".join(char for char in entered if char not in " -\t")


def same_code(entered: str, code: str) -> bool:
    """Compared in constant time: the answer's timing tells nothing about the code."""
    return hmac.compare_digest(normalized_code(entered).encode(), code.encode())


def collect_by(delivery_to: datetime | None, ready_at: datetime | None) -> datetime | None:
    """The end of a pickup order's collection window: SM's ``delivery.expectedTo`` (the
    pickup slot), or when it became ready if SM gave no window."""
    return delivery_to or ready_at


@dataclass(frozen=True)
class HandoverPolicy:
    """How many wrong codes in a row an order takes before its handover locks, and for how
    long it stays locked; how long the store keeps an uncollected order after its window,
    and the reason SM gets when the store then cancels it."""

    max_wrong_tries: int = 5
    lock_for: timedelta = timedelta(minutes=15)
    storage: timedelta = timedelta(hours=48)
    uncollected_reason: str = "customer_request"


class HandoutCheck(StrEnum):
    RIGHT = "right"  # hand the order over
    WRONG = "wrong"  # refused and counted
    LOCKED_NOW = "locked_now"  # refused, and this try locked the handover
    LOCKED = "locked"  # refused without looking at the code: the handover is locked


@dataclass(frozen=True)
class HandoutGuard:
    """An order's wrong tries and lock, as the order keeps them."""

    wrong_tries: int
    locked_until: datetime | None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def after_wrong(self, now: datetime, policy: HandoverPolicy) -> tuple[HandoutGuard, bool]:
        """The guard after one more wrong code; True when that try locked the handover
        (the count starts afresh once the lock is over)."""
        tries = self.wrong_tries + 1
        if tries >= policy.max_wrong_tries:
            return HandoutGuard(0, now + policy.lock_for), True
        return HandoutGuard(tries, self.locked_until), False
