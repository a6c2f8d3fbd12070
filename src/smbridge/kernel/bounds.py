"""The bounds of every input field, one type per concept, shared by both services.

Each bound fits the database (int32 keys, ``String(n)`` columns, NUMERIC's digit limits,
text without NUL) and the business (no picker weighs a tonne, no price reaches a billion).
Input outside them is refused at the edge, before anything is written, so no request can
fail inside the database and no webhook is journaled as failed for data that could never
apply. docs/input-bounds.md lists them for people.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
)
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

INT32_MAX = 2**31 - 1
MAX_JSON_DEPTH = 32  # SM's deepest real document is 4 levels; the event key needs < 255
MAX_QUANTITY = Decimal(10_000)
MAX_WEIGHT_GRAMS = Decimal(1_000_000)
MAX_SM_MONEY = Decimal(1_000_000_000)
MAX_PRICE = Decimal(1_000_000)
MAX_MARKING_CODES = 100  # per line
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

# --- integers --------------------------------------------------------------------------------

DbId = Annotated[int, Field(ge=1, le=INT32_MAX, description="1 … 2³¹−1 (a database key)")]
LineNo = Annotated[int, Field(ge=1, le=10_000, description="an order line, 1 … 10000")]

# --- texts -----------------------------------------------------------------------------------

# Identifiers and labels: no control characters at all (a NUL cannot even be stored).
_NO_CONTROLS = r"^[^\x00-\x1f\x7f-\x9f]*$"
# Free texts keep line breaks and tabs; every other control character is refused.
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FREE_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


def _id(max_length: int) -> Any:
    return Field(min_length=1, max_length=max_length, pattern=_NO_CONTROLS)


SmId = Annotated[str, _id(64)]  # SM's order, store, position ids: String(64) columns
OrderNumber = Annotated[str, _id(32)]  # our order numbers: String(32)
Label = Annotated[str, Field(max_length=200, pattern=_NO_CONTROLS)]  # SM's states, methods
Name = Annotated[str, Field(max_length=500, pattern=_FREE_TEXT)]  # goods: String(500) in sales
FreeText = Annotated[str, Field(max_length=4000, pattern=_FREE_TEXT)]  # comments, reasons
# Printable ASCII: a client's key, compared byte for byte; never empty (it would be shared).
RequestId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[!-~]+$")]
# Честный знак codes are printable ASCII with GS (0x1D) separators before crypto tails.
MarkingCode = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\x1d!-~]+$")]
MarkingCodes = Annotated[list[MarkingCode], Field(max_length=MAX_MARKING_CODES)]


def unfit_texts(document: object, depth: int = 0) -> Iterator[tuple[str, str]]:
    """Where a parsed JSON document nests deeper than MAX_JSON_DEPTH, or has a key or text
    with a control character other than tab and line breaks: (dotted path, why)."""
    if depth > MAX_JSON_DEPTH:
        yield "", f"nested deeper than {MAX_JSON_DEPTH} levels"
    elif isinstance(document, str):
        if _TEXT_CONTROLS.search(document):
            yield "", "control characters are not allowed"
    elif isinstance(document, dict | list):
        items = document.items() if isinstance(document, dict) else enumerate(document)
        for key, value in items:
            if isinstance(key, str) and _TEXT_CONTROLS.search(key):
                yield "", "control characters are not allowed in keys"
                continue
            for below, why in unfit_texts(value, depth + 1):
                yield f"{key}.{below}".rstrip("."), why


# A control character can reach a parsed JSON text only as an escape (\\b, \\f, \\u00XX: JSON
# has no raw C0 controls) or as raw DEL or C1 bytes (U+0080-U+009F are C2 80-C2 9F in UTF-8).
# Tab and line breaks (\\t \\n \\r) are allowed anyway. A double backslash may match too:
# that only costs the full walk.
_CONTROL_IN_JSON = re.compile(
    rb"\\(?:[bf]|u00(?:[01][0-9a-fA-F]|7[fF]|[89][0-9a-fA-F]))|\x7f|\xc2[\x80-\x9f]"
)


def surely_fit(body: bytes, document: object) -> bool:
    """True when ``document``, parsed from the JSON ``body``, has nothing ``unfit_texts``
    would name: the bytes hold no control character and nothing nests too deep. Far cheaper
    than that walk, which is then needed only to name the problems."""
    if _CONTROL_IN_JSON.search(body):
        return False
    return not isinstance(document, dict | list) or _shallow(document, 0)


def _shallow(container: dict[Any, Any] | list[Any], depth: int) -> bool:
    """No value inside ``container`` (which lies at ``depth``) lies below MAX_JSON_DEPTH."""
    values = container.values() if isinstance(container, dict) else container
    if depth >= MAX_JSON_DEPTH:
        return not values  # anything inside would lie too deep
    for value in values:
        if isinstance(value, dict | list) and not _shallow(value, depth + 1):
            return False
    return True


# --- decimals --------------------------------------------------------------------------------

_PLAIN_NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,4})?$")


def _ascii_number(value: object) -> object:
    """Decimal() also reads "1_000" and Arabic-Indic digits; nobody sends those on purpose."""
    if isinstance(value, str) and not _PLAIN_NUMBER.match(value.strip()):
        raise ValueError("expected a decimal number written with ASCII digits")
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")
    return value


def _plain(value: Decimal) -> Decimal:
    """1E+2 becomes 100: the same text in the database, in answers and in SM's notifications."""
    return Decimal(f"{value:f}")


