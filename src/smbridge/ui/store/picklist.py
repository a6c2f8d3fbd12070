"""The printed picking list and the entry screen's reading of it back (pure, no I/O).

Lines come as the assembly API's card shows them (``positions`` of ``getOrder``, plain
JSON). The list is grouped for a walk through the store: piece goods, then weighed goods
(the scales), each by name; lines added as replacements are not printed (the picker adds
them), and a line replaced already is marked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from markupsafe import Markup

from smbridge.ui.store import barcodes

GROUP_PIECES = "Штучные товары"
GROUP_WEIGHED = "Весовые товары"


@dataclass(frozen=True)
class PrintedLine:
    line_no: int
    sku: str
    name: str
    quantity: str
    weight_grams: str | None
    replaced: bool
    barcode: Markup  # inline SVG


@dataclass(frozen=True)
class Group:
    title: str
    lines: list[PrintedLine]


def groups(positions: Sequence[Mapping[str, Any]]) -> list[Group]:
    """The order's own lines (not substitutes), pieces then weighed, each by name."""
    pieces: list[PrintedLine] = []
    weighed: list[PrintedLine] = []
    for position in positions:
        if position.get("replacesLineNo") is not None:
            continue
        line = PrintedLine(
            line_no=int(position["lineNo"]),
            sku=str(position["sku"]),
            name=str(position["name"]),
            quantity=str(position["quantity"]),
            weight_grams=position.get("weightGrams"),
            replaced=position.get("replacedBySku") is not None,
            barcode=Markup(barcodes.svg(barcodes.for_sku(str(position["sku"])))),  # noqa: S704  # built and escaped by barcodes.svg
        )
        (weighed if line.weight_grams is not None else pieces).append(line)
    found = [
        Group(title, sorted(lines, key=lambda line: (line.name.casefold(), line.line_no)))
        for title, lines in ((GROUP_PIECES, pieces), (GROUP_WEIGHED, weighed))
    ]
    return [group for group in found if group.lines]


class NoSuchLine(Exception):
    """The scanned code names no line of the order that can be picked."""


def find_line(
    positions: Sequence[Mapping[str, Any]], code: str, line_no: int | None = None
) -> Mapping[str, Any]:
    """The line a scanned code (its SKU, as printed) stands for: the given ``line_no`` if
    its SKU is the code, else the first of the order's own lines with that SKU not picked
    yet, else the first with that SKU (to correct it)."""
    code = code.strip()
    own = [
        position
        for position in positions
        if position.get("replacesLineNo") is None and position.get("replacedBySku") is None
    ]
    matching = [position for position in own if str(position["sku"]) == code]
    if line_no is not None:
        matching = [position for position in matching if int(position["lineNo"]) == line_no]
    if not matching:
        raise NoSuchLine(code)
    waiting = [position for position in matching if position.get("pickedQuantity") is None]
    return (waiting or matching)[0]


def decimal_text(value: str) -> str | None:
    """A typed number as the API takes it ("1,5" -> "1.5"); None when blank; the text
    itself when it is no number (the use case refuses it with its own message)."""
    text = value.strip().replace(",", ".").replace(" ", "")
    if not text:
        return None
    try:
        Decimal(text)
    except InvalidOperation:
        return text
    return text
