"""How SM's resent order (order.updated and the like) merges into the order we keep."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal

from smbridge.domain.position import Position
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
    from_sm = [position for position in positions if not position.pick.is_substitute]
    ours = dict(zip(_keys(position.line for position in from_sm), from_sm, strict=True))
    # The picker's substitutions are the picker's record: SM's view must not unlink them.
    substituted = {
        position.pick.replaces_line_no: position.line.sku
        for position in positions
        if position.pick.is_substitute and position.pick.replaces_line_no is not None
    }
    seen: set[tuple[str, int]] = set()
    next_line = max((position.line_no for position in positions), default=0) + 1
    for key, line in zip(_keys(incoming), incoming, strict=True):
        seen.add(key)
        if key in ours:
            position = ours[key]
            if position.line_no in substituted:
                position.line = replace(line, replaced_by_sku=substituted[position.line_no])
            else:
                position.line = line
        else:
            positions.append(Position(next_line, line))
            next_line += 1
    for key, position in ours.items():
        if key not in seen:
            position.line = replace(position.line, quantity=Decimal(0))


def _keys(lines: Iterable[SmOrderLine]) -> list[tuple[str, int]]:
    """Each line's SKU and which occurrence of that SKU it is (1, 2, ...)."""
    counts: Counter[str] = Counter()
    keys: list[tuple[str, int]] = []
    for line in lines:
        counts[line.sku] += 1
        keys.append((line.sku, counts[line.sku]))
    return keys
