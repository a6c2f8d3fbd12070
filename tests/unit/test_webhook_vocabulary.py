from __future__ import annotations

import pytest

from smbridge.domain.webhook import EventType, event_key, normalize_event_type


@pytest.mark.parametrize(
    ("raw", "meant"),
    [
        *[(t.value, t) for t in EventType],
        ("order.changed", EventType.ORDER_UPDATED),
        ("order.cancelled", EventType.ORDER_CANCELED),
        (" Order.Created ", EventType.ORDER_CREATED),
        ("ORDER.CANCELLED", EventType.ORDER_CANCELED),
    ],
)
def test_every_spelling_is_understood(raw: str, meant: EventType) -> None:
    assert normalize_event_type(raw) is meant


@pytest.mark.parametrize("raw", ["order.rated", "", "order", "store.updated"])
def test_unknown_types(raw: str) -> None:
    assert normalize_event_type(raw) is None


def test_event_key_ignores_key_order_but_not_content() -> None:
    base = event_key("order.paid", {"originalOrderId": "H1", "total": {"a": 1, "b": 2}}, None)
    assert base == event_key(
        "order.paid", {"total": {"b": 2, "a": 1}, "originalOrderId": "H1"}, None
    )
    assert base != event_key(
        "order.paid", {"originalOrderId": "H2", "total": {"a": 1, "b": 2}}, None
    )
    assert base != event_key(
        "order.updated", {"originalOrderId": "H1", "total": {"a": 1, "b": 2}}, None
    )
    assert base != event_key(
        "order.paid",
        {"originalOrderId": "H1", "total": {"a": 1, "b": 2}},
        "2026-11-28T12:00:00+03:00",
    )
