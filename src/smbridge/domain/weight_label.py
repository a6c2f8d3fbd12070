"""Russian in-store weight labels: EAN-13 codes with a prefix 20–29 printed by the scales.

Their layout is not a standard: each store configures its scales. A profile says which
prefixes mark a weight label and how the twelve data digits split into the prefix, the
item code (PLU or SKU) and the weight; the thirteenth digit is the EAN-13 check digit.
The usual layout is ``PP NNNNN QQQQQ C``: ``2212345015009`` is item 12345, 1.500 kg.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

EAN13_LENGTH = 13
_DATA_DIGITS = EAN13_LENGTH - 1
GRAMS_PER_KG = Decimal(1000)


class WeightLabelError(ValueError):
    """A code that is not a weight label of the profile, or one misread (bad check digit)."""

    def __init__(self, code: str, message_ru: str) -> None:
        super().__init__(code)
        self.code = code
        self.message_ru = message_ru


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def ean13_check_digit(data: str) -> int:
    """The EAN-13 check digit of twelve data digits (weights 1, 3, 1, 3... from the left)."""
    if len(data) != _DATA_DIGITS or not _ascii_digits(data):
        raise ValueError("expected twelve ASCII digits")
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(data))
    return (10 - total % 10) % 10


def is_valid_ean13(code: str) -> bool:
    return (
        len(code) == EAN13_LENGTH
        and _ascii_digits(code)
        and ean13_check_digit(code[:_DATA_DIGITS]) == int(code[-1])
    )


@dataclass(frozen=True)
class WeightLabelProfile:
    """How a store's scales lay out a label: ``prefix_digits`` of prefix, ``item_digits``
    of item code, ``weight_digits`` of weight (in units of ``grams_per_unit`` grams),
    twelve in all. Whatever the split, a label starts with one of ``prefixes`` (two digits);
    with ``prefix_digits=0`` the item code includes them (``NNNNNNN QQQQQ C``)."""

    prefixes: frozenset[str] = field(
        default_factory=lambda: frozenset(str(prefix) for prefix in range(20, 30))
    )
    prefix_digits: int = 2
    item_digits: int = 5
    weight_digits: int = 5
    grams_per_unit: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if self.prefix_digits + self.item_digits + self.weight_digits != _DATA_DIGITS:
            raise ValueError("prefix, item and weight digits must make twelve")
        if not 0 <= self.prefix_digits <= 2 or self.item_digits < 1 or self.weight_digits < 1:
            raise ValueError("a label needs an item code and a weight")
        if not self.prefixes or any(
            len(prefix) != 2 or not _ascii_digits(prefix) or not "20" <= prefix <= "29"
            for prefix in self.prefixes
        ):
            raise ValueError("prefixes are two digits from 20 to 29 (restricted use)")
        if self.grams_per_unit <= 0:
            raise ValueError("the weight unit must be positive")

    def is_label(self, code: str) -> bool:
        """Has the shape of this profile's label (13 digits, a prefix of the profile); the
        check digit is not looked at: a misread label must still be told apart from a
        product's barcode, to say so."""
        return len(code) == EAN13_LENGTH and _ascii_digits(code) and code[:2] in self.prefixes

    def parse(self, code: str) -> WeightLabel:
        code = code.strip()
        if not self.is_label(code):
            raise WeightLabelError("not_a_weight_label", "Это не весовая этикетка магазина")
        if not is_valid_ean13(code):
            raise WeightLabelError(
                "bad_check_digit",
                "Этикетка считана с ошибкой (контрольная цифра): сканируйте ещё раз",
            )
        item_end = self.prefix_digits + self.item_digits
        units = Decimal(int(code[item_end:_DATA_DIGITS]))
        grams = units * self.grams_per_unit
        return WeightLabel(
            code=code,
            prefix=code[:2],
            item_code=code[self.prefix_digits : item_end],
            weight_grams=grams,
        )

    def compose(self, prefix: str, item_code: str, weight_units: int) -> str:
        """The label the scales would print (for tests and an admin's "test scan")."""
        weight = str(weight_units).zfill(self.weight_digits)
        item = item_code.zfill(self.item_digits)
        head = prefix[: self.prefix_digits]
        if len(item) != self.item_digits or len(weight) != self.weight_digits:
            raise ValueError("item code or weight does not fit the profile")
        data = head + item + weight
        if not self.prefix_digits and data[:2] != prefix:
            raise ValueError("with no prefix digits the item code must start with the prefix")
        return data + str(ean13_check_digit(data))


DEFAULT_PROFILE = WeightLabelProfile()


@dataclass(frozen=True)
class WeightLabel:
    code: str  # the label as scanned, kept
    prefix: str
    item_code: str  # PLU or SKU, with its leading zeros
    weight_grams: Decimal

    @property
    def weight_kg(self) -> Decimal:
        return self.weight_grams / GRAMS_PER_KG

    def matches_sku(self, sku: str) -> bool:
        """The label's item code names this SKU: the same digits, leading zeros aside."""
        sku = sku.strip()
        if sku == self.item_code:
            return True
        return _ascii_digits(sku) and sku.lstrip("0") == self.item_code.lstrip("0")
