"""A scan finds the line it counts: by barcode, by weight label, by marking code."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smbridge.domain.marking_code import GS
from smbridge.domain.scan import PickAction, ScanError, ScanLine, match_scan, pick_path
from smbridge.domain.weight_label import DEFAULT_PROFILE

MILK = "4601234567893"
MILK_A = ScanLine(1, MILK, "Молоко", Decimal(2), weighed=False)
BANANAS = ScanLine(2, "12345", "Бананы весовые", Decimal(1), weighed=True)
MILK_B = ScanLine(3, MILK, "Молоко", Decimal(1), weighed=False)
CODE = f"01{'0' + MILK}21AbC123{GS}93dGVz"


def test_a_barcode_counts_one_more_of_its_line() -> None:
    assert match_scan([MILK_A, BANANAS], MILK) == PickAction(1, Decimal(1))
    picked_one = ScanLine(1, MILK, "Молоко", Decimal(2), weighed=False, picked_quantity=Decimal(1))
    assert match_scan([picked_one], MILK) == PickAction(1, Decimal(2))
    assert match_scan([MILK_A], "0" + MILK) == PickAction(1, Decimal(1))  # as a GTIN-14


def test_lines_sharing_a_product_fill_in_pick_path_order() -> None:
    done = ScanLine(1, MILK, "Молоко", Decimal(2), weighed=False, picked_quantity=Decimal(2))
    assert match_scan([done, BANANAS, MILK_B], MILK).line_no == 3
    all_done = ScanLine(3, MILK, "Молоко", Decimal(1), weighed=False, picked_quantity=Decimal(1))
    with pytest.raises(ScanError) as refused:
        match_scan([done, all_done], MILK)
    assert refused.value.code == "already_picked"


def test_known_barcodes_win_over_the_sku() -> None:
    line = ScanLine(1, "SKU-1", "Сыр", Decimal(1), weighed=False, barcodes=("2000000000015",))
    assert match_scan([line], "2000000000015").line_no == 1
    with pytest.raises(ScanError):
        match_scan([line], "SKU-1")


def test_a_weight_label_brings_the_weight_of_its_line() -> None:
    label = DEFAULT_PROFILE.compose("22", "12345", 1310)
    assert match_scan([MILK_A, BANANAS], label) == PickAction(2, Decimal(1), Decimal(1310))
    weighed_once = ScanLine(
        2,
        "12345",
        "Бананы",
        Decimal(1),
        weighed=True,
        picked_quantity=Decimal(1),
        picked_weight_grams=Decimal(500),
    )
    assert match_scan([weighed_once], label).weight_grams == Decimal(1810)  # a second pack


def test_a_misread_or_foreign_label_is_refused() -> None:
    label = DEFAULT_PROFILE.compose("22", "12345", 1310)
    bad = label[:-1] + str((int(label[-1]) + 1) % 10)
    with pytest.raises(ScanError) as refused:
        match_scan([BANANAS], bad)
    assert refused.value.code == "bad_check_digit"
    with pytest.raises(ScanError) as refused:
        match_scan([BANANAS], DEFAULT_PROFILE.compose("22", "99999", 1310))
    assert refused.value.code == "not_in_order"


def test_a_weighed_line_found_by_its_barcode_asks_for_the_weight() -> None:
    cheese = ScanLine(4, "4600000000017", "Сыр весовой", Decimal(1), weighed=True)
    action = match_scan([cheese], "4600000000017")
    assert action.needs_weight
    assert action.line_no == 4


def test_a_marking_code_is_kept_on_its_line_and_counts_a_unit() -> None:
    action = match_scan([MILK_A], CODE.replace(GS, "<GS>"))
    assert action == PickAction(1, Decimal(1), None, (CODE,))
    with_code = ScanLine(
        1,
        MILK,
        "Молоко",
        Decimal(2),
        weighed=False,
        picked_quantity=Decimal(1),
        marking_codes=(CODE,),
    )
    with pytest.raises(ScanError) as refused:
        match_scan([with_code], CODE)
    assert refused.value.code == "code_already_scanned"


def test_a_marking_code_without_its_gs_is_refused() -> None:
    with pytest.raises(ScanError) as refused:
        match_scan([MILK_A], CODE.replace(GS, ""))
    assert refused.value.code == "missing_gs"


def test_an_unknown_product_is_never_counted() -> None:
    with pytest.raises(ScanError) as refused:
        match_scan([MILK_A, BANANAS], "4600000000000")
    assert refused.value.code == "not_in_order"
    with pytest.raises(ScanError):
        match_scan([MILK_A], "   ")


def test_pick_path_goes_by_zone_then_name() -> None:
    lines = [
        ScanLine(1, "1", "Яблоки", Decimal(1), weighed=False),
        ScanLine(2, "2", "Пельмени", Decimal(1), weighed=False, zone="9 заморозка"),
        ScanLine(3, "3", "бананы", Decimal(1), weighed=False),
        ScanLine(4, "4", "Хлеб", Decimal(1), weighed=False, zone="1 хлеб"),
    ]
    assert [line.line_no for line in pick_path(lines)] == [4, 2, 3, 1]


_LINES = st.lists(
    st.builds(
        ScanLine,
        line_no=st.integers(1, 50),
        sku=st.sampled_from([MILK, "12345", "777"]),
        name=st.sampled_from(["Молоко", "Бананы", "Хлеб"]),
        quantity=st.integers(1, 5).map(Decimal),
        weighed=st.booleans(),
        picked_quantity=st.none() | st.integers(0, 5).map(Decimal),
        zone=st.none() | st.sampled_from(["1", "2"]),
    ),
    max_size=8,
    unique_by=lambda line: line.line_no,
)


@given(lines=_LINES, scanned=st.sampled_from([MILK, "12345", "777", "4600000000000"]))
def test_a_scan_counts_an_open_line_of_its_product_or_is_refused(
    lines: list[ScanLine], scanned: str
) -> None:
    try:
        action = match_scan(lines, scanned)
    except ScanError:
        assert all(line.fully_picked for line in lines if line.sku == scanned)
        return
    line = next(line for line in lines if line.line_no == action.line_no)
    assert line.sku == scanned
    assert not line.fully_picked
    earlier = pick_path(lines)[: pick_path(lines).index(line)]
    assert all(other.fully_picked for other in earlier if other.sku == scanned)
    if not line.weighed:
        assert action.quantity == (line.picked_quantity or 0) + 1 <= line.quantity
