"""SM's event types in all their spellings, and the identity of one event."""

from __future__ import annotations

import pytest

from smbridge.domain.webhook import EventType, event_key, normalize_event_type

# Written out from SM-API.md §1, independently of the code under test.
SM_TYPES = {
    "order.created": EventType.ORDER_CREATED,
    "order.updated": EventType.ORDER_UPDATED,
    "order.changed": EventType.ORDER_UPDATED,
    "order.paid": EventType.ORDER_PAID,
    "order.received": EventType.ORDER_RECEIVED,
    "order.delivering": EventType.ORDER_DELIVERING,
    "order.delivered": EventType.ORDER_DELIVERED,
    "order.canceled": EventType.ORDER_CANCELED,
    "order.cancelled": EventType.ORDER_CANCELED,
    "courier.assigned": EventType.COURIER_ASSIGNED,
    "courier.arrived": EventType.COURIER_ARRIVED,
}


def test_every_known_type_has_a_spelling() -> None:
    assert set(SM_TYPES.values()) == set(EventType)


@pytest.mark.parametrize(("raw", "meant"), sorted(SM_TYPES.items()))
def test_every_spelling_is_understood(raw: str, meant: EventType) -> None:
    assert normalize_event_type(raw) is meant


@pytest.mark.parametrize(
    ("raw", "meant"),
    [
        (" Order.Created ", EventType.ORDER_CREATED),
        ("ORDER.CANCELLED", EventType.ORDER_CANCELED),
        ("Order.Changed", EventType.ORDER_UPDATED),
        ("\torder.paid\n", EventType.ORDER_PAID),
        ("COURIER.ARRIVED", EventType.COURIER_ARRIVED),
    ],
)
def test_case_and_surrounding_whitespace_do_not_matter(raw: str, meant: EventType) -> None:
    assert normalize_event_type(raw) is meant


@pytest.mark.parametrize(
    "raw",
    ["order.rated", "", "   ", "order", "store.updated", "order_created", "order. created", "paid"],
)
def test_unknown_types(raw: str) -> None:
    assert normalize_event_type(raw) is None


PAYLOAD = {"originalOrderId": "H1", "total": {"a": "1.10", "b": 2}, "positions": [{"id": "1"}]}


def test_event_key_is_stable_and_a_sha256() -> None:
    key = event_key("order.paid", PAYLOAD, None)
    assert key == event_key("order.paid", dict(PAYLOAD), None)
    assert len(key) == 64
    int(key, 16)


def test_event_key_ignores_key_order() -> None:
    reordered = {
        "positions": [{"id": "1"}],
        "total": {"b": 2, "a": "1.10"},
        "originalOrderId": "H1",
    }
    assert event_key("order.paid", PAYLOAD, "t") == event_key("order.paid", reordered, "t")


@pytest.mark.parametrize(
    ("raw_type", "payload", "timestamp"),
    [
        ("order.paid", {**PAYLOAD, "originalOrderId": "H2"}, None),
        ("order.paid", {**PAYLOAD, "total": {"a": "1.1", "b": 2}}, None),  # "1.10" != "1.1"
        ("order.paid", {**PAYLOAD, "extra": None}, None),
        ("order.paid", {**PAYLOAD, "positions": [{"id": "1"}, {"id": "1"}]}, None),
        ("order.updated", PAYLOAD, None),
        ("Order.Paid", PAYLOAD, None),  # the type as SM spelled it
        ("order.paid", PAYLOAD, "2026-11-28T12:00:00+03:00"),
        ("order.paid", PAYLOAD, ""),
    ],
)
def test_event_key_differs_when_the_event_differs(
    raw_type: str, payload: dict[str, object], timestamp: object
) -> None:
    assert event_key(raw_type, payload, timestamp) != event_key("order.paid", PAYLOAD, None)
