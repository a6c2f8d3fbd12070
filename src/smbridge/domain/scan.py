"""What a picker's scan means for an order: which line it counts, and how.

A product's barcode finds the line(s) of that product (several lines may share one: the
first not fully picked in pick-path order counts it); a scale's weight label finds a weighed
line by its item code (SKU/PLU) and brings the weight; a Честный ЗНАК code finds the line by
its GTIN and is kept on it, one code per unit. Anything else is refused, never counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from smbridge.domain import marking_code
from smbridge.domain.marking_code import MarkingCodeError
from smbridge.domain.weight_label import DEFAULT_PROFILE, WeightLabelError, WeightLabelProfile

MAX_SCAN_LENGTH = 300


class ScanError(ValueError):
    def __init__(self, code: str, message_ru: str) -> None:
        super().__init__(code)
        self.code = code
        self.message_ru = message_ru


@dataclass(frozen=True)
class ScanLine:
    """A line of the order as the picker's screen shows it."""

    line_no: int
    sku: str
    name: str
    quantity: Decimal  # ordered (SM's current quantity)
    weighed: bool
    picked_quantity: Decimal | None = None
    picked_weight_grams: Decimal | None = None
    marking_codes: tuple[str, ...] = ()
    barcodes: tuple[str, ...] = ()  # the product's barcodes, when known (else the SKU)
    zone: str | None = None  # department / zone of the store, when known
    closed: bool = False  # replaced by a substitute: nothing more to pick

    @property
    def fully_picked(self) -> bool:
        if self.closed:
            return True
        if self.picked_quantity is None:
            return False
        return self.weighed or self.picked_quantity >= self.quantity

    def answers_to(self, code: str) -> bool:
        return any(_same_code(code, known) for known in (self.barcodes or (self.sku,)))


@dataclass(frozen=True)
class PickAction:
    """What to record for the scan (``recordPick``): the line's new absolute values."""

    line_no: int
    quantity: Decimal
    weight_grams: Decimal | None = None
    marking_codes: tuple[str, ...] | None = None  # None: the line's codes stay as they are
    needs_weight: bool = False  # a weighed line found by its barcode: its weight is needed


def pick_path(lines: Iterable[ScanLine]) -> list[ScanLine]:
    """Walking order: by zone when known (lines without one last), then by name."""
    return sorted(
        lines,
        key=lambda line: (line.zone is None, line.zone or "", line.name.casefold(), line.line_no),
    )


def match_scan(
    lines: Sequence[ScanLine], scanned: str, profile: WeightLabelProfile = DEFAULT_PROFILE
) -> PickAction:
    code = scanned.strip("\r\n\t ")
    if not code:
        raise ScanError("empty_scan", "Пустой скан")
    if len(code) > MAX_SCAN_LENGTH:
        raise ScanError("scan_too_long", "Слишком длинный код")
    ordered = pick_path(lines)
    if _marking_shaped(code):
        return _by_marking_code(ordered, code)
    if any(line.answers_to(code) for line in ordered):
        return _by_barcode(ordered, code)
    if profile.is_label(code):
        return _by_weight_label(ordered, code, profile)
    raise ScanError("not_in_order", "Этого товара нет в заказе")


def _by_barcode(ordered: list[ScanLine], code: str) -> PickAction:
    candidates = [line for line in ordered if line.answers_to(code) and not line.closed]
    line = _first_open(candidates)
    if line.weighed:
        return PickAction(line.line_no, line.quantity, line.picked_weight_grams, needs_weight=True)
    return PickAction(line.line_no, (line.picked_quantity or Decimal(0)) + 1)


def _by_weight_label(ordered: list[ScanLine], code: str, profile: WeightLabelProfile) -> PickAction:
    try:
        label = profile.parse(code)
    except WeightLabelError as refused:
        raise ScanError(refused.code, refused.message_ru) from None
    candidates = [line for line in ordered if label.matches_sku(line.sku) and not line.closed]
    if not candidates:
        raise ScanError("not_in_order", "Товара с этой этикетки нет в заказе")
    line = next((line for line in candidates if not line.fully_picked), candidates[0])
    if not line.weighed:
        raise ScanError("not_weighed", "Этот товар штучный: сканируйте его штрихкод")
    weight = (line.picked_weight_grams or Decimal(0)) + label.weight_grams
    return PickAction(line.line_no, line.quantity, weight)


def _by_marking_code(ordered: list[ScanLine], code: str) -> PickAction:
    try:
        parsed = marking_code.parse(code)
    except MarkingCodeError as refused:
        raise ScanError(refused.code, refused.message_ru) from None
    if any(parsed.raw in line.marking_codes for line in ordered):
        raise ScanError("code_already_scanned", "Этот код маркировки уже отсканирован")
    product = parsed.ean13 or parsed.gtin
    candidates = [
        line
        for line in ordered
        if not line.closed and (line.answers_to(product) or line.answers_to(parsed.gtin))
    ]
    if not candidates:
        raise ScanError("not_in_order", "Товара с этим кодом маркировки нет в заказе")
    line = _first_open(candidates)
    codes = (*line.marking_codes, parsed.raw)
    if line.weighed:
        weight = parsed.net_weight_grams or line.picked_weight_grams
        return PickAction(line.line_no, line.quantity, weight, codes, needs_weight=weight is None)
    return PickAction(line.line_no, (line.picked_quantity or Decimal(0)) + 1, None, codes)


def _first_open(candidates: list[ScanLine]) -> ScanLine:
    for line in candidates:
        if not line.fully_picked:
            return line
    raise ScanError("already_picked", "Эта позиция уже собрана полностью")


def _marking_shaped(code: str) -> bool:
    return marking_code.looks_like_marking_code(code) or (
        code.startswith(("]d2", "]D2", "\x1d")) and len(code) > 18
    )


def _same_code(scanned: str, known: str) -> bool:
    """The same barcode, an EAN-13 and its GTIN-14 (leading zeros) alike."""
    if scanned == known:
        return True
    return (
        scanned.isascii()
        and scanned.isdigit()
        and known.isascii()
        and known.isdigit()
        and scanned.lstrip("0") == known.lstrip("0")
        and scanned.lstrip("0") != ""
    )
