"""The SM emulator checks notifications as strictly as SM-API.md §2 describes."""

from __future__ import annotations

from typing import Any

import pytest

from smbridge.emulators.sm import rules
from smbridge.emulators.sm.rules import Refused

WEIGHED = {"100505"}


def event(kind: str, **payload: Any) -> dict[str, Any]:
    return {"event": {"type": kind, "payload": {"order_id": "H1", **payload}}}


def contents(*positions: dict[str, Any]) -> dict[str, Any]:
    return {"order": {"originalOrderId": "H1", "positions": list(positions)}}


def check(body: object) -> None:
    kind, payload = rules.parse(body)
    rules.check_fields(kind, payload, WEIGHED)


@pytest.mark.parametrize(
    "body",
    [
        event("order.accepted", number="SM1", estimated_assembly_at="2026-11-28T12:00:00+03:00"),
        event("order.in_work"),
        event("order.assembled"),
        event("order.pickup_code_created", code="1234"),
        event("order.canceled", reason="out_of_stock"),
        event(
            "order.ready_for_delivery",
            **contents(
                {"id": "100500", "quantity": 0, "replacedByID": "100501"},
                {"id": "100501", "quantity": 2, "markingCode": [{"value": "0104600"}]},
                {"id": "100505", "quantity": 1, "weight": "1187"},
                {"id": "100506", "quantity": 1.5},
            ),
        ),
    ],
)
def test_valid_notifications_pass(body: dict[str, Any]) -> None:
    check(body)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"type": "order.in_work"}, "event"),
        (event("order.shipped"), "unknown event type"),
        ({"event": {"type": "order.in_work", "payload": {}}}, "order_id"),
        (event("order.accepted", estimated_assembly_at="2026-11-28T12:00:00+03:00"), "number"),
        (
            event("order.accepted", number="SM1", estimated_assembly_at="2026-11-28T12:00:00"),
            "offset",
        ),
        (event("order.pickup_code_created"), "code"),
        (event("order.canceled"), "reason"),
        (event("order.ready_for_delivery"), "originalOrderId"),
        (event("order.ready_for_delivery", **contents()), "final contents"),
        (event("order.ready_for_delivery", **contents({"id": 100500, "quantity": 1})), "id"),
        (event("order.ready_for_delivery", **contents({"id": "1", "quantity": "2"})), "quantity"),
        (event("order.ready_for_delivery", **contents({"id": "1", "quantity": True})), "quantity"),
        (
            event("order.ready_for_delivery", **contents({"id": "100505", "quantity": 1})),
            "weight is required",
        ),
        (
            event(
                "order.ready_for_delivery",
                **contents({"id": "100505", "quantity": 1, "weight": 1187}),
            ),
            "string of grams",
        ),
        (
            event(
                "order.ready_for_delivery",
                **contents({"id": "1", "quantity": 1, "markingCode": ["010"]}),
            ),
            "markingCode",
        ),
        (
            event(
                "order.ready_for_delivery",
                **contents({"id": "1", "quantity": 0, "replacedByID": "2"}),
            ),
            "does not travel",
        ),
    ],
)
def test_invalid_notifications_are_refused_with_a_reason(body: object, words: str) -> None:
    with pytest.raises(Refused, match=words):
        check(body)


# --- self-pickup (SM-API.md §2): the order's delivery type and what SM accepted before ----

PICKUP_LIFE = ["order.accepted", "order.in_work", "order.assembled", "order.pickup_code_created"]


@pytest.mark.parametrize(
    ("kind", "pickup", "seen"),
    [
        ("order.pickup_code_created", True, ["order.accepted", "order.in_work"]),
        ("order.ready_for_delivery", True, PICKUP_LIFE),
        ("order.delivered", True, [*PICKUP_LIFE, "order.ready_for_delivery"]),
        ("order.ready_for_delivery", False, ["order.accepted", "order.in_work"]),
        ("order.canceled", True, PICKUP_LIFE),
    ],
)
def test_a_pickup_orders_life_passes(kind: str, pickup: bool, seen: list[str]) -> None:
    rules.check_delivery_type(kind, pickup, seen)


@pytest.mark.parametrize(
    ("kind", "pickup", "seen", "words"),
    [
        ("order.ready_for_delivery", True, ["order.in_work"], "must come before"),
        ("order.delivered", True, PICKUP_LIFE, "before order.ready_for_delivery"),
        ("order.delivered", False, ["order.ready_for_delivery"], "only for self-pickup"),
        ("order.pickup_code_created", False, ["order.in_work"], "only for self-pickup"),
        ("order.delivering", True, [*PICKUP_LIFE, "order.ready_for_delivery"], "not sent"),
        ("order.delivering", False, ["order.ready_for_delivery"], "not sent"),
    ],
)
def test_pickup_rules_are_strict(kind: str, pickup: bool, seen: list[str], words: str) -> None:
    with pytest.raises(Refused, match=words):
        rules.check_delivery_type(kind, pickup, seen)


def test_handout_code_travels_only_where_sm_allows_it() -> None:
    check(
        event(
            "order.ready_for_delivery", handoutCode="123456", **contents({"id": "1", "quantity": 1})
        )
    )
    check(event("order.in_work", handoutCode="123456"))
    with pytest.raises(Refused, match="handoutCode"):
        check(event("order.assembled", handoutCode="123456"))
    with pytest.raises(Refused, match="handoutCode"):
        check(event("order.in_work", handoutCode=""))
