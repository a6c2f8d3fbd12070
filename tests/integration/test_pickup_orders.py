"""Self-pickup orders end to end (issue 14), on both databases: the handout code made at
assembly and told to SM before ready_for_delivery, the handover at the counter, wrong codes
and the lock-out, order.delivered and the sales document."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from smbridge.assembly import methods
from smbridge.assembly.errors import Conflict, InvalidRequest
from smbridge.domain.status import OrderStatus
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.unit_of_work import Database
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.orders.repository import OrderRepository
from smbridge.sales.service import create_documents
from smbridge.telegram.outbox import TelegramOutbox
from tests.factories import WINDOW_FROM, envelope, order_payload
from tests.support.clock import FrozenClock
from tests.support.shop import Shop

PICKUP_ID = "H2000000001"
PICKUP = "SM00000002"  # the pickup order's number (the shop's own order is the first)


def pickup_shop(db: Database, clock: FrozenClock) -> Shop[Database]:
    shop = Shop(db, clock).on_shift()
    body = envelope("order.created", order_payload(PICKUP_ID, shipmentMethod="pickup"))
    ingest_webhook(db, parse_webhook(body), IntakePolicy(), clock)
    return shop


def assemble(shop: Shop[Database], number: str = PICKUP) -> dict[str, Any]:
    shop.call("takeOrder", orderNumber=number, pickerId=shop.picker.id)
    shop.call("recordPick", orderNumber=number, lineNo=1, quantity="2")
    shop.call("recordPick", orderNumber=number, lineNo=2, quantity="1", weightGrams="1310")
    return shop.call("finishAssembly", orderNumber=number, bags=1)


def sent(db: Database, sm_order_id: str = PICKUP_ID) -> list[tuple[str, dict[str, Any]]]:
    with db.unit_of_work(read_only=True) as uow:
        order = uow.repo(OrderRepository).by_sm_id(sm_order_id)
        assert order is not None
        assert order.id is not None
        rows = uow.repo(NotificationOutbox).for_order(order.id)
        return [(row.type, row.payload) for row in rows]


def handout_code(db: Database) -> str:
    codes = [p["code"] for kind, p in sent(db) if kind == "order.pickup_code_created"]
    assert len(codes) == 1
    return str(codes[0])


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_pickup_order_lives_from_webhook_to_handover_and_sales_document(
    db: Database, clock: FrozenClock
) -> None:
    shop = pickup_shop(db, clock)
    board = shop.call("getActiveOrders")["orders"]
    types = {line["number"]: (line["deliveryType"], line["deliveryTypeText"]) for line in board}
    assert types[PICKUP] == ("pickup", "Самовывоз")
    assert types["SM00000001"] == ("courier", "Доставка")

    card = assemble(shop)
    assert card["status"] == "ready_for_delivery"
    code = handout_code(db)
    assert len(code) == 6
    assert code.isdigit()
    kinds = [kind for kind, _ in sent(db)]
    assert kinds == [
        "order.accepted",
        "order.in_work",
        "order.assembled",
        "order.pickup_code_created",
        "order.ready_for_delivery",
    ]
    ready = dict(sent(db))["order.ready_for_delivery"]
    assert ready["handoutCode"] == code

    clock.advance(timedelta(hours=2))
    handed = shop.call("handOutOrder", orderNumber=PICKUP, code=f"{code[:3]} {code[3:]}")
    assert (handed["status"], handed["statusText"]) == ("delivered", "Выдан")
    assert [kind for kind, _ in sent(db)][-1] == "order.delivered"
    assert dict(sent(db))["order.delivered"] == {"order_id": PICKUP_ID}
    assert PICKUP not in {line["number"] for line in shop.call("getActiveOrders")["orders"]}

    assert create_documents(db, clock).created == 1
    with db.unit_of_work(read_only=True) as uow:
        order = uow.repo(OrderRepository).by_sm_id(PICKUP_ID)
        assert order is not None
        assert (order.status, order.delivered_at) == (OrderStatus.DELIVERED, clock())
        assert order.sales_document_id is not None


def test_a_courier_order_gets_no_code_and_cannot_be_handed_out(
    db: Database, clock: FrozenClock
) -> None:
    shop = pickup_shop(db, clock)
    assemble(shop, "SM00000001")
    kinds = [kind for kind, _ in sent(db, "H1234567890")]
    assert "order.pickup_code_created" not in kinds
    assert "handoutCode" not in dict(sent(db, "H1234567890"))["order.ready_for_delivery"]
    with pytest.raises(Conflict) as refused:
        shop.call("handOutOrder", orderNumber="SM00000001", code="123456")
    assert refused.value.code == "not_pickup"


def test_wrong_codes_are_counted_and_lock_the_handover_with_an_alert(
    db: Database, clock: FrozenClock
) -> None:
    shop = pickup_shop(db, clock)
    assemble(shop)
    code = handout_code(db)
    for _ in range(4):
        with pytest.raises(InvalidRequest) as refused:
            shop.call("handOutOrder", orderNumber=PICKUP, code=wrong(code))
        assert refused.value.code == "wrong_handout_code"
    with db.unit_of_work(read_only=True) as uow:
        order = uow.repo(OrderRepository).by_sm_id(PICKUP_ID)
        assert order is not None
        assert order.handout_wrong_tries == 4
        assert not uow.repo(TelegramOutbox).queued(100)

    with pytest.raises(Conflict) as locked:
        shop.call("handOutOrder", orderNumber=PICKUP, code=wrong(code))
    assert locked.value.code == "handover_locked"
    with db.unit_of_work(read_only=True) as uow:
        alerts = [m.text for m in uow.repo(TelegramOutbox).queued(100)]
    assert len(alerts) == 1
    assert "неверный код выдачи" in alerts[0]
    assert "заблокирована" in alerts[0]
    assert code not in alerts[0]

    clock.advance(timedelta(minutes=14))
    with pytest.raises(Conflict) as still:  # even the right code waits for the lock
        shop.call("handOutOrder", orderNumber=PICKUP, code=code)
    assert still.value.code == "handover_locked"

    clock.advance(timedelta(minutes=1))
    assert shop.call("handOutOrder", orderNumber=PICKUP, code=code)["status"] == "delivered"
    assert [kind for kind, _ in sent(db)].count("order.delivered") == 1


def test_a_handover_repeated_with_its_request_id_answers_as_the_first(
    db: Database, clock: FrozenClock
) -> None:
    shop = pickup_shop(db, clock)
    assemble(shop)
    code = handout_code(db)
    first = shop.call("handOutOrder", "counter-1", orderNumber=PICKUP, code=code)
    assert shop.call("handOutOrder", "counter-1", orderNumber=PICKUP, code=code) == first
    assert [kind for kind, _ in sent(db)].count("order.delivered") == 1


def test_codes_are_unique_among_the_stores_open_pickup_orders(
    db: Database, clock: FrozenClock
) -> None:
    shop = pickup_shop(db, clock)
    numbers = [PICKUP]
    for n in range(3, 9):
        sm_id = f"H20000000{n:02d}"
        body = envelope("order.created", order_payload(sm_id, shipmentMethod="pickup"))
        ingest_webhook(db, parse_webhook(body), IntakePolicy(), clock)
        numbers.append(f"SM{n:08d}")
    for number in numbers:
        assemble(shop, number)
    with db.unit_of_work(read_only=True) as uow:
        codes = uow.repo(OrderRepository).handout_codes_in_use(shop.store.id or 0)
    assert len(codes) == len(numbers)


def test_a_code_a_concurrent_call_took_first_is_drawn_again(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two pickers finishing at once both read the codes in use before either wrote: the
    database refuses the second writer's duplicate, and its call runs again."""
    shop = pickup_shop(db, clock)
    body = envelope("order.created", order_payload("H2000000003", shipmentMethod="pickup"))
    ingest_webhook(db, parse_webhook(body), IntakePolicy(), clock)
    assemble(shop)
    first = handout_code(db)
    second = f"{(int(first) + 1) % 1_000_000:06d}"
    draws = iter([first, second])  # the first draw as if the first code were still free
    monkeypatch.setattr(methods, "new_handout_code", lambda _taken: next(draws))

    assemble(shop, "SM00000003")

    codes = [
        p["code"] for kind, p in sent(db, "H2000000003") if kind == "order.pickup_code_created"
    ]
    assert codes == [second]
    with db.unit_of_work(read_only=True) as uow:
        in_use = uow.repo(OrderRepository).handout_codes_in_use(shop.store.id or 0)
    assert in_use == {first, second}


