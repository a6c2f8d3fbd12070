"""Property: whatever a bound accepts, both databases store and give back unchanged."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Text, literal, select

from smbridge.kernel import bounds
from smbridge.kernel.database.column_types import ExactDecimal
from smbridge.kernel.database.unit_of_work import Database

pytestmark = pytest.mark.fuzz
PROPERTY = hypothesis_settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
DECIMALS = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False),
    # exponents beyond NUMERIC's reach (16,383 places, 131,072 digits): 1e-20000, 1e200000
    st.builds(
        lambda digits, exponent: Decimal(digits).scaleb(exponent),
        st.integers(min_value=-(10**6), max_value=10**6),
        st.integers(min_value=-300_000, max_value=300_000),
    ),
    st.decimals(min_value=0, max_value=10**10, places=4),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)
TEXTS = st.text(st.characters(codec="utf-8"), max_size=600)


def accepted(kind: Any, value: object) -> Any:
    try:
        return TypeAdapter(kind).validate_python(value)
    except ValidationError:
        return None


def round_trip(db: Database, value: object, column_type: Any) -> Any:
    with db.engine.connect() as connection:
        return connection.execute(select(literal(value, column_type))).scalar_one()


def test_every_accepted_decimal_is_stored_exactly(db: Database) -> None:
    kinds = [bounds.Quantity, bounds.WeightGrams, bounds.SmMoney, bounds.Price]

    @PROPERTY
    @given(kind=st.sampled_from(kinds), value=DECIMALS)
    def run(kind: Any, value: object) -> None:
        number = accepted(kind, value)
        if number is not None:
            assert isinstance(number, Decimal)
            assert round_trip(db, number, ExactDecimal()) == number

    run()


def test_every_accepted_text_is_stored_exactly(db: Database) -> None:
    kinds = [bounds.SmId, bounds.Label, bounds.Name, bounds.FreeText, bounds.MarkingCode]

    @PROPERTY
    @given(kind=st.sampled_from(kinds), value=TEXTS)
    def run(kind: Any, value: str) -> None:
        text = accepted(kind, value)
        if text is not None:
            assert round_trip(db, text, Text()) == text

    run()