def _bounded(maximum: Decimal, places: int, what: str) -> tuple[Any, ...]:
    """0 … maximum with at most ``places`` decimals: always fits NUMERIC and String(40).

    The bounds of pydantic's ``Field(ge, le, max_digits, decimal_places)``, whose checks run
    as five Python validators per value (``as_tuple`` twice) once a before-validator wraps
    the type: the hook paid that for every price of every webhook. A value plainly inside
    (finite, in range, at most ``places`` decimals, hence few enough digits) costs one call
    here; any other goes through pydantic's checks, so a refusal reads as it always did.
    """
    max_digits = len(str(int(maximum))) + places
    limits = Field(
        ge=0, le=maximum, max_digits=max_digits, decimal_places=places, allow_inf_nan=False
    )
    exact = TypeAdapter(Annotated[Decimal, _ASCII, limits])

    def within(value: Decimal) -> Decimal:
        exponent = value.as_tuple().exponent  # "n", "N" or "F" when not finite
        if isinstance(exponent, int) and -places <= exponent <= 0 and 0 <= value <= maximum:
            return value  # plain already: no exponent to write out
        try:
            exact.validate_python(value)
        except ValidationError as exc:
            error = exc.errors(include_url=False, include_input=False)[0]
            raise PydanticCustomError(error["type"], error["msg"]) from None
        return _plain(value)

    shown: JsonDict = {
        "ge": 0,
        "le": str(maximum),
        "max_digits": max_digits,
        "decimal_places": places,
    }
    described = Field(
        description=f"{what}: 0 … {maximum}, at most {places} decimal places",
        json_schema_extra=shown,  # the documents show the bounds as Field's would
    )
    return AfterValidator(within), described


_ASCII = BeforeValidator(_ascii_number)
Quantity = Annotated[Decimal, _ASCII, *_bounded(MAX_QUANTITY, 3, "pieces or units")]
WeightGrams = Annotated[Decimal, _ASCII, *_bounded(MAX_WEIGHT_GRAMS, 3, "grams")]
SmMoney = Annotated[Decimal, _ASCII, *_bounded(MAX_SM_MONEY, 4, "roubles")]  # SM's prices
Price = Annotated[Decimal, _ASCII, *_bounded(MAX_PRICE, 2, "roubles")]  # a picker's price

# --- times -----------------------------------------------------------------------------------


def _sane_time(value: datetime) -> datetime:
    # Check the wall-clock year first: converting 9999-12-31T23:59-05:00 to UTC overflows.
    if not EARLIEST.year <= value.year < LATEST.year or not EARLIEST <= value < LATEST:
        raise ValueError(f"expected a time from {EARLIEST.date()} to {LATEST.date()}")
    return value


SaneTime = Annotated[AwareDatetime, AfterValidator(_sane_time)]
