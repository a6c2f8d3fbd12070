"""What SM tells us about an order (SM-API.md §1), already validated at the edge.

These value objects are the one description of SM's order: the webhook schema builds them,
the order keeps its header and each position its line as one of them, and the database maps
their fields onto columns by name. A new SM field is a field here, plus its column and
migration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class SmOrderLine:
    """One line of the basket as SM sees it (the picker's work is a PickRecord, pick.py)."""

    sku: str
    name: str
    original_quantity: Decimal
    quantity: Decimal
    price: Decimal | None = None
    discount_price: Decimal | None = None
    total_price: Decimal | None = None
    total_discount_price: Decimal | None = None
    weight_grams: Decimal | None = None
    replaced_by_sku: str | None = None
    state: str | None = None

    @property
    def is_weighed(self) -> bool:
        """Sold by weight: SM gave the line a weight."""
        return self.weight_grams is not None


@dataclass(frozen=True)
class SmOrderHeader:
    """SM's description of an order beside its lines.

    In an event, None (or an empty document) means SM did not say; the order keeps what SM
    said before. Field names are the names of the order's columns.
    """

    sm_uuid: str | None = None
    sm_state: str | None = None
    payment_state: str | None = None
    comment: str | None = None
    customer: dict[str, Any] = field(default_factory=dict)
    address: dict[str, Any] = field(default_factory=dict)
    delivery_from: datetime | None = None
    delivery_to: datetime | None = None
    is_planned: bool | None = None
    total_price: Decimal | None = None
    discount_total_price: Decimal | None = None
    delivery_cost: Decimal | None = None
    payment_methods: Sequence[str] | None = None
    shipment_method: str | None = None
    replacement_policy: str | None = None
    complete_before: datetime | None = None

    @classmethod
    def blank(cls) -> SmOrderHeader:
        """An order's header before SM said anything: documents and lists empty, as stored."""
        return cls(payment_methods=[])

    @property
    def customer_name(self) -> str | None:
        return _text(self.customer.get("name"))

    @property
    def customer_phone(self) -> str | None:
        return _text(self.customer.get("phone"))

    def updated_by(self, news: SmOrderHeader) -> SmOrderHeader:
        """SM's latest word on each field; a field SM left out keeps what it said before.

        The result holds its own copies of SM's documents and lists, never the event's.
        """
        said = ((sm_field.name, getattr(news, sm_field.name)) for sm_field in fields(news))
        told = {name: _own_copy(value) for name, value in said if _is_told(value)}
        return replace(self, **told)


@dataclass(frozen=True)
class SmOrder:
    """An order as one SM event carries it."""

    sm_order_id: str
    header: SmOrderHeader = field(default_factory=SmOrderHeader)
    sm_store_id: str | None = None
    sm_import_key: str | None = None
    cancellation_reason: str | None = None
    lines: tuple[SmOrderLine, ...] | None = None  # None: SM did not send the list


def _is_told(value: object) -> bool:
    if isinstance(value, Mapping):
        return bool(value)  # SM sends the whole document or nothing of it
    return value is not None


def _own_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list | tuple):
        return list(value)
    return value


def _text(value: object) -> str | None:
    return None if value is None else str(value)
