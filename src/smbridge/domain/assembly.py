"""The store's work on an order: what a picker may do, and the substitutes they bring."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from smbridge.domain.position import Position


class AssemblyError(Exception):
    """A picker's action the order does not allow now (conflict) or with this data."""

    def __init__(self, code: str, detail: str, *, conflict: bool = True) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.conflict = conflict  # True: wrong moment (409); False: wrong data (422)


class CountedRefusal(AssemblyError):
    """A refusal whose own effects stand (a wrong handout code is counted): the use case's
    changes commit although the caller is refused."""


@dataclass(frozen=True)
class Substitute:
    sku: str
    name: str
    quantity: Decimal
    price: Decimal
    weight_grams: Decimal | None = None
    marking_codes: tuple[str, ...] = ()
    weighed: bool | None = None  # None: like the line it stands in for


def substitute_weight(original: Position, substitute: Substitute) -> Decimal | None:
    """The substitute's weight; SM refuses final contents with a weighed good without one.

    A substitute is usually the same kind of good as the line it stands in for (loose
    cheese for loose cheese), so it is weighed when that line is, unless the picker says.
    """
    weighed = original.is_weighed if substitute.weighed is None else substitute.weighed
    if not weighed or substitute.weight_grams is not None:
        return substitute.weight_grams
    if substitute.quantity > 0:
        raise AssemblyError(
            "weight_required",
            f"the substitute for line {original.line_no} is weighed: give its weight",
            conflict=False,
        )
    return Decimal(0)  # none taken: it still travels as a weighed good, weighing nothing


def require_whole(line_no: int, quantity: Decimal) -> None:
    """A piece good is counted in whole pieces: 0.001 of a bottle cannot be handed over."""
    if quantity != quantity.to_integral_value():
        raise AssemblyError(
            "whole_pieces", f"line {line_no}: a piece good needs a whole number", conflict=False
        )
