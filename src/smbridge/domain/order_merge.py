"""How SM's resent order (order.updated and the like) merges into the order we keep."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Protocol, TypeVar

from smbridge.domain.position import Position, PositionSource
from smbridge.domain.sm_order import SmOrderHeader, SmOrderLine


def merged_header(known: SmOrderHeader, news: SmOrderHeader, *, paid: bool) -> SmOrderHeader:
    """Every header field SM sent; a field it left out keeps its known value."""
    if paid:
        # SM resends the whole order with each event; one that left before the payment must
        # not turn a paid order back into "not_paid".
        news = replace(news, payment_state=None)
    return known.updated_by(news)


def merge_lines(positions: list[Position], incoming: tuple[SmOrderLine, ...]) -> None:
    """Match SM's lines to ours by SKU (and its n-th occurrence); keep picking records.

    A line SM no longer sends was removed by the customer: its quantity becomes 0 but the
    row stays, so whatever the picker already did with it remains visible.
    """
    ours = dict(_keyed(position for position in positions if position.source == PositionSource.SM))
    # The picker's substitutions are the picker's record: SM's view must not unlink them.
    substituted = {
        position.replaces_line_no: position.sku
        for position in positions
        if position.source == PositionSource.REPLACEMENT and position.replaces_line_no is not None
    }
    seen: set[tuple[str, int]] = set()
    next_line = max((position.line_no for position in positions), default=0) + 1
    for key, line in _keyed(incoming):
        seen.add(key)
        if key in ours:
            position = ours[key]
            position.refresh_from(line)
            if position.line_no in substituted:
                position.replaced_by_sku = substituted[position.line_no]
        else:
            positions.append(Position.from_sm_line(next_line, line))
            next_line += 1
    for key, position in ours.items():
        if key not in seen:
            position.quantity = Decimal(0)


class _HasSku(Protocol):
    @property
    def sku(self) -> str: ...


_WithSku = TypeVar("_WithSku", bound=_HasSku)


def _keyed(items: Iterable[_WithSku]) -> list[tuple[tuple[str, int], _WithSku]]:
    """Each item keyed by its SKU and which occurrence of that SKU it is (1, 2, ...)."""
    counts: Counter[str] = Counter()
    keyed: list[tuple[tuple[str, int], _WithSku]] = []
    for item in items:
        counts[item.sku] += 1
        keyed.append(((item.sku, counts[item.sku]), item))
    return keyed
