"""A line of an order as we keep it: SM's view of the line and the store's record of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from smbridge.domain.pick import PickRecord
from smbridge.domain.sm_order import SmOrderLine


@dataclass(eq=False)
class Position:
    line_no: int
    # SM's view of the line, replaced whole by each event that carries it. The store writes
    # to it only what SM must see: the substitute's SKU and a weight corrected for SM.
    line: SmOrderLine
    pick: PickRecord = field(default_factory=PickRecord)
    id: int | None = None

    @property
    def is_weighed(self) -> bool:
        return self.line.is_weighed
