"""What the store did to a line of an order: the picker's record, kept apart from SM's view."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum


class PositionSource(StrEnum):
    SM = "sm"  # came in the order from SM
    REPLACEMENT = "replacement"  # added by the picker as a substitute


@dataclass(frozen=True)
class PickRecord:
    """The picker's record of one line; each change makes a new record.

    Field order is the order of its columns in the mapping (kernel/database/tables.py).
    """

    quantity: Decimal | None = None  # None: not picked yet; 0: none taken
    weight_grams: Decimal | None = None
    marking_codes: Sequence[str] = field(default_factory=list)
    source: PositionSource = PositionSource.SM
    replaces_line_no: int | None = None  # a substitute: the line it stands in for

    @classmethod
    def substitute(
        cls,
        for_line_no: int,
        quantity: Decimal,
        weight_grams: Decimal | None,
        marking_codes: Sequence[str],
    ) -> PickRecord:
        """A line the picker added in place of another, picked as it was added."""
        return cls(
            quantity, weight_grams, list(marking_codes), PositionSource.REPLACEMENT, for_line_no
        )

    @property
    def is_picked(self) -> bool:
        return self.quantity is not None

    @property
    def is_substitute(self) -> bool:
        return self.source is PositionSource.REPLACEMENT

    def picked(
        self, quantity: Decimal, weight_grams: Decimal | None, marking_codes: Sequence[str] | None
    ) -> PickRecord:
        """Picked again; marking codes left out (None) stay as they were."""
        codes = self.marking_codes if marking_codes is None else marking_codes
        return replace(
            self, quantity=quantity, weight_grams=weight_grams, marking_codes=list(codes)
        )

    def replaced(self) -> PickRecord:
        """Another product stands in for this line: nothing of it, nor its codes, is taken."""
        return replace(self, quantity=Decimal(0), weight_grams=None, marking_codes=[])

    def weighed(self, grams: Decimal) -> PickRecord:
        return replace(self, weight_grams=grams)