def test_courier_events_never_move_a_pickup_order(db: Database, clock: FrozenClock) -> None:
    shop = pickup_shop(db, clock)
    assemble(shop)
    for kind in ("order.received", "order.delivering"):
        body = envelope(kind, {"originalOrderId": PICKUP_ID})
        ingest_webhook(db, parse_webhook(body), IntakePolicy(), clock)
    with db.unit_of_work(read_only=True) as uow:
        order = uow.repo(OrderRepository).by_sm_id(PICKUP_ID)
        assert order is not None
        assert (order.status, order.handed_over_at) == (OrderStatus.READY, None)


def test_a_customer_refusing_part_of_the_order_means_a_cancellation_sm_knows(
    db: Database, clock: FrozenClock
) -> None:
    """SM takes the final contents with ready_for_delivery and no later notification
    changes them: at the counter the order is handed over whole or cancelled."""
    shop = pickup_shop(db, clock)
    assemble(shop)
    card = shop.call("cancelOrder", orderNumber=PICKUP, reason="customer_request")
    assert card["status"] == "cancelled"
    assert sent(db)[-1] == ("order.canceled", {"order_id": PICKUP_ID, "reason": "customer_request"})
    with pytest.raises(Conflict):
        shop.call("handOutOrder", orderNumber=PICKUP, code=handout_code(db))


def test_the_store_cancels_an_uncollected_order_after_its_storage_period(
    db: Database, clock: FrozenClock
) -> None:
    """The pickup window of ``order_payload`` ends an hour after WINDOW_FROM; the order
    is kept 48 hours (the default) after that, then the store may cancel it."""
    shop = pickup_shop(db, clock)
    assemble(shop)
    window_end = WINDOW_FROM + timedelta(hours=1)
    clock.now = window_end + timedelta(hours=47)
    with pytest.raises(Conflict) as early:
        shop.call("cancelUncollected", orderNumber=PICKUP)
    assert early.value.code == "storage_not_over"
    assert sent(db)[-1][0] == "order.ready_for_delivery"

    clock.now = window_end + timedelta(hours=48)
    card = shop.call("cancelUncollected", orderNumber=PICKUP)
    assert card["status"] == "cancelled"
    assert sent(db)[-1] == ("order.canceled", {"order_id": PICKUP_ID, "reason": "customer_request"})
    assert shop.call("cancelUncollected", orderNumber=PICKUP)["status"] == "cancelled"
    assert [kind for kind, _ in sent(db)].count("order.canceled") == 1
    with pytest.raises(Conflict) as courier:
        shop.call("cancelUncollected", orderNumber="SM00000001")
    assert courier.value.code == "not_pickup"
