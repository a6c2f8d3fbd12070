"""The order and what SM's events and the picker's actions do to it (no database)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smbridge.domain.assembly import AssemblyError, Substitute
from smbridge.domain.order import Order
from smbridge.domain.order_change import Effect, Notice, OrderChange
from smbridge.domain.pick import PickRecord
from smbridge.domain.sm_order import SmOrder, SmOrderHeader, SmOrderLine
from smbridge.domain.status import FLOW, OrderStatus

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=30)
WINDOW_FROM = datetime(2026, 11, 29, 10, 0, tzinfo=timezone(timedelta(hours=3)))
MILK = SmOrderLine("100500", "Молоко", Decimal(2), Decimal(2), price=Decimal("89.90"))
BANANAS = SmOrderLine(
    "200300", "Бананы", Decimal(1), Decimal(1), price=Decimal("129.00"), weight_grams=Decimal(1250)
)
DATA = SmOrder(
    sm_order_id="H1",
    sm_store_id="101",
    header=SmOrderHeader(
        comment="Позвонить",
        customer={"name": "Иван", "phone": "+79991111111"},
        total_price=Decimal("327.80"),
    ),
    lines=(MILK, BANANAS),
)
HEADER_FIELDS = {sm_field.name for sm_field in dataclass_fields(SmOrderHeader)}


def order(status: OrderStatus = OrderStatus.NEW, **fields: object) -> Order:
    made = Order.create(DATA, store_id=1, received_at=NOW, expected_assembly_at=NOW)
    made.status = status
    told = {name: value for name, value in fields.items() if name in HEADER_FIELDS}
    made.header = replace(made.header, **told)  # type: ignore[arg-type]
    for name, value in fields.items():
        if name not in HEADER_FIELDS:
            setattr(made, name, value)
    return made


def test_create_takes_header_and_numbers_lines() -> None:
    made = order()
    assert (made.status, made.customer_name, made.customer_phone) == ("new", "Иван", "+79991111111")
    assert [(p.line_no, p.line.sku, p.is_weighed) for p in made.positions] == [
        (1, "100500", False),
        (2, "200300", True),
    ]
    assert made.header.total_price == Decimal("327.80")


def test_create_copies_every_field_sm_sent() -> None:
    header = replace(
        DATA.header,
        sm_uuid="uuid-H1",
        sm_state="new",
        payment_state="not_paid",
        address={"full_address": "Москва, ул. Ленина, 1"},
        delivery_from=WINDOW_FROM,
        delivery_to=WINDOW_FROM + timedelta(hours=1),
        is_planned=True,
        discount_total_price=Decimal("300.00"),
        delivery_cost=Decimal("0.00"),
        payment_methods=("card_online",),
        shipment_method="delivery",
        replacement_policy="call_or_replace",
        complete_before=WINDOW_FROM,
    )
    data = replace(DATA, header=header)
    received = NOW - timedelta(minutes=1)
    made = Order.create(data, store_id=5, received_at=received, expected_assembly_at=NOW)
    assert (made.sm_order_id, made.store_id, made.received_at, made.updated_at) == (
        "H1",
        5,
        received,
        received,
    )
    assert made.expected_assembly_at == NOW
    assert (made.header.sm_uuid, made.header.sm_state, made.header.payment_state) == (
        "uuid-H1",
        "new",
        "not_paid",
    )
    assert made.header.address == {"full_address": "Москва, ул. Ленина, 1"}
    assert (made.header.delivery_from, made.header.delivery_to, made.header.is_planned) == (
        WINDOW_FROM,
        WINDOW_FROM + timedelta(hours=1),
        True,
    )
    assert (made.header.discount_total_price, made.header.delivery_cost) == (
        Decimal("300.00"),
        Decimal("0.00"),
    )
    assert made.header.payment_methods == ["card_online"]
    assert (
        made.header.shipment_method,
        made.header.replacement_policy,
        made.header.complete_before,
    ) == (
        "delivery",
        "call_or_replace",
        WINDOW_FROM,
    )
    bananas = made.positions[1]
    assert (
        bananas.line.price,
        bananas.line.weight_grams,
        bananas.pick.source,
        bananas.pick.quantity,
    ) == (
        Decimal("129.00"),
        Decimal(1250),
        "sm",
        None,
    )
    assert all(isinstance(p.line.quantity, Decimal) for p in made.positions)


def test_only_a_new_order_waiting_for_its_store_is_adopted() -> None:
    waiting = Order.create(DATA, store_id=None, received_at=NOW, expected_assembly_at=NOW)
    assert (waiting.awaits_store, waiting.sm_store_id) == (True, "101")
    waiting.adopt(7, LATER + timedelta(minutes=20), LATER)
    assert (waiting.store_id, waiting.expected_assembly_at, waiting.awaits_store) == (
        7,
        LATER + timedelta(minutes=20),
        False,
    )
    cancelled = Order.create(DATA, store_id=None, received_at=NOW, expected_assembly_at=NOW)
    cancelled.cancel("technical_issues", "smbridge", LATER)
    for made in (waiting, order(), cancelled):
        with pytest.raises(AssemblyError):
            made.adopt(8, LATER, LATER)
    assert (waiting.store_id, cancelled.store_id) == (7, None)


def test_create_without_positions_has_none() -> None:
    made = Order.create(
        SmOrder(sm_order_id="H2"), store_id=1, received_at=NOW, expected_assembly_at=NOW
    )
    assert made.positions == []
    assert made.customer_phone is None


def test_update_in_new_merges_by_sku_and_keeps_what_sm_left_out() -> None:
    made = order()
    kefir = SmOrderLine("100501", "Кефир", Decimal(1), Decimal(1))
    update = SmOrder(sm_order_id="H1", lines=(replace(MILK, quantity=Decimal(3)), kefir))
    change = made.apply_update(update, LATER)
    assert change == OrderChange(Effect.APPLIED)
    assert [(p.line_no, p.line.sku, p.line.quantity) for p in made.positions] == [
        (1, "100500", Decimal(3)),
        (2, "200300", Decimal(0)),  # no longer sent: quantity 0, the row stays
        (3, "100501", Decimal(1)),  # new SKU: the next line number
    ]
    assert made.positions[1].line.name == "Бананы"
    assert made.header.comment == "Позвонить"  # not sent: kept
    assert made.customer_name == "Иван"
    assert made.header.total_price == Decimal("327.80")
    assert made.changed_by_customer is False
    assert made.changed_at is None
    assert made.updated_at == LATER


def test_update_takes_every_header_field_sm_sent_and_keeps_the_rest() -> None:
    made = order(delivery_from=WINDOW_FROM, payment_methods=["cash"], sm_uuid="uuid-H1")
    new_window = WINDOW_FROM + timedelta(hours=2)
    made.apply_update(
        SmOrder(
            sm_order_id="H1",
            header=SmOrderHeader(
                delivery_from=new_window,
                total_price=Decimal("400.10"),
                payment_methods=("card_online",),
                customer={"name": "Пётр", "phone": "+79992222222"},
                address={"full_address": "Москва, ул. Мира, 2"},
            ),
        ),
        LATER,
    )
    assert (made.header.delivery_from, made.header.total_price) == (new_window, Decimal("400.10"))
    assert made.header.payment_methods == ["card_online"]
    assert (made.customer_name, made.customer_phone) == ("Пётр", "+79992222222")
    assert made.header.address == {"full_address": "Москва, ул. Мира, 2"}
    assert (made.header.sm_uuid, made.header.comment) == ("uuid-H1", "Позвонить")


def test_update_without_positions_leaves_them_alone() -> None:
    made = order()
    made.apply_update(SmOrder(sm_order_id="H1", header=SmOrderHeader(comment="Новый")), NOW)
    assert made.header.comment == "Новый"
    assert [(p.line.sku, p.line.quantity) for p in made.positions] == [
        ("100500", Decimal(2)),
        ("200300", Decimal(1)),
    ]


def test_an_empty_position_list_removes_every_line_but_keeps_the_rows() -> None:
    made = order()
    made.apply_update(SmOrder(sm_order_id="H1", lines=()), NOW)
    assert [(p.line_no, p.line.quantity) for p in made.positions] == [
        (1, Decimal(0)),
        (2, Decimal(0)),
    ]


def test_a_removed_line_that_comes_back_keeps_its_line_number() -> None:
    made = order()
    made.apply_update(SmOrder(sm_order_id="H1", lines=(MILK,)), NOW)
    made.apply_update(SmOrder(sm_order_id="H1", lines=(MILK, BANANAS)), NOW)
    assert [(p.line_no, p.line.sku, p.line.quantity) for p in made.positions] == [
        (1, "100500", Decimal(2)),
        (2, "200300", Decimal(1)),
    ]


def test_repeated_sku_lines_are_matched_by_occurrence() -> None:
    data = replace(DATA, lines=(MILK, replace(MILK, quantity=Decimal(5))))
    made = Order.create(data, store_id=1, received_at=NOW, expected_assembly_at=NOW)
    made.apply_update(replace(data, lines=(MILK, replace(MILK, quantity=Decimal(6)))), NOW)
    assert [p.line.quantity for p in made.positions] == [Decimal(2), Decimal(6)]
    # SM now sends only one occurrence: it is the first; the second is removed.
    made.apply_update(replace(data, lines=(replace(MILK, quantity=Decimal(1)),)), NOW)
    assert [(p.line_no, p.line.quantity) for p in made.positions] == [
        (1, Decimal(1)),
        (2, Decimal(0)),
    ]
    # A third occurrence is a new line.
    made.apply_update(replace(data, lines=(MILK, MILK, MILK)), NOW)
    assert [(p.line_no, p.line.sku, p.line.quantity) for p in made.positions] == [
        (1, "100500", Decimal(2)),
        (2, "100500", Decimal(2)),
        (3, "100500", Decimal(2)),
    ]


@pytest.mark.parametrize("status", [OrderStatus.IN_ASSEMBLY, OrderStatus.ASSEMBLED])
def test_update_in_work_is_applied_flagged_and_keeps_picking(status: OrderStatus) -> None:
    made = order(status)
    made.positions[0].pick = PickRecord(Decimal(2), marking_codes=["0104600"])
    made.positions[1].pick = PickRecord(Decimal(1), Decimal(1190))
    update = replace(
        DATA,
        header=replace(DATA.header, comment="Без пакета"),
        lines=(replace(MILK, quantity=Decimal(1)),),
    )
    change = made.apply_update(update, LATER)
    assert (change.effect, change.notices) == (Effect.APPLIED, (Notice.CHANGED_IN_WORK,))
    assert (made.changed_by_customer, made.changed_at, made.updated_at) == (True, LATER, LATER)
    assert made.status == status.value
    assert made.header.comment == "Без пакета"
    milk, bananas = made.positions
    assert (milk.line.quantity, milk.pick.quantity, milk.pick.marking_codes) == (
        Decimal(1),
        Decimal(2),
        ["0104600"],
    )
    # removed by the customer, but what the picker did stays visible
    assert (bananas.line.quantity, bananas.pick.quantity, bananas.pick.weight_grams) == (
        Decimal(0),
        Decimal(1),
        Decimal(1190),
    )


def test_update_in_assembly_keeps_the_pickers_substitution() -> None:
    made = order(OrderStatus.IN_ASSEMBLY)
    made.replace(1, Substitute("100501", "Кефир", Decimal(2), Decimal("79.50")), NOW)
    made.apply_update(replace(DATA, lines=(MILK, BANANAS)), LATER)
    milk, bananas, kefir = made.positions
    assert (milk.line.replaced_by_sku, milk.pick.quantity) == ("100501", Decimal(0))
    assert (kefir.line_no, kefir.pick.source, kefir.pick.replaces_line_no) == (3, "replacement", 1)
    assert bananas.line.replaced_by_sku is None
    with pytest.raises(AssemblyError) as refused:
        made.replace(1, Substitute("100502", "Ряженка", Decimal(1), Decimal(1)), LATER)
    assert refused.value.code == "line_replaced"
    # a new SKU from SM comes after the substitute
    made.apply_update(
        replace(DATA, lines=(MILK, BANANAS, SmOrderLine("9", "Хлеб", Decimal(1), Decimal(1)))),
        LATER,
    )
    assert [(p.line_no, p.line.sku, p.pick.source) for p in made.positions][-1] == (4, "9", "sm")


@pytest.mark.parametrize("status", [OrderStatus.READY, OrderStatus.HANDED_OVER])
def test_update_after_final_contents_is_only_recorded(status: OrderStatus) -> None:
    made = order(status)
    update = replace(
        DATA,
        header=replace(DATA.header, comment="поздно"),
        lines=(replace(MILK, quantity=Decimal(9)),),
    )
    change = made.apply_update(update, LATER)
    assert (change.effect, change.notices) == (
        Effect.NOT_REGRESSED,
        (Notice.CHANGED_AFTER_READY,),
    )
    assert made.header.comment == "Позвонить"
    assert [(p.line.sku, p.line.quantity) for p in made.positions] == [
        ("100500", Decimal(2)),
        ("200300", Decimal(1)),
    ]
    assert (made.changed_by_customer, made.changed_at) == (True, LATER)
    assert made.status == status.value


@pytest.mark.parametrize("status", [OrderStatus.DELIVERED, OrderStatus.CANCELLED])
def test_update_of_a_finished_order_is_refused(status: OrderStatus) -> None:
    made = order(status)
    change = made.apply_update(replace(DATA, header=replace(DATA.header, comment="поздно")), LATER)
    assert (change.effect, change.notices) == (Effect.REFUSED, ())
    assert (made.header.comment, made.changed_by_customer, made.updated_at) == (
        "Позвонить",
        False,
        NOW,
    )


@pytest.mark.parametrize(
    ("status", "notices"),
    [
        (OrderStatus.NEW, ()),
        (OrderStatus.IN_ASSEMBLY, (Notice.CANCELLED_IN_WORK,)),
        (OrderStatus.ASSEMBLED, (Notice.CANCELLED_IN_WORK,)),
        (OrderStatus.READY, (Notice.CANCELLED_IN_WORK,)),
        (OrderStatus.HANDED_OVER, (Notice.CANCELLED_IN_WORK,)),
    ],
)
def test_cancel_from_active_states(status: OrderStatus, notices: tuple[Notice, ...]) -> None:
    made = order(status)
    change = made.cancel("customer_request", "sm", LATER)
    assert (change.effect, change.notices) == (Effect.APPLIED, notices)
    assert (made.status, made.cancel_reason, made.cancelled_by, made.cancelled_at) == (
        "cancelled",
        "customer_request",
        "sm",
        LATER,
    )
    again = made.cancel("again", "store", LATER + timedelta(minutes=5))
    assert (again.effect, again.notices) == (Effect.NO_CHANGE, ())
    assert (made.cancel_reason, made.cancelled_by, made.cancelled_at) == (
        "customer_request",
        "sm",
        LATER,
    )


def test_cancel_after_delivery_is_refused() -> None:
    made = order(OrderStatus.DELIVERED)
    change = made.cancel("late", "sm", LATER)
    assert (change.effect, change.notices) == (Effect.REFUSED, ())
    assert (made.status, made.cancelled_at, made.cancel_reason) == ("delivered", None, None)


def test_hand_over_and_deliver_move_forward_once() -> None:
    made = order(OrderStatus.READY)
    assert made.hand_over(NOW).effect is Effect.APPLIED
    assert made.status == "handed_over"
    assert made.hand_over(LATER).effect is Effect.NO_CHANGE
    assert made.handed_over_at == NOW
    assert made.deliver(NOW + timedelta(hours=1)).effect is Effect.APPLIED
    assert made.deliver(NOW + timedelta(hours=2)).effect is Effect.NO_CHANGE
    assert (made.handed_over_at, made.delivered_at) == (NOW, NOW + timedelta(hours=1))
    late = made.hand_over(NOW + timedelta(hours=3))  # order.received after order.delivered
    assert late.effect is Effect.NOT_REGRESSED
    assert (made.status, made.handed_over_at) == ("delivered", NOW)


def test_delivery_may_come_before_the_hand_over() -> None:
    made = order(OrderStatus.READY)
    assert made.deliver(NOW).effect is Effect.APPLIED
    assert made.hand_over(LATER).effect is Effect.NOT_REGRESSED
    assert (made.status, made.delivered_at, made.handed_over_at) == ("delivered", NOW, None)


@pytest.mark.parametrize(
    "status", [OrderStatus.NEW, OrderStatus.IN_ASSEMBLY, OrderStatus.ASSEMBLED]
)
@pytest.mark.parametrize("fact", ["hand_over", "deliver"])
def test_courier_cannot_take_an_order_not_ready(status: OrderStatus, fact: str) -> None:
    made = order(status)
    change = made.hand_over(NOW) if fact == "hand_over" else made.deliver(NOW)
    assert change.effect is Effect.REFUSED
    assert (made.status, made.handed_over_at, made.delivered_at) == (status.value, None, None)


@pytest.mark.parametrize("fact", ["hand_over", "deliver"])
def test_a_cancelled_order_is_not_handed_over_or_delivered(fact: str) -> None:
    made = order(OrderStatus.CANCELLED)
    change = made.hand_over(NOW) if fact == "hand_over" else made.deliver(NOW)
    assert change.effect in (Effect.NOT_REGRESSED, Effect.REFUSED)
    assert (made.status, made.handed_over_at, made.delivered_at) == ("cancelled", None, None)


def test_payment_is_a_fact_with_its_amount() -> None:
    made = order(OrderStatus.IN_ASSEMBLY)
    assert made.record_payment(Decimal("300.10"), "paid", NOW).effect is Effect.APPLIED
    assert (made.paid_amount, made.paid_at) == (Decimal("300.10"), NOW)
    repeat = made.record_payment(Decimal("300.1"), "paid", LATER)  # same amount, other spelling
    assert repeat.effect is Effect.NO_CHANGE
    assert made.paid_at == NOW
    assert made.record_payment(Decimal("290.00"), None, LATER).effect is Effect.APPLIED
    assert (made.paid_amount, made.paid_at, made.header.payment_state, made.status) == (
        Decimal("290.00"),
        LATER,
        "paid",  # SM left the state out: the known one stays
        "in_assembly",
    )
    assert isinstance(made.paid_amount, Decimal)


@pytest.mark.parametrize("status", list(OrderStatus))
def test_payment_never_changes_the_status(status: OrderStatus) -> None:
    made = order(status)
    assert made.record_payment(Decimal("1.00"), "paid", NOW).effect is Effect.APPLIED
    assert made.status == status.value


def test_courier_events_are_recorded_once() -> None:
    made = order()
    assert made.record_courier_assigned(NOW).effect is Effect.APPLIED
    assert made.record_courier_assigned(NOW + timedelta(1)).effect is Effect.NO_CHANGE
    assert made.record_courier_arrived(LATER).effect is Effect.APPLIED
    assert made.record_courier_arrived(LATER + timedelta(1)).effect is Effect.NO_CHANGE
    assert (made.courier_assigned_at, made.courier_arrived_at) == (NOW, LATER)
    assert made.status == "new"


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
def test_actions_in_the_wrong_status_are_conflicts(
    status: OrderStatus, action: Callable[[Order], object]
) -> None:
    made = order(status, picker_id=7)
    with pytest.raises(AssemblyError) as refused:
        action(made)
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
    assert made.positions[1].pick.quantity == Decimal(0)


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
    assert (original.line.replaced_by_sku, original.pick.quantity, original.pick.marking_codes) == (
        "100501",
        Decimal(0),
        [],
    )
    assert (added.line_no, added.pick.replaces_line_no, added.pick.source, added.pick.quantity) == (
        3,
        1,
        "replacement",
        Decimal(2),
    )
    with pytest.raises(AssemblyError):
        made.replace(1, Substitute("1", "x", Decimal(1), Decimal(1)), NOW)
    with pytest.raises(AssemblyError):
        made.record_pick(1, Decimal(1), None, None, NOW)


def test_a_weighed_substitute_needs_its_weight_like_a_weighed_pick() -> None:
    made = order(OrderStatus.IN_ASSEMBLY)
    cheese = Substitute("200301", "Сыр Гауда весовой", Decimal(1), Decimal("899.00"))
    with pytest.raises(AssemblyError) as refused:
        made.replace(2, cheese, NOW)  # for the bananas: weighed, like the line it replaces
    assert (refused.value.code, refused.value.conflict) == ("weight_required", False)
    assert len(made.positions) == 2
    assert made.positions[1].line.replaced_by_sku is None  # the refusal changed nothing

    added = made.replace(2, replace(cheese, weight_grams=Decimal(412)), NOW)
    assert (added.is_weighed, added.pick.weight_grams) == (True, Decimal(412))


def test_the_picker_says_whether_a_substitute_is_weighed() -> None:
    packed = Substitute("200302", "Бананы в упаковке", Decimal(1), Decimal("149.00"), weighed=False)
    assert not order(OrderStatus.IN_ASSEMBLY).replace(2, packed, NOW).is_weighed
    loose = Substitute("200303", "Яблоки весовые", Decimal(2), Decimal("189.00"), weighed=True)
    with pytest.raises(AssemblyError, match="weighed"):
        order(OrderStatus.IN_ASSEMBLY).replace(1, loose, NOW)  # for the milk, a piece good
    none_taken = replace(loose, quantity=Decimal(0))
    added = order(OrderStatus.IN_ASSEMBLY).replace(1, none_taken, NOW)
    assert (added.is_weighed, added.pick.weight_grams) == (True, Decimal(0))


def test_a_weight_is_corrected_only_in_final_contents() -> None:
    made = order(OrderStatus.IN_ASSEMBLY)
    with pytest.raises(AssemblyError, match="no final contents"):
        made.correct_weight(2, Decimal(1200), NOW)  # the picker records it: recordPick
    made.status = OrderStatus.READY
    made.correct_weight(2, Decimal(1200), LATER)
    made.correct_weight(1, Decimal(1860), LATER)  # a line taken as a piece good weighs now
    assert [(p.line.weight_grams, p.pick.weight_grams) for p in made.positions] == [
        (Decimal(1860), Decimal(1860)),
        (Decimal(1250), Decimal(1200)),  # SM's ordered weight stays
    ]
    assert made.updated_at == LATER


def test_assign_to_the_same_picker_is_refused_and_back_to_store_allowed() -> None:
    made = order(OrderStatus.IN_ASSEMBLY, picker_id=7)
    with pytest.raises(AssemblyError, match="already"):
        made.assign(7, NOW)
    assert made.assign(9, NOW) == 7
    assert made.assign(None, NOW) == 9
    assert made.picker_id is None


SM_FACTS: dict[str, Callable[[Order, datetime], OrderChange]] = {
    "hand_over": lambda o, at: o.hand_over(at),
    "deliver": lambda o, at: o.deliver(at),
    "cancel": lambda o, at: o.cancel("x", "sm", at),
    "pay": lambda o, at: o.record_payment(Decimal("100.50"), "paid", at),
    "pay_other": lambda o, at: o.record_payment(Decimal("99.99"), "paid", at),
    "assigned": lambda o, at: o.record_courier_assigned(at),
    "arrived": lambda o, at: o.record_courier_arrived(at),
    "update": lambda o, at: o.apply_update(
        replace(DATA, header=replace(DATA.header, comment="изменён")), at
    ),
}
FINAL_STATES = (OrderStatus.DELIVERED, OrderStatus.CANCELLED)


@given(
    start=st.sampled_from(list(OrderStatus)),
    facts=st.lists(st.sampled_from(sorted(SM_FACTS)), max_size=12),
)
def test_sm_facts_never_move_an_order_backwards(start: OrderStatus, facts: list[str]) -> None:
    made = order(start)
    for step, fact in enumerate(facts, start=1):
        before = made.status
        change = SM_FACTS[fact](made, NOW + timedelta(minutes=step))
        after = made.status
        if before in FINAL_STATES:
            assert after is before
        elif after is not OrderStatus.CANCELLED:
            assert FLOW.index(after) >= FLOW.index(before)
        if after is not before:
            # a status only ever changes as the applied effect of an SM fact
            assert change.effect is Effect.APPLIED
            assert fact in ("hand_over", "deliver", "cancel")


def test_a_late_update_does_not_unpay_a_paid_order() -> None:
    made = order(OrderStatus.IN_ASSEMBLY)
    made.record_payment(Decimal("300.10"), "paid", NOW)
    made.apply_update(replace(DATA, header=replace(DATA.header, payment_state="not_paid")), NOW)
    assert (made.header.payment_state, made.paid_amount) == ("paid", Decimal("300.10"))
