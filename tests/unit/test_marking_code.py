"""Честный ЗНАК DataMatrix codes: parsed by their separators, whatever form the GS took."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smbridge.domain.marking_code import GS, MarkingCodeError, looks_like_marking_code, parse

GTIN = "04601234567893"
SERIAL = "5Ab91Cd92eF!x"  # 13 characters, the digits 91 and 92 inside
TAIL = "A" * 43 + "="
CODE = f"01{GTIN}21{SERIAL}{GS}91EE06{GS}92{TAIL}"


def test_a_full_code_is_split_by_its_separators() -> None:
    code = parse(CODE)
    assert (code.gtin, code.serial, code.key, code.crypto) == (GTIN, SERIAL, "EE06", TAIL)
    assert code.ean13 == "4601234567893"
    assert code.raw == CODE
    assert code.net_weight_grams is None


@pytest.mark.parametrize(
    "scanned",
    [
        CODE.replace(GS, "<GS>"),
        CODE.replace(GS, "<gs>"),
        CODE.replace(GS, "\\u001d"),
        "]d2" + CODE,
        GS + CODE,
        "]d2" + CODE.replace(GS, "<GS>") + "\r\n",
    ],
)
def test_the_forms_scanners_send_are_kept_as_one_code(scanned: str) -> None:
    assert parse(scanned).raw == CODE


def test_a_dairy_code_with_a_short_tail_and_a_net_weight() -> None:
    code = parse(f"01{GTIN}21AbC123{GS}93dGVz{GS}3103001500")
    assert (code.serial, code.crypto, code.key) == ("AbC123", "dGVz", None)
    assert code.net_weight_grams == Decimal(1500)
    assert parse(f"01{GTIN}21AbC123{GS}3102001500").net_weight_grams == Decimal(15000)


@pytest.mark.parametrize(
    "scanned",
    [
        CODE.replace(GS, ""),  # the scanner dropped the separators
        f"01{GTIN}21AbC12393dGVz",  # dairy without its GS
        f"01{GTIN}21{SERIAL}91EE0692{TAIL}",
    ],
)
def test_a_code_that_lost_its_separator_is_refused_saying_so(scanned: str) -> None:
    with pytest.raises(MarkingCodeError) as refused:
        parse(scanned)
    assert refused.value.code == "missing_gs"
    assert "GS" in refused.value.message_ru


@pytest.mark.parametrize(
    ("scanned", "why"),
    [
        ("4601234567893", "not_a_marking_code"),
        (f"01{GTIN}17AbC", "no_serial"),
        (f"01{GTIN}21AbC123{GS}99xyz", "unknown_ai"),
        (f"01{GTIN}21AbC123{GS}3103abc", "bad_field"),
        (f"01{GTIN}21Ab\u0421123", "bad_characters"),  # a Cyrillic С: wrong keyboard layout
    ],
)
def test_broken_codes_are_refused(scanned: str, why: str) -> None:
    with pytest.raises(MarkingCodeError) as refused:
        parse(scanned)
    assert refused.value.code == why
    assert refused.value.message_ru


_PRINTABLE = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1)


@given(
    gtin=st.text(alphabet="0123456789", min_size=14, max_size=14),
    serial=_PRINTABLE.filter(lambda s: len(s) <= 20),
    key=st.text(alphabet="ABCDEF0123456789", min_size=4, max_size=4),
    tail=_PRINTABLE.filter(lambda s: len(s) <= 88),
    form=st.sampled_from([GS, "<GS>", "\\u001d"]),
)
def test_every_well_formed_code_parses_back(
    gtin: str, serial: str, key: str, tail: str, form: str
) -> None:
    raw = f"01{gtin}21{serial}{GS}91{key}{GS}92{tail}"
    code = parse(raw.replace(GS, form))
    assert (code.gtin, code.serial, code.key, code.crypto, code.raw) == (
        gtin,
        serial,
        key,
        tail,
        raw,
    )
    assert looks_like_marking_code(raw)
