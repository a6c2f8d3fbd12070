"""Parsing SM's webhook bodies at the edge: exact decimals, lenient extras, clear errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import orjson
import pytest

from smbridge.domain.webhook import EventType
from smbridge.orders.schemas import BadWebhook, parse_webhook
from tests.factories import envelope, order_payload, position, weighed_position


def test_money_and_weights_are_exact_decimals() -> None:
    payload = order_payload(
        positions=[position(price="0.10", quantity=1.5), weighed_position(grams="1250.5")]
    )
    hook = parse_webhook(envelope("order.created", payload))
    assert hook.data is not None
    assert hook.data.positions is not None
    first, second = hook.data.positions
    assert (first.price, first.quantity) == (Decimal("0.10"), Decimal("1.5"))
    assert second.weight_grams == Decimal("1250.5")
    assert hook.data.discount_total_price == Decimal("308.55")


def test_not_a_number_is_refused() -> None:
    with pytest.raises(BadWebhook) as bad:
        parse_webhook(envelope("order.created", order_payload(positions=[position(price="NaN")])))
    assert bad.value.details[0]["loc"] == "payload.positions.0.price"


def test_blank_money_is_none_and_numbers_become_strings() -> None:
    payload = order_payload(storeID=101, positions=[position(id=100500, discountPrice="")])
    hook = parse_webhook(envelope("order.created", payload))
    assert hook.data is not None
    assert hook.data.positions is not None
    assert hook.data.sm_store_id == "101"
    assert hook.data.positions[0].sku == "100500"
    assert hook.data.positions[0].discount_price is None


def test_unknown_fields_are_accepted_and_the_raw_body_kept() -> None:
    body = envelope("order.created", order_payload(loyalty={"level": 3}), extra="x")
    hook = parse_webhook(body)
    assert hook.kind is EventType.ORDER_CREATED
    assert hook.body == body.decode()


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"positions": []}, "payload.positions"),
        ({"storeID": None, "storeImportKey": None}, "payload.storeID"),
    ],
)
def test_a_new_order_needs_positions_and_a_store(payload: dict[str, object], where: str) -> None:
    with pytest.raises(BadWebhook) as bad:
        parse_webhook(envelope("order.created", order_payload(**cast(Any, payload))))
    assert where in [d["loc"] for d in bad.value.details]


def test_invalid_json_and_missing_order_id() -> None:
    with pytest.raises(BadWebhook) as bad:
        parse_webhook(b"{oops")
    assert bad.value.code == "invalid_json"
    with pytest.raises(BadWebhook) as bad:
        parse_webhook(envelope("order.paid", {"total": {}}))
    assert [d["loc"] for d in bad.value.details] == ["payload.originalOrderId"]


def test_naive_delivery_times_are_refused() -> None:
    payload = order_payload(delivery={"expectedFrom": "2026-11-29T10:00:00"})
    with pytest.raises(BadWebhook) as bad:
        parse_webhook(envelope("order.created", payload))
    assert bad.value.details[0]["loc"] == "payload.delivery.expectedFrom"


def test_errors_never_echo_the_input() -> None:
    payload = order_payload(customer="+79991111111 Иван Петров")  # not an object
    with pytest.raises(BadWebhook) as bad:
        parse_webhook(envelope("order.created", payload))
    assert "79991111111" not in orjson.dumps(bad.value.details).decode()
    assert bad.value.details[0]["loc"] == "payload.customer"


def test_unknown_types_are_not_shape_checked() -> None:
    hook = parse_webhook(envelope("order.rated", {"rating": "five"}))
    assert (hook.kind, hook.data, hook.sm_order_id) == (None, None, None)
