"""Code 128 and EAN-13 barcodes as inline SVG, for the printed picking list (pure, no I/O).

A barcode is a run of modules: ``modules()`` gives the widths of its bars and spaces in
turn (bar first), ``svg()`` draws them. A store's scanner reads the printed list back
(the entry screen), so what is drawn must decode to exactly the text given: the unit tests
decode the widths back.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

# Code 128: the widths (bar, space, bar, space, bar, space) of each symbol value 0..105;
# 103..105 are START A/B/C; STOP has a seventh element (the final bar).
CODE128_WIDTHS: tuple[str, ...] = (
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312",
    "132212", "221213", "221312", "231212", "112232", "122132", "122231", "113222",
    "123122", "123221", "223211", "221132", "221231", "213212", "223112", "312131",
    "311222", "321122", "321221", "312212", "322112", "322211", "212123", "212321",
    "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
    "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121",
    "313121", "211331", "231131", "213113", "213311", "213131", "311123", "311321",
    "331121", "312113", "312311", "332111", "314111", "221411", "431111", "111224",
    "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
    "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112",
    "421211", "212141", "214121", "412121", "111143", "111341", "131141", "114113",
    "114311", "411113", "411311", "113141", "114131", "311141", "411131", "211412",
    "211214", "211232",
)  # fmt: skip
CODE128_STOP = "2331112"
START_B, START_C, CODE_B, CODE_C = 104, 105, 100, 99
QUIET = 10  # modules of white space on each side, as scanners require

# EAN-13: the left half's digits in sets L or G (chosen by the first digit), the right's in R.
EAN_L = ("3211", "2221", "2122", "1411", "1132", "1231", "1114", "1312", "1213", "3112")
EAN_G = ("1123", "1222", "2212", "1141", "2311", "1321", "4111", "2131", "3121", "2113")
EAN_PARITY = (
    "LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
    "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL",
)  # fmt: skip
EAN_GUARD, EAN_CENTRE = "111", "11111"


class BarcodeError(ValueError):
    """The text cannot be drawn in this symbology."""


@dataclass(frozen=True)
class Barcode:
    """What is drawn: the symbology, the text it encodes and its element widths (bar first)."""

    kind: str  # "code128" | "ean13"
    text: str
    widths: tuple[int, ...]

    @property
    def total_modules(self) -> int:
        return sum(self.widths)


# --- Code 128 --------------------------------------------------------------------------------


def code128_values(text: str) -> list[int]:
    """The symbol values of ``text``: start, data, checksum (no stop). Runs of 4+ digits go in
    code set C (two digits a symbol), the rest in set B (printable ASCII)."""
    if not text:
        raise BarcodeError("empty text")
    if any(not 32 <= ord(char) <= 126 for char in text):
        raise BarcodeError("Code 128 B/C draws printable ASCII only")
    values: list[int] = []
    mode = ""
    index = 0
    while index < len(text):
        run = _digit_run(text, index)
        # Set C pays for itself on 4+ digits (or 2+ digits ending the text from the start).
        if run >= 4 or (run >= 2 and index == 0 and run == len(text)):
            take = run - run % 2
            values.append(_switch(mode, "C"))
            mode = "C"
            values.extend(int(text[i : i + 2]) for i in range(index, index + take, 2))
            index += take
            continue
        values.append(_switch(mode, "B"))
        mode = "B"
        values.append(ord(text[index]) - 32)
        index += 1
    values = [value for value in values if value >= 0]
    checksum = values[0] + sum(position * value for position, value in enumerate(values[1:], 1))
    return [*values, checksum % 103]


def _digit_run(text: str, start: int) -> int:
    end = start
    while end < len(text) and text[end].isdigit() and text[end].isascii():
        end += 1
    return end - start


def _switch(mode: str, wanted: str) -> int:
    """The symbol that starts or switches to the code set ``wanted`` (-1: already in it)."""
    if mode == wanted:
        return -1
    if not mode:
        return START_C if wanted == "C" else START_B
    return CODE_C if wanted == "C" else CODE_B


def code128(text: str) -> Barcode:
    values = code128_values(text)
    pattern = "".join(CODE128_WIDTHS[value] for value in values) + CODE128_STOP
    return Barcode("code128", text, tuple(int(width) for width in pattern))


# --- EAN-13 ----------------------------------------------------------------------------------


def ean13_check_digit(first12: str) -> int:
    """The check digit of 12 digits: weights 1, 3, 1, 3... from the left."""
    if len(first12) != 12 or not (first12.isascii() and first12.isdigit()):
        raise BarcodeError("EAN-13 needs 12 digits before its check digit")
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(first12))
    return (10 - total % 10) % 10


def is_ean13(text: str) -> bool:
    """13 digits whose last is their check digit."""
    return (
        len(text) == 13
        and text.isascii()
        and text.isdigit()
        and ean13_check_digit(text[:12]) == int(text[12])
    )


def ean13(text: str) -> Barcode:
    """An EAN-13 of 13 digits (the check digit verified) or of 12 (the check digit added)."""
    if len(text) == 12:
        text += str(ean13_check_digit(text))
    if not is_ean13(text):
        raise BarcodeError("not an EAN-13 (13 digits with a valid check digit)")
    parity = EAN_PARITY[int(text[0])]
    left = "".join(
        (EAN_L if set_ == "L" else EAN_G)[int(digit)]
        for digit, set_ in zip(text[1:7], parity, strict=True)
    )
    # R codes are the L codes' widths read as bar-first (the same widths, colours swapped).
    right = "".join(EAN_L[int(digit)] for digit in text[7:])
    # L/G start with a space: after the 3-module guard (bar, space, bar) a space comes next.
    pattern = EAN_GUARD + left + EAN_CENTRE + right + EAN_GUARD
    return Barcode("ean13", text, tuple(int(width) for width in pattern))


def for_sku(sku: str) -> Barcode:
    """The barcode a line is printed with: EAN-13 when the SKU is one, else Code 128."""
    return ean13(sku) if is_ean13(sku) else code128(sku)


# --- SVG -------------------------------------------------------------------------------------


def svg(barcode: Barcode, *, module: float = 1.5, height: float = 48, label: bool = True) -> str:
    """The barcode as an inline ``<svg>``: black bars on white with quiet zones, the text
    below it (escaped). Widths in modules scaled by ``module`` px."""
    quiet = QUIET if barcode.kind == "code128" else 9
    text_height = 14 if label else 0
    width = (barcode.total_modules + 2 * quiet) * module
    bars: list[str] = []
    x = quiet
    for index, modules in enumerate(barcode.widths):
        if index % 2 == 0:  # bars at even positions, spaces between
            bars.append(
                f'<rect x="{x * module:g}" y="0" width="{modules * module:g}" height="{height:g}"/>'
            )
        x += modules
    caption = (
        f'<text x="{width / 2:g}" y="{height + 12:g}" text-anchor="middle" '
        f'font-family="monospace" font-size="12">{escape(barcode.text)}</text>'
        if label
        else ""
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="barcode" data-test="barcode" '
        f'data-kind="{barcode.kind}" data-code="{escape(barcode.text)}" '
        f'width="{width:g}" height="{height + text_height:g}" '
        f'viewBox="0 0 {width:g} {height + text_height:g}" role="img" '
        f'aria-label="{escape(barcode.text)}">'
        f'<rect width="100%" height="100%" fill="#fff"/><g fill="#000">{"".join(bars)}</g>'
        f"{caption}</svg>"
    )
