"""The order and what SM's events and the picker's actions do to it (no database)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smbridge.domain.order import (
    AssemblyError,
    Effect,
    Notice,
    Order,
    OrderData,
    PositionData,
    Substitute,
)
from smbridge.domain.status import FLOW, OrderStatus

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
MILK = PositionData("100500", "Молоко", Decimal(2), Decimal(2), price=Decimal("89.90"))
BANANAS = PositionData(
    "200300", "Бананы", Decimal(1), Decimal(1), price=Decimal("129.00"), weight_grams=Decimal(1250)
)
DATA = OrderData(
    sm_order_id="H1",
    sm_store_id="101",
    comment="Позвонить",
    customer={"name": "Иван", "phone": "+79991111111"},
    total_price=Decimal("327.80"),
    positions=(MILK, BANANAS),
)


def order(status: OrderStatus = OrderStatus.NEW, **fields: object) -> Order:
    made = Order.create(DATA, store_id=1, received_at=NOW, expected_assembly_at=NOW)
    made.status = status.value
    for name, value in fields.items():
        setattr(made, name, value)
    return made


def test_create_takes_header_and_numbers_lines() -> None:
    made = order()
    assert (made.status, made.customer_name, made.customer_phone) == ("new", "Иван", "+79991111111")
    assert [(p.line_no, p.sku, p.is_weighed) for p in made.positions] == [
        (1, "100500", False),
        (2, "200300", True),
    ]
    assert made.total_price == Decimal("327.80")


def test_update_in_new_merges_by_sku_and_keeps_what_sm_left_out() -> None:
    made = order()
    kefir = PositionData("100501", "Кефир", Decimal(1), Decimal(1))
    update = OrderData(sm_order_id="H1", positions=(replace(MILK, quantity=Decimal(3)), kefir))
    outcome = made.apply_update(update, NOW)
    assert outcome == outcome.__class__(Effect.APPLIED)
    assert [(p.line_no, p.sku, p.quantity) for p in made.positions] == [
        (1, "100500", Decimal(3)),
        (2, "200300", Decimal(0)),
        (3, "100501", Decimal(1)),
    ]
    assert made.comment == "Позвонить"  # not sent: kept
    assert made.customer_name == "Иван"
    assert made.changed_by_customer is False


def test_update_without_positions_leaves_them_alone() -> None:
    made = order()
    made.apply_update(OrderData(sm_order_id="H1", comment="Новый"), NOW)
    assert made.comment == "Новый"
    assert len(made.positions) == 2


def test_repeated_sku_lines_are_matched_by_occurrence() -> None:
    data = replace(DATA, positions=(MILK, replace(MILK, quantity=Decimal(5))))
    made = Order.create(data, store_id=1, received_at=NOW, expected_assembly_at=NOW)
    made.apply_update(replace(data, positions=(MILK, replace(MILK, quantity=Decimal(6)))), NOW)
    assert [p.quantity for p in made.positions] == [Decimal(2), Decimal(6)]


def test_update_in_assembly_is_applied_flagged_and_keeps_picking() -> None:
    made = order(OrderStatus.IN_ASSEMBLY)
    made.positions[0].picked_quantity = Decimal(2)
    made.positions[0].marking_codes = ["0104600"]
    outcome = made.apply_update(replace(DATA, positions=(replace(MILK, quantity=Decimal(1)),)), NOW)
    assert (outcome.effect, outcome.notices) == (Effect.APPLIED, (Notice.CHANGED_IN_WORK,))
    assert made.changed_by_customer
    assert made.positions[0].picked_quantity == Decimal(2)
    assert made.positions[0].marking_codes == ["0104600"]
    assert made.positions[0].quantity == Decimal(1)


@pytest.mark.parametrize("status", [OrderStatus.READY, OrderStatus.HANDED_OVER])
def test_update_after_final_contents_is_only_recorded(status: OrderStatus) -> None:
    made = order(status)
    outcome = made.apply_update(replace(DATA, comment="поздно"), NOW)
    assert (outcome.effect, outcome.notices) == (
        Effect.NOT_REGRESSED,
        (Notice.CHANGED_AFTER_READY,),
    )
    assert made.comment == "Позвонить"
    assert made.changed_by_customer


@pytest.mark.parametrize("status", [OrderStatus.DELIVERED, OrderStatus.CANCELLED])
def test_update_of_a_finished_order_is_refused(status: OrderStatus) -> None:
    assert order(status).apply_update(DATA, NOW).effect is Effect.REFUSED


@pytest.mark.parametrize(
    ("status", "notices"),
    [
        (OrderStatus.NEW, ()),
        (OrderStatus.IN_ASSEMBLY, (Notice.CANCELLED_IN_WORK,)),
        (OrderStatus.ASSEMBLED, (Notice.CANCELLED_IN_WORK,)),
        (OrderStatus.READY, (Notice.CANCELLED_IN_WORK,)),
    ],
)
def test_cancel_from_active_states(status: OrderStatus, notices: tuple[Notice, ...]) -> None:
    made = order(status)
    outcome = made.cancel("customer_request", "sm", NOW)
    assert (outcome.effect, outcome.notices) == (Effect.APPLIED, notices)
    assert (made.status, made.cancel_reason, made.cancelled_by, made.cancelled_at) == (
        "cancelled",
        "customer_request",
        "sm",
        NOW,
    )
    assert made.cancel("again", "sm", NOW).effect is Effect.NO_CHANGE
    assert made.cancel_reason == "customer_request"


def test_cancel_after_delivery_is_refused() -> None:
    made = order(OrderStatus.DELIVERED)
    assert made.cancel("late", "sm", NOW).effect is Effect.REFUSED
    assert made.status == "delivered"


def test_hand_over_and_deliver_move_forward_once() -> None:
    made = order(OrderStatus.READY)
    assert made.hand_over(NOW).effect is Effect.APPLIED
    assert made.hand_over(NOW).effect is Effect.NO_CHANGE
    assert made.deliver(NOW + timedelta(hours=1)).effect is Effect.APPLIED
    assert (made.handed_over_at, made.delivered_at) == (NOW, NOW + timedelta(hours=1))
    assert made.hand_over(NOW).effect is Effect.NOT_REGRESSED
    assert made.status == "delivered"


def test_delivery_may_come_before_the_hand_over() -> None:
    made = order(OrderStatus.READY)
    assert made.deliver(NOW).effect is Effect.APPLIED
    assert made.hand_over(NOW).effect is Effect.NOT_REGRESSED


def test_courier_cannot_take_an_order_still_in_assembly() -> None:
    made = order(OrderStatus.IN_ASSEMBLY)
    assert made.hand_over(NOW).effect is Effect.REFUSED
    assert made.status == "in_assembly"


def test_payment_is_a_fact_with_its_amount() -> None:
    made = order(OrderStatus.IN_ASSEMBLY)
    assert made.record_payment(Decimal("300.10"), "paid", NOW).effect is Effect.APPLIED
    assert made.record_payment(Decimal("300.10"), "paid", NOW).effect is Effect.NO_CHANGE
    assert made.record_payment(Decimal("290.00"), "paid", NOW).effect is Effect.APPLIED
    assert (made.paid_amount, made.payment_state, made.status) == (
        Decimal("290.00"),
        "paid",
        "in_assembly",
    )


def test_courier_events_are_recorded_once() -> None:
    made = order()
    assert made.record_courier_assigned(NOW).effect is Effect.APPLIED
    assert made.record_courier_assigned(NOW + timedelta(1)).effect is Effect.NO_CHANGE
    assert made.record_courier_arrived(NOW).effect is Effect.APPLIED
    assert made.record_courier_arrived(NOW).effect is Effect.NO_CHANGE
    assert made.courier_assigned_at == NOW


# --- the picker's actions ------------------------------------------------------------------


def test_take_then_finish_and_ready() -> None:
    made = order()
    made.take(7, NOW)
    assert (made.status, made.picker_id) == ("in_assembly", 7)
    assert made.take(7, NOW).effect is Effect.NO_CHANGE
    made.record_pick(1, Decimal(2), None, ["a", "b"], NOW)
    made.record_pick(2, Decimal(1), Decimal(1190), None, NOW)
    made.finish(2, NOW)
    made.mark_ready(NOW)
    assert (made.status, made.bags, made.assembled_at, made.ready_at) == (
        "ready_for_delivery",
        2,
        NOW,
        NOW,
    )


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (OrderStatus.IN_ASSEMBLY, lambda o: o.take(8, NOW)),
        (OrderStatus.NEW, lambda o: o.record_pick(1, Decimal(1), None, None, NOW)),
        (OrderStatus.NEW, lambda o: o.finish(1, NOW)),
        (OrderStatus.IN_ASSEMBLY, lambda o: o.mark_ready(NOW)),
        (OrderStatus.NEW, lambda o: o.assign(3, NOW)),
        (OrderStatus.HANDED_OVER, lambda o: o.cancel_by_store("x", NOW)),
    ],
)
def test_actions_in_the_wrong_status_are_conflicts(status: OrderStatus, action: object) -> None:
    made = order(status, picker_id=7)
    with pytest.raises(AssemblyError) as refused:
        action(made)  # type: ignore[operator]
    assert refused.value.conflict
    assert refused.value.code == "wrong_status"


def test_pick_data_rules() -> None:
    made = order(OrderStatus.IN_ASSEMBLY)
    for line, quantity, code in (
        (2, 1, "weight_required"),
        (1, 3, "too_many"),
        (9, 1, "unknown_line"),
    ):
        with pytest.raises(AssemblyError) as refused:
            made.record_pick(line, Decimal(quantity), None, None, NOW)
        assert (refused.value.code, refused.value.conflict) == (code, False)
    made.record_pick(2, Decimal(0), None, None, NOW)  # out of stock needs no weight
    assert made.positions[1].picked_quantity == Decimal(0)


def test_finish_needs_every_line() -> None:
    made = order(OrderStatus.IN_ASSEMBLY)
    made.record_pick(1, Decimal(2), None, None, NOW)
    with pytest.raises(AssemblyError, match=r"\[2\]"):
        made.finish(1, NOW)
    assert made.status == "in_assembly"


def test_replace_links_both_lines_and_forgets_the_originals_codes() -> None:
    made = order(OrderStatus.IN_ASSEMBLY)
    made.record_pick(1, Decimal(2), None, ["old"], NOW)
    added = made.replace(
        1,
        Substitute("100501", "Кефир", Decimal(2), Decimal("79.50"), marking_codes=("k1", "k2")),
        NOW,
    )
    original = made.positions[0]
    assert (original.replaced_by_sku, original.picked_quantity, original.marking_codes) == (
        "100501",
        Decimal(0),
        [],
    )
    assert (added.line_no, added.replaces_line_no, added.source, added.picked_quantity) == (
        3,
        1,
        "replacement",
        Decimal(2),
    )
    with pytest.raises(AssemblyError):
        made.replace(1, Substitute("1", "x", Decimal(1), Decimal(1)), NOW)
    with pytest.raises(AssemblyError):
        made.record_pick(1, Decimal(1), None, None, NOW)


def test_assign_to_the_same_picker_is_refused_and_back_to_store_allowed() -> None:
    made = order(OrderStatus.IN_ASSEMBLY, picker_id=7)
    with pytest.raises(AssemblyError, match="already"):
        made.assign(7, NOW)
    assert made.assign(9, NOW) == 7
    assert made.assign(None, NOW) == 9
    assert made.picker_id is None


SM_FACTS: dict[str, Callable[[Order], object]] = {
    "hand_over": lambda o: o.hand_over(NOW),
    "deliver": lambda o: o.deliver(NOW),
    "cancel": lambda o: o.cancel("x", "sm", NOW),
    "pay": lambda o: o.record_payment(Decimal(1), "paid", NOW),
    "assigned": lambda o: o.record_courier_assigned(NOW),
    "arrived": lambda o: o.record_courier_arrived(NOW),
}


@given(
    start=st.sampled_from(list(OrderStatus)),
    facts=st.lists(st.sampled_from(sorted(SM_FACTS)), max_size=12),
)
def test_sm_facts_never_move_an_order_backwards(start: OrderStatus, facts: list[str]) -> None:
    made = order(start)
    for fact in facts:
        before = made.current_status
        SM_FACTS[fact](made)
        after = made.current_status
        if before in (OrderStatus.DELIVERED, OrderStatus.CANCELLED):
            assert after is before
        elif after is not OrderStatus.CANCELLED:
            assert FLOW.index(after) >= FLOW.index(before)
