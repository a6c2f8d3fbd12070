"""In-store EAN-13 weight labels: check digit, per-store layouts, parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smbridge.domain.weight_label import (
    DEFAULT_PROFILE,
    WeightLabelError,
    WeightLabelProfile,
    ean13_check_digit,
    is_valid_ean13,
)


def test_the_usual_layout_gives_the_item_and_the_weight_in_kg() -> None:
    label = DEFAULT_PROFILE.parse("2212345015009")  # UI-NOTES.md prints ...002: a bad check digit
    assert label.prefix == "22"
    assert label.item_code == "12345"
    assert label.weight_grams == Decimal(1500)
    assert label.weight_kg == Decimal("1.5")
    assert label.matches_sku("12345")
    assert label.matches_sku("0012345")
    assert not label.matches_sku("12346")


def test_a_real_product_barcode_check_digit() -> None:
    assert ean13_check_digit("460123456789") == 3
    assert is_valid_ean13("4601234567893")
    assert not is_valid_ean13("4601234567890")


def test_a_bad_check_digit_is_refused_with_a_russian_message() -> None:
    with pytest.raises(WeightLabelError) as refused:
        DEFAULT_PROFILE.parse("2212345015002")
    assert refused.value.code == "bad_check_digit"
    assert "контрольная цифра" in refused.value.message_ru


@pytest.mark.parametrize("code", ["4601234567893", "22123450150", "22a2345015002", ""])
def test_what_is_not_a_label_of_the_profile_is_refused(code: str) -> None:
    assert not DEFAULT_PROFILE.is_label(code)
    with pytest.raises(WeightLabelError) as refused:
        DEFAULT_PROFILE.parse(code)
    assert refused.value.code == "not_a_weight_label"


def test_other_layouts_and_units() -> None:
    six_four = WeightLabelProfile(prefixes=frozenset({"21"}), item_digits=6, weight_digits=4)
    code = six_four.compose("21", "123456", 750)
    assert code.startswith("211234560750")
    label = six_four.parse(code)
    assert (label.item_code, label.weight_grams) == ("123456", Decimal(750))
    assert not six_four.is_label(DEFAULT_PROFILE.compose("22", "1", 1))

    whole = WeightLabelProfile(prefix_digits=0, item_digits=7, weight_digits=5)
    label = whole.parse(whole.compose("27", "2700042", 1234))
    assert (label.item_code, label.weight_grams) == ("2700042", Decimal(1234))

    tens = WeightLabelProfile(grams_per_unit=Decimal(10))
    assert tens.parse(tens.compose("20", "42", 150)).weight_kg == Decimal("1.5")


@pytest.mark.parametrize(
    "fields",
    [
        {"item_digits": 6},  # 13 digits of data
        {"prefixes": frozenset({"46"})},  # not restricted
        {"prefixes": frozenset()},
        {"grams_per_unit": Decimal(0)},
        {"prefix_digits": 3, "item_digits": 4},
    ],
)
def test_a_profile_that_cannot_be_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        WeightLabelProfile(**fields)  # type: ignore[arg-type]


@given(
    prefix=st.integers(20, 29),
    item=st.integers(0, 99_999),
    grams=st.integers(0, 99_999),
)
def test_every_composed_label_parses_back(prefix: int, item: int, grams: int) -> None:
    code = DEFAULT_PROFILE.compose(str(prefix), str(item), grams)
    assert is_valid_ean13(code)
    label = DEFAULT_PROFILE.parse(code)
    assert label.item_code == str(item).zfill(5)
    assert label.weight_grams == grams
    assert label.code == code


@given(
    data=st.text(alphabet="0123456789", min_size=12, max_size=12),
    position=st.integers(0, 12),
    delta=st.integers(1, 9),
)
def test_any_single_digit_misread_is_caught(data: str, position: int, delta: int) -> None:
    code = data + str(ean13_check_digit(data))
    digits = list(code)
    digits[position] = str((int(digits[position]) + delta) % 10)
    assert not is_valid_ean13("".join(digits))
