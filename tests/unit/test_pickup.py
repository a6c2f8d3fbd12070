"""Self-pickup orders in the pure domain: the delivery type, the handout code, the guard
against guessing and the pickup path of the status machine (no database)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from smbridge.domain import notification
from smbridge.domain.assembly import AssemblyError
from smbridge.domain.order import Order
from smbridge.domain.order_change import Effect
from smbridge.domain.pickup import (
    HANDOUT_LENGTH,
    DeliveryType,
    HandoutCheck,
    HandoverPolicy,
    delivery_type,
    new_handout_code,
    same_code,
)
from smbridge.domain.status import OrderStatus, TransitionRefused, allowed_targets, check_transition
from tests.unit.test_order import order

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
POLICY = HandoverPolicy(max_wrong_tries=3, lock_for=timedelta(minutes=15))


def pickup(status: OrderStatus = OrderStatus.READY, **fields: object) -> Order:
    return order(status, shipment_method="pickup", **fields)


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("pickup", DeliveryType.PICKUP),
        (" Pickup ", DeliveryType.PICKUP),
        ("by_courier", DeliveryType.COURIER),
        ("", DeliveryType.COURIER),
        (None, DeliveryType.COURIER),
    ],
)
def test_the_delivery_type_comes_from_sms_shipment_method(
    method: str | None, expected: DeliveryType
) -> None:
    assert delivery_type(method) is expected


def test_a_code_is_six_digits_and_skips_the_codes_in_use() -> None:
    draws = itertools.chain("111111", "111111", "222222")
    code = new_handout_code({"111111"}, choice=lambda _alphabet: next(draws))
    assert code == "222222"
    fresh = new_handout_code(set())
    assert len(fresh) == HANDOUT_LENGTH
    assert fresh.isdigit()


def test_codes_follow_nothing_of_the_order() -> None:
    """Drawn by ``secrets``: 200 draws give (almost surely) 200 different codes."""
    assert len({new_handout_code(set()) for _ in range(200)}) > 190


def test_no_free_code_is_an_error_not_a_duplicate() -> None:
    with pytest.raises(RuntimeError):
        new_handout_code({"000000"}, choice=lambda _alphabet: "0")


def test_staff_may_type_spaces_and_dashes() -> None:
    assert same_code("123 456", "123456")
    assert same_code("123-456", "123456")
    assert not same_code("123457", "123456")


def test_a_pickup_order_never_goes_to_a_courier() -> None:
    assert OrderStatus.HANDED_OVER not in allowed_targets(OrderStatus.READY, pickup=True)
    assert OrderStatus.DELIVERED in allowed_targets(OrderStatus.READY, pickup=True)
    with pytest.raises(TransitionRefused):
        check_transition(OrderStatus.READY, OrderStatus.HANDED_OVER, pickup=True)
    made = pickup()
    assert made.hand_over(NOW).effect is Effect.REFUSED
    assert made.status is OrderStatus.READY


def test_the_code_comes_once_at_assembly_and_ready_waits_for_it() -> None:
    made = pickup(OrderStatus.ASSEMBLED)
    made.positions.clear()  # nothing left to pick
    with pytest.raises(AssemblyError) as refused:
        made.mark_ready(NOW)
    assert refused.value.code == "no_handout_code"
    assert made.give_handout_code("123456", NOW)
    assert not made.give_handout_code("654321", NOW)
    made.mark_ready(NOW)
    payload = notification.ready_for_delivery(made)
    assert payload["handoutCode"] == "123456"
    assert notification.pickup_code_created(made) == {"order_id": "H1", "code": "123456"}


def test_a_courier_order_has_no_code() -> None:
    made = order(OrderStatus.ASSEMBLED)
    with pytest.raises(AssemblyError) as refused:
        made.give_handout_code("123456", NOW)
    assert refused.value.code == "not_pickup"
    with pytest.raises(AssemblyError):
        order(OrderStatus.READY).check_handout_code("123456", NOW, POLICY)


def test_wrong_codes_count_then_lock_then_the_right_code_hands_over() -> None:
    made = pickup(handout_code="123456")
    assert made.check_handout_code("000000", NOW, POLICY) is HandoutCheck.WRONG
    assert made.check_handout_code("000001", NOW, POLICY) is HandoutCheck.WRONG
    assert made.handout_wrong_tries == 2
    assert made.check_handout_code("000002", NOW, POLICY) is HandoutCheck.LOCKED_NOW
    assert made.handout_locked_until == NOW + POLICY.lock_for
    later = NOW + timedelta(minutes=14)
    assert made.check_handout_code("123456", later, POLICY) is HandoutCheck.LOCKED
    after = NOW + POLICY.lock_for
    assert made.check_handout_code("123456", after, POLICY) is HandoutCheck.RIGHT
    assert made.hand_to_customer(after).effect is Effect.APPLIED
    assert (made.status, made.delivered_at) == (OrderStatus.DELIVERED, after)
    assert made.handout_wrong_tries == 0
    assert made.handout_locked_until is None


@pytest.mark.parametrize("status", [OrderStatus.ASSEMBLED, OrderStatus.CANCELLED])
def test_only_a_ready_pickup_order_is_handed_out(status: OrderStatus) -> None:
    with pytest.raises(AssemblyError) as refused:
        pickup(status, handout_code="123456").check_handout_code("123456", NOW, POLICY)
    assert refused.value.code == "wrong_status"
