"""SM's webhook vocabulary: event types (all spellings), journal states, dedupe keys."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson


class EventType(StrEnum):
    ORDER_CREATED = "order.created"
    ORDER_UPDATED = "order.updated"
    ORDER_PAID = "order.paid"
    ORDER_RECEIVED = "order.received"
    ORDER_DELIVERING = "order.delivering"
    ORDER_DELIVERED = "order.delivered"
    ORDER_CANCELED = "order.canceled"
    COURIER_ASSIGNED = "courier.assigned"
    COURIER_ARRIVED = "courier.arrived"


# Older and alternative spellings used by different SM generations.
_ALIASES: dict[str, EventType] = {
    "order.changed": EventType.ORDER_UPDATED,
    "order.cancelled": EventType.ORDER_CANCELED,
}


def normalize_event_type(raw: str) -> EventType | None:
    """The event type SM meant, or None for a type we do not know (stored, acknowledged)."""
    name = raw.strip().lower()
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        return EventType(name)
    except ValueError:
        return None


class JournalStatus(StrEnum):
    APPLIED = "applied"  # its effect is in the database (possibly "no change")
    PARKED = "parked"  # waits for its order to arrive
    FAILED = "failed"  # could not be applied; kept for `smbridge events replay`
    IGNORED = "ignored"  # stored only: unknown type, stale, or refused by the status machine


def event_key(raw_type: str, payload: object, timestamp: object) -> str:
    """Identity of one SM event, the same for every redelivery of it.

    SM sends no event id, so the key is a hash of what it sends: the type as spelled, the
    payload in canonical form (key order does not matter) and the envelope's timestamp.
    """
    canonical = orjson.dumps(
        {"t": raw_type, "p": payload, "ts": timestamp}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()


@dataclass(eq=False)
class JournalEntry:
    """One distinct webhook as SM sent it; redeliveries only count up ``deliveries``."""

    event_key: str
    event_type: str  # as SM spelled it
    received_at: datetime
    body: str
    headers: dict[str, str]
    sm_order_id: str | None = None
    status: JournalStatus = JournalStatus.APPLIED
    detail: str | None = None  # why ignored / parked / failed
    attempts: int = 0
    deliveries: int = 1
    last_received_at: datetime | None = None
    applied_at: datetime | None = None
    reply_status: int = 200
    reply_body: dict[str, Any] = field(default_factory=dict)
    order_id: int | None = None
    id: int | None = None

    def settle(self, status: JournalStatus, now: datetime, detail: str | None = None) -> None:
        self.status = status
        self.detail = detail
        if status is JournalStatus.APPLIED or status is JournalStatus.IGNORED:
            self.applied_at = now
