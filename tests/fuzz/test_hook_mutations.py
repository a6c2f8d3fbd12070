"""Property: SM's own webhook fixtures, with any one value replaced by something hostile,
never get a 5xx, every 4xx is a JSON error, and nothing is journaled as failed."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from smbridge.entrypoints.hook_app import create_hook_app
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from tests.e2e.hook_client import FIXTURES, HEADERS, HOOK
from tests.factories import add_store
from tests.fuzz.rules import check_answer, failed_from_input, fuzz_settings, report
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.fuzz
EXAMPLES = 300  # per database: about 10 s each on this machine
FUZZ = fuzz_settings(EXAMPLES)
DOCUMENTS = {p.stem: json.loads(p.read_bytes()) for p in sorted(FIXTURES.glob("*.json"))}
DEEP = "__deep__"

# The values the fuzzing of issue 9 found trouble with, and their neighbours.
HOSTILE_TEXT = st.sampled_from(
    [
        "\x00",
        "H77\x0000",
        "\x07bell",
        "\u202eRTL",
        "١٢٣",
        "1_000",
        "1e-20000",
        "1e200000",
        "1e308",
        "NaN",
        "-Infinity",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+14:00",
        "2026-11-29T10:00:00",
        "",
        " ",
        "x" * 70,
        "М" * 5000,
    ]
)
HOSTILE_NUMBER = st.sampled_from([2**31, 2**63, 2**64, -(2**63), -1, 0, 1e308, 1e-300, 0.001])
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
REPLACEMENT = st.one_of(HOSTILE_TEXT, HOSTILE_NUMBER, JSON_VALUE, st.just(DEEP))


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document a value can be replaced."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return found
    for key, value in items:
        found.extend(paths(value, (*prefix, key)))
    return found


def mutated(document: Any, path: tuple[Any, ...], value: object) -> bytes:
    copy = json.loads(json.dumps(document))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    text = json.dumps(copy, ensure_ascii=False)
    return text.replace(f'"{DEEP}"', "[" * 300 + "]" * 300).encode()


@st.composite
def hostile_webhooks(draw: st.DrawFn) -> bytes:
    document = DOCUMENTS[draw(st.sampled_from(sorted(DOCUMENTS)))]
    path = draw(st.sampled_from(paths(document)))
    return mutated(document, path, draw(REPLACEMENT))


def test_hostile_values_in_sm_fixtures_never_get_a_5xx_nor_fail_for_good(
    db: Database, settings: Settings
) -> None:
    add_store(db, "101")
    statuses: Counter[int] = Counter()
    with TestClient(create_hook_app(settings, db, clock=FrozenClock())) as client:
        created = client.post(
            HOOK, content=(FIXTURES / "order.created.json").read_bytes(), headers=HEADERS
        )
        assert created.status_code == 200  # later events find their order

        @FUZZ
        @given(body=hostile_webhooks())
        def run(body: bytes) -> None:
            response = client.post(HOOK, content=body, headers=HEADERS)
            statuses[response.status_code] += 1
            content_type = response.headers.get("content-type", "")
            check_answer(response.status_code, content_type, response.content, "hook")

        run()
    report("hook (mutated SM fixtures)", db, statuses)
    assert statuses[400] > 0
    assert statuses[200] > 0
    assert failed_from_input(db) == 0
