"""A line of an order as we keep it: SM's view of the line and the picker's record of it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from enum import StrEnum

from smbridge.domain.sm_order import SmOrderLine


class PositionSource(StrEnum):
    SM = "sm"  # came in the order from SM
    REPLACEMENT = "replacement"  # added by the picker as a substitute


@dataclass(eq=False)
class Position:
    # SM's view of the line: the fields of SmOrderLine, refreshed by each event
    line_no: int
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
    # The store's record of the line
    source: PositionSource = PositionSource.SM
    replaces_line_no: int | None = None
    picked_quantity: Decimal | None = None
    picked_weight_grams: Decimal | None = None
    marking_codes: list[str] = field(default_factory=list)
    id: int | None = None

    @property
    def is_weighed(self) -> bool:
        return self.weight_grams is not None

    @classmethod
    def from_sm_line(cls, line_no: int, line: SmOrderLine) -> Position:
        position = cls(line_no, line.sku, line.name, line.original_quantity, line.quantity)
        position.refresh_from(line)
        return position

    def refresh_from(self, line: SmOrderLine) -> None:
        """Take SM's current view of this line; what the picker recorded is kept."""
        for sm_field in fields(line):
            setattr(self, sm_field.name, getattr(line, sm_field.name))
