"""The store workstation's pure parts: lateness against the deadline, the picking list's
groups and the reading of a scanned line back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from smbridge.ui.store.lateness import Lateness, duration_text, standing
from smbridge.ui.store.picklist import (
    GROUP_PIECES,
    GROUP_WEIGHED,
    NoSuchLine,
    decimal_text,
    find_line,
    groups,
)
from tests.support.clock import FROZEN_NOW

DEADLINE = FROZEN_NOW


@pytest.mark.parametrize(
    ("now", "assembled", "kind", "minutes", "text"),
    [
        (DEADLINE - timedelta(minutes=40), None, Lateness.ON_TIME, 40, "осталось 40 мин"),
        (
            DEADLINE - timedelta(minutes=14, seconds=59),
            None,
            Lateness.NEARING,
            14,
            "осталось 14 мин",
        ),
        (DEADLINE, None, Lateness.NEARING, 0, "осталось 0 мин"),
        (DEADLINE + timedelta(seconds=10), None, Lateness.LATE, 1, "опоздание 1 мин"),
        (
            DEADLINE + timedelta(hours=2),
            DEADLINE - timedelta(minutes=5),
            Lateness.ON_TIME,
            5,
            "в срок",
        ),
        (DEADLINE, DEADLINE + timedelta(minutes=3), Lateness.LATE, 3, "опоздание 3 мин"),
    ],
)
def test_standing(now: Any, assembled: Any, kind: Lateness, minutes: int, text: str) -> None:
    mark = standing(DEADLINE, assembled, now)
    assert (mark.lateness, mark.minutes, mark.text) == (kind, minutes, text)


def test_durations() -> None:
    assert duration_text(0) == "0 мин"
    assert duration_text(59) == "59 мин"
    assert duration_text(125) == "2 ч 05 мин"
    assert duration_text(1305) == "21 ч 45 мин"
    assert duration_text(3 * 1440 + 250) == "3 сут 4 ч"


def _line(line_no: int, sku: str, name: str, **more: Any) -> dict[str, Any]:
    return {"lineNo": line_no, "sku": sku, "name": name, "quantity": "1", **more}


POSITIONS = [
    _line(1, "100500", "Молоко"),
    _line(2, "200300", "Бананы", weightGrams="1250"),
    _line(3, "100500", "Молоко"),
    _line(4, "300400", "Апельсины", weightGrams="900", replacedBySku="300401"),
    _line(5, "300401", "Мандарины", replacesLineNo=4),
    _line(6, "4600000000008", "Арбуз"),
]


def test_the_list_groups_pieces_then_weighed_by_name_without_substitutes() -> None:
    found = groups(POSITIONS)
    assert [group.title for group in found] == [GROUP_PIECES, GROUP_WEIGHED]
    assert [line.line_no for line in found[0].lines] == [6, 1, 3]
    assert [line.line_no for line in found[1].lines] == [4, 2]
    assert found[1].lines[0].replaced
    assert 'data-kind="ean13"' in found[0].lines[0].barcode
    assert 'data-code="100500"' in found[0].lines[1].barcode


def test_a_scan_finds_the_first_line_not_picked_yet() -> None:
    assert find_line(POSITIONS, "100500")["lineNo"] == 1
    picked = [{**POSITIONS[0], "pickedQuantity": "1"}, *POSITIONS[1:]]
    assert find_line(picked, "100500")["lineNo"] == 3
    assert find_line(picked, "100500", 1)["lineNo"] == 1
    with pytest.raises(NoSuchLine):
        find_line(POSITIONS, "300400")  # replaced already
    with pytest.raises(NoSuchLine):
        find_line(POSITIONS, "300401")  # a substitute: not on the printed list
    with pytest.raises(NoSuchLine):
        find_line(POSITIONS, "100500", 2)


def test_typed_numbers() -> None:
    assert decimal_text(" 1,5 ") == "1.5"
    assert decimal_text("") is None
    assert decimal_text("abc") == "abc"
