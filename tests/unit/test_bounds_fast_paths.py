"""The bounds' cheap paths must agree with the thorough checks they stand in for."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

import orjson
import pytest
from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError

from smbridge.kernel.bounds import (
    MAX_JSON_DEPTH,
    MAX_QUANTITY,
    MAX_SM_MONEY,
    Quantity,
    SmMoney,
    _ascii_number,
    _plain,
    surely_fit,
    unfit_texts,
)

TEXTS = [
    "",
    "Молоко",
    "a\tb\nc\r",
    "\x00",
    "\x07",
    "\x1f",
    "\x7f",
    "\x85",
    "\x9f",
    "\xa0",
    "\\b",
    "\b",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("ascii_only", [True, False])
@pytest.mark.parametrize("as_key", [True, False])
def test_surely_fit_never_passes_a_control_character(
    text: str, ascii_only: bool, as_key: bool
) -> None:
    document: Any = {"payload": {text: 1} if as_key else {"comment": text}}
    body = json.dumps(document, ensure_ascii=ascii_only).encode()
    parsed = orjson.loads(body)
    if list(unfit_texts(parsed)):
        assert not surely_fit(body, parsed)
    elif text != "\\b":  # a backslash before b only costs the walk
        assert surely_fit(body, parsed)


@pytest.mark.parametrize("levels", range(MAX_JSON_DEPTH - 3, MAX_JSON_DEPTH + 3))
@pytest.mark.parametrize("inner", ["[]", "[1]", '{"a": []}'])
def test_surely_fit_draws_the_depth_line_where_the_walk_does(levels: int, inner: str) -> None:
    body = ("[" * levels + inner + "]" * levels).encode()
    parsed = orjson.loads(body)
    assert surely_fit(body, parsed) == (not list(unfit_texts(parsed)))


def _as_pydantic_checks(maximum: Decimal, places: int) -> Any:
    digits = len(str(int(maximum))) + places
    limits = Field(ge=0, le=maximum, max_digits=digits, decimal_places=places, allow_inf_nan=False)
    return Annotated[Decimal, BeforeValidator(_ascii_number), limits]


VALUES: list[object] = [
    *("0", "-0", "0.000", "0E-10", "1.5", "1.230", "1.2300000", "1E+3", "1e4", "1e5", "-1"),
    *("9999.999", "10000", "10000.000", "10000.0001", "10000.5", "1.0001", "0.000001"),
    *("999999999.9999", "1000000000", "1000000000.00001", "12345678901234", "1e30"),
    *("1e-20000", "1e200000", "NaN", "sNaN", "inf", "-inf", "1_000", " 12 ", "", "abc"),
    *(0, 1, 10_000, 10_001, 1.5, 0.1, 1e308, float("nan"), float("inf"), True, None),
    Decimal("1E+2"),
]


@pytest.mark.parametrize(
    ("bounded", "maximum", "places"), [(Quantity, MAX_QUANTITY, 3), (SmMoney, MAX_SM_MONEY, 4)]
)
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_bounded_decimals_answer_as_pydantic_checks_do(
    bounded: Any, maximum: Decimal, places: int, value: object
) -> None:
    fast, thorough = TypeAdapter(bounded), TypeAdapter(_as_pydantic_checks(maximum, places))

    def outcome(adapter: TypeAdapter[Decimal]) -> object:
        try:
            return repr(adapter.validate_python(value))
        except ValidationError as exc:
            return [(e["type"], e["msg"]) for e in exc.errors(include_url=False)]

    expected = outcome(thorough)
    if isinstance(expected, str):  # accepted: written out plainly (1E+2 as 100)
        expected = repr(_plain(thorough.validate_python(value)))
    assert outcome(fast) == expected
