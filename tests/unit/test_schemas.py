"""Parsing SM's webhook bodies at the edge: exact decimals, lenient extras, clear errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest

from smbridge.domain.webhook import EventType
from smbridge.intake.events import BadWebhook, parse_webhook
from tests.factories import envelope, order_payload, position, weighed_position

PHONE = "+79991111111"


def created(**fields: Any) -> bytes:
    return envelope("order.created", order_payload(**fields))


def refused(body: bytes) -> BadWebhook:
    with pytest.raises(BadWebhook) as bad:
        parse_webhook(body)
    return bad.value


def locations(bad: BadWebhook) -> list[str]:
    return [d["loc"] for d in bad.details]


def test_a_complete_order_created() -> None:
    hook = parse_webhook(created())
    assert (hook.raw_type, hook.kind, hook.sm_order_id) == (
        "order.created",
        EventType.ORDER_CREATED,
        "H1234567890",
    )
    data = hook.data
    assert data is not None
    assert (data.sm_order_id, data.sm_store_id, data.header.sm_uuid) == (
        "H1234567890",
        "101",
        "uuid-H1234567890",
    )
    assert data.header.customer == {"name": "Иван Петров", "phone": PHONE}
    assert data.header.delivery_from == datetime(
        2026, 11, 29, 10, 0, tzinfo=timezone(timedelta(hours=3))
    )
    assert data.header.delivery_from is not None
    assert data.header.delivery_from.utcoffset() == timedelta(hours=3)
    assert (data.header.is_planned, data.header.payment_methods) == (True, ("card_online",))
    assert (data.header.total_price, data.header.discount_total_price) == (
        Decimal("328.55"),
        Decimal("308.55"),
    )
    assert data.lines is not None
    assert [p.sku for p in data.lines] == ["100500", "200300"]


def test_money_and_weights_are_exact_decimals() -> None:
    payload = order_payload(
        positions=[position(price="0.10", quantity=1.5), weighed_position(grams="1250.5")],
        deliveryCost="149.90",
    )
    hook = parse_webhook(envelope("order.created", payload))
    assert hook.data is not None
    assert hook.data.lines is not None
    first, second = hook.data.lines
    assert (first.price, first.quantity) == (Decimal("0.10"), Decimal("1.5"))
    assert str(first.price) == "0.10"  # the trailing zero is kept: exact, not a float
    assert type(first.quantity) is Decimal
    assert second.weight_grams == Decimal("1250.5")
    assert type(second.weight_grams) is Decimal
    assert (second.total_price, second.original_quantity) == (Decimal("148.75"), Decimal(1))
    assert hook.data.header.discount_total_price == Decimal("308.55")
    assert hook.data.header.delivery_cost == Decimal("149.90")


def test_money_given_as_json_numbers_keeps_its_written_value() -> None:
    payload = order_payload(
        positions=[position(price=0.1, quantity=3), weighed_position(weight=1250.5)]
    )
    hook = parse_webhook(envelope("order.created", payload))
    assert hook.data is not None
    assert hook.data.lines is not None
    assert hook.data.lines[0].price == Decimal("0.1")  # not 0.1000000000000000055...
    assert hook.data.lines[1].weight_grams == Decimal("1250.5")


def test_original_quantity_defaults_to_the_quantity() -> None:
    hook = parse_webhook(created(positions=[position(originalQuantity=None, quantity=4)]))
    assert hook.data is not None
    assert hook.data.lines is not None
    assert hook.data.lines[0].original_quantity == Decimal(4)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", "abc"])
def test_not_a_number_is_refused(value: str) -> None:
    bad = refused(created(positions=[position(price=value)]))
    assert bad.code == "invalid_payload"
    assert locations(bad) == ["payload.positions.0.price"]


def test_a_negative_quantity_is_refused() -> None:
    assert locations(refused(created(positions=[position(quantity=-1)]))) == [
        "payload.positions.0.quantity"
    ]


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_money_is_none(blank: str) -> None:
    payload = order_payload(
        positions=[position(discountPrice=blank, price=blank)],
        deliveryCost=blank,
        total={"totalPrice": blank, "discountTotalPrice": "10.00"},
    )
    hook = parse_webhook(envelope("order.created", payload))
    assert hook.data is not None
    assert hook.data.lines is not None
    assert (hook.data.lines[0].price, hook.data.lines[0].discount_price) == (None, None)
    assert hook.data.lines[0].total_price == Decimal("179.80")
    assert (hook.data.header.delivery_cost, hook.data.header.total_price) == (None, None)
    assert hook.data.header.discount_total_price == Decimal("10.00")


def test_numbers_for_ids_become_strings() -> None:
    payload = order_payload(storeID=101, positions=[position(id=100500)])
    hook = parse_webhook(envelope("order.created", payload))
    assert hook.data is not None
    assert hook.data.lines is not None
    assert hook.data.sm_store_id == "101"
    assert hook.data.lines[0].sku == "100500"
    paid = parse_webhook(envelope("order.paid", {"originalOrderId": 1234567890}))
    assert paid.sm_order_id == "1234567890"
    assert paid.data is not None
    assert paid.data.sm_order_id == "1234567890"


def test_unknown_fields_are_accepted_and_the_raw_body_kept() -> None:
    body = envelope(
        "order.created",
        order_payload(loyalty={"level": 3}, positions=[position(promo=["x"])]),
        extra="x",
    )
    hook = parse_webhook(body)
    assert hook.kind is EventType.ORDER_CREATED
    assert hook.body == body.decode()
    assert hook.data is not None
    assert hook.data.lines is not None
    assert len(hook.data.lines) == 1


def test_old_spellings_are_understood_and_the_raw_type_kept() -> None:
    hook = parse_webhook(envelope("order.changed", {"originalOrderId": "H1", "comment": "x"}))
    assert (hook.raw_type, hook.kind) == ("order.changed", EventType.ORDER_UPDATED)
    cancelled = parse_webhook(
        envelope(
            "order.cancelled",
            {"originalOrderId": "H1", "cancellation": {"slug": "no_stock", "description": "Нет"}},
        )
    )
    assert cancelled.kind is EventType.ORDER_CANCELED
    assert cancelled.data is not None
    assert cancelled.data.cancellation_reason == "no_stock"


def test_an_update_without_positions_says_so() -> None:
    hook = parse_webhook(envelope("order.updated", {"originalOrderId": "H1"}))
    assert hook.data is not None
    assert (hook.data.lines, hook.data.header.payment_methods, hook.data.header.comment) == (
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"positions": []},
        {"positions": None},
        {"storeID": None, "storeImportKey": None},
        {"storeID": ""},
    ],
)
def test_a_new_order_without_positions_or_store_is_taken_in(fields: dict[str, Any]) -> None:
    """SM retries a 400 for ever: the service answers "created", then cancels such an order."""
    hook = parse_webhook(created(**fields))
    assert hook.kind is EventType.ORDER_CREATED
    assert hook.data is not None
    assert not hook.data.lines or not hook.data.sm_store_id


@pytest.mark.parametrize("missing", ["positions", "storeID"])
def test_a_new_order_with_a_field_left_out_is_taken_in(missing: str) -> None:
    payload = order_payload()
    del payload[missing]
    hook = parse_webhook(envelope("order.created", payload))
    assert hook.data is not None
    assert (hook.data.lines, hook.data.sm_store_id)[missing == "storeID"] is None


def test_the_stores_own_key_is_enough() -> None:
    payload = order_payload(storeImportKey="shop-7")
    del payload["storeID"]
    hook = parse_webhook(envelope("order.created", payload))
    assert hook.data is not None
    assert (hook.data.sm_store_id, hook.data.sm_import_key) == (None, "shop-7")


def test_other_events_need_neither_positions_nor_a_store() -> None:
    hook = parse_webhook(envelope("order.paid", {"originalOrderId": "H1", "positions": []}))
    assert hook.kind is EventType.ORDER_PAID


@pytest.mark.parametrize(
    "body", [b"{oops", b"", b'{"event_type": "order.paid"', b"\xff\xfe", b"NaN"]
)
def test_invalid_json(body: bytes) -> None:
    bad = refused(body)
    assert bad.code == "invalid_json"


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'"order.paid"',
        b'{"payload": {"originalOrderId": "H1"}}',
        b'{"event_type": "order.paid"}',
        b'{"event_type": "order.paid", "payload": []}',
        b'{"event_type": "", "payload": {}}',
    ],
)
def test_not_an_envelope(body: bytes) -> None:
    assert refused(body).code == "invalid_payload"


@pytest.mark.parametrize("order_id", [None, "", "   "])
def test_missing_order_id(order_id: str | None) -> None:
    payload: dict[str, Any] = {"total": {}}
    if order_id is not None:
        payload["originalOrderId"] = order_id
    bad = refused(envelope("order.paid", payload))
    assert bad.code == "invalid_payload"
    assert locations(bad) == ["payload.originalOrderId"]


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"delivery": {"expectedFrom": "2026-11-29T10:00:00"}}, "payload.delivery.expectedFrom"),
        ({"delivery": {"expectedTo": "2026-11-29T11:00:00"}}, "payload.delivery.expectedTo"),
        ({"completeBefore": "2026-11-29T09:00:00"}, "payload.completeBefore"),
    ],
)
def test_naive_times_are_refused(fields: dict[str, Any], where: str) -> None:
    assert locations(refused(created(**fields))) == [where]


def test_utc_times_are_accepted() -> None:
    hook = parse_webhook(created(delivery={"expectedFrom": "2026-11-29T07:00:00Z"}))
    assert hook.data is not None
    assert hook.data.header.delivery_from == datetime(
        2026, 11, 29, 10, 0, tzinfo=timezone(timedelta(hours=3))
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"customer": f"{PHONE} Иван Петров"},  # not an object
        {"comment": {"phone": PHONE}},  # not a string
        {"positions": [position(price=PHONE + "x")]},
        {"delivery": {"expectedFrom": f"call {PHONE}"}},
        {"address": [PHONE, "Москва, ул. Ленина, д. 1"]},
    ],
)
def test_errors_never_echo_the_input(fields: dict[str, Any]) -> None:
    bad = refused(created(**fields))
    assert bad.details
    for text in (str(bad.details), orjson.dumps(bad.details).decode(), bad.message, str(bad)):
        assert "79991111111" not in text
        assert "Ленина" not in text


def test_unknown_types_are_not_shape_checked() -> None:
    hook = parse_webhook(envelope("order.rated", {"rating": "five"}))
    assert (hook.kind, hook.data, hook.sm_order_id) == (None, None, None)
    assert hook.raw_type == "order.rated"


def test_unknown_types_still_name_their_order_when_they_can() -> None:
    hook = parse_webhook(envelope("order.rated", {"originalOrderId": "H9", "positions": "many"}))
    assert (hook.kind, hook.data, hook.sm_order_id) == (None, None, "H9")


def test_the_same_event_resent_differently_formatted_has_the_same_key() -> None:
    first = (
        b'{"event_type": "order.paid",\n'
        b' "payload": {"originalOrderId": "H1", "paymentState": "paid"}}'
    )
    again = b'{"payload":{"paymentState":"paid","originalOrderId":"H1"},"event_type":"order.paid"}'
    other = b'{"payload":{"paymentState":"paid","originalOrderId":"H2"},"event_type":"order.paid"}'
    assert parse_webhook(first).key == parse_webhook(again).key
    assert parse_webhook(first).key != parse_webhook(other).key
