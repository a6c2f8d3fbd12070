"""Честный ЗНАК marking codes: the GS1 DataMatrix on a marked unit, as a scanner sends it.

``01`` + GTIN-14, ``21`` + serial (variable length, ended by a group separator GS, ASCII 29),
then ``91`` + a key, GS, ``92`` + a crypto tail (or ``93`` + a short tail, as dairy has),
optionally a net weight ``310n``. The digits "91"/"92" may occur inside the serial, so the
code is split by its separators, never by searching for the digits. A scanner in keyboard
mode often loses the GS or sends it as text; a code that needs a GS and has none is a
misconfigured scanner, refused rather than stored broken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

GS = "\x1d"
MAX_SERIAL = 20  # GS1: AI 21 holds up to 20 characters
MAX_LENGTH = 200  # what a position keeps of one code (kernel.bounds.MarkingCode)
# How GS arrives when the scanner does not send the control character itself.
_GS_AS_TEXT = re.compile(r"<gs>|\\u001d|\\x1d|\{gs\}", re.IGNORECASE)
# Symbology identifier of a GS1 DataMatrix (the scanner's "FNC1 in first position").
_SYMBOLOGY = ("]d2", "]D2")
_GS1_CHARS = re.compile(r"^[!-~\x1d]+$")
# Serial lengths of Честный ЗНАК product groups: a GS-less code with a crypto AI right after
# one of them is a lost separator (a serial can be up to 20, but these are what exist).
_KNOWN_SERIALS = (6, 7, 8, 13)
# AIs after the serial: name -> fixed length (None: variable, ended by GS or the code's end).
_AIS: dict[str, int | None] = {
    "91": None,
    "92": None,
    "93": None,
    "10": None,  # batch
    "17": 6,  # expiry YYMMDD
    "8005": 6,  # price (tobacco)
    **{f"310{decimals}": 6 for decimals in range(7)},  # net weight, kg with n decimals
}


class MarkingCodeError(ValueError):
    """A scan that is not a marking code, or one the scanner mangled."""

    def __init__(self, code: str, message_ru: str) -> None:
        super().__init__(code)
        self.code = code
        self.message_ru = message_ru


@dataclass(frozen=True)
class MarkingCode:
    raw: str  # normalised: GS as \x1d, no symbology prefix; what the position keeps
    gtin: str  # 14 digits
    serial: str
    key: str | None  # AI 91
    crypto: str | None  # AI 92 or 93
    net_weight_grams: Decimal | None  # AI 310n

    @property
    def ean13(self) -> str | None:
        """The product's EAN-13 barcode when the GTIN-14 is one (a leading zero)."""
        return self.gtin[1:] if self.gtin.startswith("0") else None


def normalise(scanned: str) -> str:
    """The code with GS as the control character, without the symbology prefix, a leading
    FNC1 or the line end a keyboard wedge adds."""
    text = _GS_AS_TEXT.sub(GS, scanned.strip("\r\n\t "))
    for prefix in _SYMBOLOGY:
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text.lstrip(GS).rstrip(GS)


def looks_like_marking_code(scanned: str) -> bool:
    """Has a marking code's start (``01`` + 14 digits + ``21``): worth parsing as one."""
    text = normalise(scanned)
    return len(text) > 18 and text.startswith("01") and text[2:16].isdigit() and text[16:18] == "21"


def parse(scanned: str) -> MarkingCode:
    raw = normalise(scanned)
    if not raw.isascii() or not _GS1_CHARS.match(raw):
        raise MarkingCodeError(
            "bad_characters",
            "Код маркировки содержит недопустимые символы: проверьте раскладку сканера",
        )
    if len(raw) > MAX_LENGTH:
        raise MarkingCodeError("too_long", "Код маркировки слишком длинный")
    if not (raw.startswith("01") and raw[2:16].isdigit() and len(raw[2:16]) == 14):
        raise MarkingCodeError("not_a_marking_code", "Это не код маркировки Честного ЗНАКа")
    if raw[16:18] != "21":
        raise MarkingCodeError("no_serial", "В коде маркировки нет серийного номера (21)")
    rest = raw[18:]
    serial, separator, tail = rest.partition(GS)
    if not serial:
        raise MarkingCodeError("no_serial", "В коде маркировки нет серийного номера (21)")
    if not separator and _lost_separator(serial):
        raise MarkingCodeError(
            "missing_gs",
            "Сканер не передал разделитель GS: код маркировки не сохранён. "
            "Настройте сканер (передача GS / FNC1) и отсканируйте ещё раз",
        )
    if len(serial) > MAX_SERIAL:
        raise MarkingCodeError("serial_too_long", "Серийный номер в коде маркировки длиннее 20")
    fields = _fields(tail)
    weight = next((_weight(ai, value) for ai, value in fields.items() if ai[:3] == "310"), None)
    return MarkingCode(
        raw=raw,
        gtin=raw[2:16],
        serial=serial,
        key=fields.get("91"),
        crypto=fields.get("92", fields.get("93")),
        net_weight_grams=weight,
    )


def _lost_separator(serial: str) -> bool:
    """A serial with no GS after it that must have swallowed the AIs following it."""
    if len(serial) > MAX_SERIAL:
        return True
    return any(
        serial[length : length + 2] in ("91", "93") and len(serial) - length in (6, 7)
        for length in _KNOWN_SERIALS
    )


def _fields(tail: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    while tail:
        ai = next((name for name in _AIS if tail.startswith(name)), None)
        if ai is None:
            raise MarkingCodeError(
                "unknown_ai", "Код маркировки не распознан: неизвестный идентификатор"
            )
        size = _AIS[ai]
        body = tail[len(ai) :]
        if size is None:
            value, _, tail = body.partition(GS)
        else:
            value, tail = body[:size], body[size:].lstrip(GS)
            if len(value) != size or not value.isdigit():
                raise MarkingCodeError("bad_field", f"Поле {ai} кода маркировки повреждено")
        if not value or ai in fields:
            raise MarkingCodeError("bad_field", f"Поле {ai} кода маркировки повреждено")
        fields[ai] = value
    return fields


def _weight(ai: str, value: str) -> Decimal:
    """AI 310n: net weight in kg with n decimals, as grams."""
    decimals = int(ai[-1])
    return Decimal(f"{Decimal(int(value)).scaleb(3 - decimals):f}")
