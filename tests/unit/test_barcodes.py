"""The printed picking list's barcodes: what is drawn decodes back to the text given."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smbridge.ui.store import barcodes
from smbridge.ui.store.barcodes import (
    CODE128_STOP,
    CODE128_WIDTHS,
    EAN_G,
    EAN_L,
    EAN_PARITY,
    BarcodeError,
    code128,
    code128_values,
    ean13,
    ean13_check_digit,
    for_sku,
    is_ean13,
    svg,
)

_SYMBOL = {pattern: value for value, pattern in enumerate(CODE128_WIDTHS)}


def decode_code128(widths: tuple[int, ...]) -> str:
    """A scanner's reading of Code 128 widths: symbols of 6 elements, the checksum, the stop."""
    text = "".join(map(str, widths))
    assert text.endswith(CODE128_STOP)
    body = text[: -len(CODE128_STOP)]
    assert len(body) % 6 == 0
    values = [_SYMBOL[body[i : i + 6]] for i in range(0, len(body), 6)]
    *data, checksum = values
    assert checksum == (data[0] + sum(i * v for i, v in enumerate(data[1:], 1))) % 103
    mode = {104: "B", 105: "C"}[data[0]]
    out = []
    for value in data[1:]:
        # 99 switches to set C only from set B; in set C it is the digits "99".
        if mode == "B" and value == 99:
            mode = "C"
        elif mode == "C" and value == 100:
            mode = "B"
        elif mode == "C":
            out.append(f"{value:02d}")
        else:
            out.append(chr(value + 32))
    return "".join(out)


def decode_ean13(widths: tuple[int, ...]) -> str:
    text = "".join(map(str, widths))
    assert len(widths) == 59
    assert (text[:3], text[27:32], text[-3:]) == ("111", "11111", "111")
    left = [text[3 + 4 * i : 7 + 4 * i] for i in range(6)]
    right = [text[32 + 4 * i : 36 + 4 * i] for i in range(6)]
    digits, parity = [], ""
    for code in left:
        if code in EAN_L:
            digits.append(EAN_L.index(code))
            parity += "L"
        else:
            digits.append(EAN_G.index(code))
            parity += "G"
    first = EAN_PARITY.index(parity)
    digits += [EAN_L.index(code) for code in right]  # R: the L widths, bar first
    return str(first) + "".join(map(str, digits))


def widths_of_svg(drawing: str, module: float = 1.5) -> tuple[int, ...]:
    """The bar and space widths (in modules) read back from the SVG's rectangles."""
    bars = [
        (float(x), float(w))
        for x, w in re.findall(r'<rect x="([\d.]+)" y="0" width="([\d.]+)"', drawing)
    ]
    widths: list[int] = []
    for index, (x, width) in enumerate(bars):
        if index:
            previous_end = bars[index - 1][0] + bars[index - 1][1]
            widths.append(round((x - previous_end) / module))
        widths.append(round(width / module))
    return tuple(widths)


def test_every_code128_symbol_is_eleven_modules_and_unique() -> None:
    assert len(CODE128_WIDTHS) == 106
    assert len(set(CODE128_WIDTHS)) == 106
    assert all(sum(map(int, pattern)) == 11 for pattern in CODE128_WIDTHS)
    assert sum(map(int, CODE128_STOP)) == 13


def test_code128_known_values() -> None:
    # Checked once against python-barcode's encoder (not a dependency).
    assert code128_values("Wikipedia") == [104, 55, 73, 75, 73, 80, 69, 68, 73, 65, 88]
    assert code128_values("100500") == [105, 10, 5, 0, 22]
    assert code128_values("SM00000001") == [104, 51, 45, 99, 0, 0, 0, 1, 34]
    assert code128_values("A1234B") == [104, 33, 99, 12, 34, 100, 34, 78]


@pytest.mark.parametrize(
    "text", ["SM00000001", "100500", "200300", "ABC-12345x", "1", "12", "99", "a9999b", "a b"]
)
def test_code128_decodes_back(text: str) -> None:
    drawn = code128(text)
    assert decode_code128(drawn.widths) == text
    assert widths_of_svg(svg(drawn)) == drawn.widths


@given(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=40)
)
def test_any_printable_text_decodes_back(text: str) -> None:
    assert decode_code128(code128(text).widths) == text


def test_code128_refuses_what_it_cannot_draw() -> None:
    with pytest.raises(BarcodeError):
        code128("")
    with pytest.raises(BarcodeError):
        code128("молоко")


def test_ean13_check_digit() -> None:
    assert ean13_check_digit("400638133393") == 1
    assert ean13_check_digit("460000000000") == 8
    assert ean13_check_digit("590123412345") == 7
    assert is_ean13("4006381333931")
    assert not is_ean13("4006381333932")
    assert not is_ean13("400638133393")
    assert not is_ean13("40063813339３1")  # a full-width digit is no digit here


@pytest.mark.parametrize(
    "code", ["4006381333931", "4600000000008", "5901234123457", "2212345015009"]
)
def test_ean13_decodes_back(code: str) -> None:
    drawn = ean13(code)
    assert drawn.total_modules == 95
    assert decode_ean13(drawn.widths) == code
    assert widths_of_svg(svg(drawn)) == drawn.widths


def test_ean13_adds_or_checks_the_check_digit() -> None:
    assert ean13("590123412345").text == "5901234123457"
    with pytest.raises(BarcodeError):
        ean13("5901234123458")


def test_a_line_is_printed_as_ean13_when_its_sku_is_one() -> None:
    assert for_sku("4600000000008").kind == "ean13"
    assert for_sku("100500").kind == "code128"
    assert for_sku("4600000000009").kind == "code128"  # wrong check digit: drawn as is


def test_svg_escapes_its_text() -> None:
    drawing = barcodes.svg(code128('<b>"x"&'))
    assert "<b>" not in drawing
    assert "&lt;b&gt;" in drawing
