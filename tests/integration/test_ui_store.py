"""The store workstation (/ui/store) on both databases: the board, the order card and its
timeline, the hand-over to another picker, the printed picking list and its entry screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from smbridge.accounts.service import AuditNote
from smbridge.assembly.methods import METHODS
from smbridge.assembly.repository import PickerRepository
from smbridge.assembly.service import AssemblyPolicy, Call, execute
from smbridge.domain.picker import Picker, Shift
from smbridge.domain.staff import Role
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.tables import (
    audit_log,
    idempotency_keys,
    order_positions,
    orders,
    sm_notifications,
    telegram_outbox,
)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.orders.repository import StoreRepository
from smbridge.settings import Settings
from tests.factories import add_store, envelope, order_payload
from tests.support.clock import FrozenClock
from tests.support.shop import NUMBER, Shop, store_id
from tests.support.ui import add_staff, sign_in, ui_client
from tests.unit.test_barcodes import decode_code128, widths_of_svg

OTHER_NUMBER = "SM00000002"  # the other store's order


@dataclass
class Desk:
    shop: Shop[Database]
    client: TestClient
    csrf: str
    boris: Picker

    def post(self, path: str, **form: Any) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf, **form})


@pytest.fixture
def desk(settings: Settings, db: Database, clock: FrozenClock) -> Iterator[Desk]:
    """Store 101 with Анна (on shift) and Борис (on shift), its new order SM00000001; store
    202 with its own order SM00000002; an operator of store 101 signed in."""
    shop = Shop(db, clock).on_shift()
    own_store = store_id(shop.store)
    boris = Picker(store_id=own_store, name="Борис", telegram_chat_id="22")
    with db.unit_of_work() as uow:
        uow.repo(PickerRepository).add(boris)
        assert boris.id is not None
        uow.repo(PickerRepository).add_shift(
            Shift(picker_id=boris.id, store_id=own_store, opened_at=clock())
        )
        store, anna = (
            uow.repo(StoreRepository).get(own_store),
            uow.repo(PickerRepository).get(shop.picker.id or 0),
        )
        assert store is not None
        assert anna is not None
        store.telegram_chat_id, anna.telegram_chat_id = "-100", "11"
        uow.commit()
    add_store(db, "202")
    body = envelope("order.created", order_payload("H2", storeID="202"))
    ingest_webhook(db, parse_webhook(body), IntakePolicy(), clock)
    add_staff(db, login="operator", role=Role.STORE_OPERATOR, store_id=own_store, now=clock())
    with ui_client(settings, db, clock) as client:
        csrf = sign_in(client, "operator")
        yield Desk(shop, client, csrf, boris)


def _order(db: Database, number: str) -> Any:
    with db.engine.connect() as connection:
        return connection.execute(select(orders).where(orders.c.number == number)).one()


def _rows(page: str) -> list[str]:
    return re.findall(r'data-test="board-row" data-order="([^"]+)"', page)


def test_the_board_lists_the_stores_active_orders_only(
    desk: Desk, db: Database, clock: FrozenClock
) -> None:
    page = desk.client.get("/ui/store/")
    assert page.status_code == 200
    assert _rows(page.text) == [NUMBER]
    assert OTHER_NUMBER not in page.text
    assert 'hx-trigger="every 10s' in page.text  # the live refresh
    fragment = desk.client.get("/ui/store/board", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert _rows(fragment.text) == [NUMBER]
    assert "<html" not in fragment.text
    assert "Новый" in fragment.text
    # the refresh shows what came since the page was loaded
    body = envelope("order.created", order_payload("H3"))
    ingest_webhook(db, parse_webhook(body), IntakePolicy(), clock)
    refreshed = desk.client.get("/ui/store/board", headers={"HX-Request": "true"})
    assert _rows(refreshed.text) == [NUMBER, "SM00000003"]


def test_the_board_shows_picker_lateness_and_flags_and_filters_them(
    desk: Desk, db: Database, clock: FrozenClock
) -> None:
    desk.shop.take()
    order = _order(db, NUMBER)
    deadline = clock() - timedelta(minutes=7, seconds=10)  # the session stays fresh
    with db.engine.begin() as connection:
        connection.execute(
            update(orders)
            .where(orders.c.id == order.id)
            .values(changed_by_customer=True, expected_assembly_at=deadline)
        )
        connection.execute(
            update(sm_notifications)
            .where(sm_notifications.c.order_id == order.id)
            .values(state="dead", attempts=3)
        )

    page = desk.client.get("/ui/store/").text
    row = page[page.index('data-test="board-row"') :]
    assert "В сборке" in row
    assert "Анна" in row
    assert "опоздание 8 мин" in row
    assert 'data-test="flag-changed"' in row
    assert 'data-test="flag-notification"' in row
    assert 'data-test="flag-courier"' not in row
    assert 'data-late="1"' in page

    assert _rows(desk.client.get("/ui/store/?late=1").text) == [NUMBER]
    assert _rows(desk.client.get("/ui/store/?status=new").text) == []
    assert _rows(desk.client.get("/ui/store/?status=in_assembly").text) == [NUMBER]
    assert _rows(desk.client.get(f"/ui/store/?picker={desk.boris.id}").text) == []
    assert _rows(desk.client.get(f"/ui/store/?picker={desk.shop.picker.id}").text) == [NUMBER]
    with db.engine.begin() as connection:
        connection.execute(
            update(orders)
            .where(orders.c.id == order.id)
            .values(expected_assembly_at=clock() + timedelta(minutes=10))
        )
    assert _rows(desk.client.get("/ui/store/?late=1").text) == []
    assert "осталось 10 мин" in desk.client.get("/ui/store/").text


def test_the_board_pages_by_deadline(desk: Desk, db: Database, clock: FrozenClock) -> None:
    for index in range(3, 106):  # 103 more orders: two pages of 100
        body = envelope("order.created", order_payload(f"H{index}"))
        ingest_webhook(db, parse_webhook(body), IntakePolicy(), clock)
    first = desk.client.get("/ui/store/").text
    assert len(_rows(first)) == 100
    link = re.search(r'href="([^"]+)" data-test="board-next"', first)
    assert link is not None
    second = desk.client.get(link.group(1).replace("&amp;", "&")).text
    rest = _rows(second)
    assert len(rest) == 4
    assert not set(rest) & set(_rows(first))
    assert 'data-test="board-next"' not in second


def test_the_card_shows_positions_contact_and_timeline(desk: Desk) -> None:
    desk.shop.take()
    page = desk.client.get(f"/ui/store/orders/{NUMBER}")
    assert page.status_code == 200
    text = page.text
    assert "Молоко Простоквашино" in text
    assert "Бананы весовые" in text
    assert text.count('data-test="position"') == 2
    assert "+79991111111" in text  # the customer's contact, to this store's staff
    assert "Иван Петров" in text
    assert "Позвоните за 10 минут" in text
    timeline = text[text.index('data-test="timeline"') :]
    assert "Событие SM: заказ создан" in timeline
    assert "Уведомление в SM: заказ принят" in timeline
    assert "Уведомление в SM: заказ в сборке" in timeline
    assert "Заказ получен" in timeline
    assert "Взят в сборку" in timeline


def test_another_stores_order_is_not_found(desk: Desk, db: Database) -> None:
    for path in ("", "/print", "/entry"):
        answer = desk.client.get(f"/ui/store/orders/{OTHER_NUMBER}{path}")
        assert answer.status_code == 404, path
        assert "Заказ не найден" in answer.text
        assert "Иван Петров" not in answer.text
    refused = desk.post(
        f"/ui/store/orders/{OTHER_NUMBER}/assign", picker_id=desk.boris.id, request_id="r-1"
    )
    assert refused.status_code == 303
    assert "error=order_not_found" in refused.headers["location"]
    assert _order(db, OTHER_NUMBER).picker_id is None


def test_hand_over_changes_the_picker_and_tells_as_the_api_does(desk: Desk, db: Database) -> None:
    desk.shop.take()
    form = {"picker_id": desk.boris.id, "request_id": "hand-over-1"}
    answer = desk.post(f"/ui/store/orders/{NUMBER}/assign", **form)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/ui/store/orders/{NUMBER}?done=assigned"
    assert _order(db, NUMBER).picker_id == desk.boris.id
    again = desk.post(f"/ui/store/orders/{NUMBER}/assign", **form)  # a double submit
    assert again.status_code == 303
    with db.engine.connect() as connection:
        messages = connection.execute(
            select(telegram_outbox.c.chat_id, telegram_outbox.c.text).order_by(telegram_outbox.c.id)
        ).all()
    # assignCollector's messages: the previous picker, the new one, the store's chat, once.
    assert [chat for chat, _ in messages] == ["11", "22", "-100"]
    assert len({text for _, text in messages}) == 1
    assert "Борис" in messages[0][1]
    card = desk.client.get(answer.headers["location"]).text
    assert "Заказ передан сборщику." in card
    assert 'data-test="card-picker">Борис' in card
    timeline = card[card.index('data-test="timeline"') :]
    assert timeline.count("передал(а) заказ сборщику Борис") == 1  # who did it, once
    assert "Сотрудник (operator)" in timeline
    assert timeline.count('data-source="telegram"') == 3

    board = desk.client.get("/ui/store/").text
    assert 'data-test="handover-form"' in board
    back = desk.post(
        f"/ui/store/orders/{NUMBER}/assign",
        picker_id=desk.shop.picker.id,
        request_id="hand-over-2",
        back="board",
    )
    assert back.headers["location"] == "/ui/store/?done=assigned"
    assert _order(db, NUMBER).picker_id == desk.shop.picker.id


def test_hand_over_to_a_picker_without_a_shift_is_refused(desk: Desk, db: Database) -> None:
    desk.shop.take()
    desk.shop.call("closeShift", pickerId=desk.boris.id)
    answer = desk.post(
        f"/ui/store/orders/{NUMBER}/assign", picker_id=desk.boris.id, request_id="r-2"
    )
    assert "error=no_open_shift" in answer.headers["location"]
    page = desk.client.get(answer.headers["location"]).text
    assert "У сборщика нет открытой смены" in page
    assert _order(db, NUMBER).picker_id == desk.shop.picker.id


def test_a_form_without_its_csrf_token_is_refused(desk: Desk, db: Database) -> None:
    desk.shop.take()
    answer = desk.client.post(
        f"/ui/store/orders/{NUMBER}/assign",
        data={"picker_id": str(desk.boris.id), "request_id": "r-3"},
    )
    assert answer.status_code == 403
    assert _order(db, NUMBER).picker_id == desk.shop.picker.id


def test_the_printed_list_carries_the_barcodes(desk: Desk) -> None:
    page = desk.client.get(f"/ui/store/orders/{NUMBER}/print")
    assert page.status_code == 200
    drawings = re.findall(r'(<svg[^>]*data-code="([^"]+)".*?</svg>)', page.text, flags=re.S)
    codes = {code: drawing for drawing, code in drawings}
    assert sorted(codes) == sorted([NUMBER, "100500", "200300"])
    for code, drawing in codes.items():
        assert decode_code128(widths_of_svg(drawing)) == code
    assert "Штучные товары" in page.text
    assert "Весовые товары" in page.text
    assert "@page" not in page.text  # print CSS is in the static sheet
    assert "store.css" in page.text


def test_the_entry_screen_records_the_printed_copy(desk: Desk, db: Database) -> None:
    entry = f"/ui/store/orders/{NUMBER}/entry"
    assert 'data-test="entry-take-form"' in desk.client.get(entry).text
    taken = desk.post(f"{entry}/take", picker_id=desk.shop.picker.id, request_id="take-1")
    assert taken.headers["location"] == f"{entry}?done=taken"

    wrong = desk.post(f"{entry}/pick", code="999", request_id="pick-0")
    assert "error=unknown_line" in wrong.headers["location"]
    milk = desk.post(f"{entry}/pick", code="100500", quantity="", request_id="pick-1")
    assert milk.headers["location"] == f"{entry}?done=picked"
    no_weight = desk.post(f"{entry}/pick", code="200300", quantity="1", request_id="pick-2")
    assert "error=weight_required" in no_weight.headers["location"]
    bananas = desk.post(
        f"{entry}/pick", code=" 200300 ", quantity="1", weight_grams="1310,5", request_id="pick-3"
    )
    assert bananas.headers["location"] == f"{entry}?done=picked"
    again = desk.post(  # the same scan sent twice: one pick
        f"{entry}/pick", code=" 200300 ", quantity="1", weight_grams="1310,5", request_id="pick-3"
    )
    assert again.status_code == 303

    with db.engine.connect() as connection:
        picked = dict(
            connection.execute(
                select(order_positions.c.line_no, order_positions.c.picked_weight_grams)
                .where(order_positions.c.order_id == _order(db, NUMBER).id)
                .order_by(order_positions.c.line_no)
            ).all()
        )
    assert picked[2] is not None
    assert str(picked[2]).startswith("1310.5")
    page = desk.client.get(entry).text
    assert page.count('class="picked"') == 2

    finished = desk.post(f"{entry}/finish", bags="2", request_id="finish-1")
    assert finished.headers["location"] == f"{entry}?done=finished"
    order = _order(db, NUMBER)
    assert order.status == "ready_for_delivery"
    assert order.bags == 2
    with db.engine.connect() as connection:
        kinds = connection.execute(
            select(sm_notifications.c.type)
            .where(sm_notifications.c.order_id == order.id)
            .order_by(sm_notifications.c.id)
        ).scalars()
        assert list(kinds) == [
            "order.accepted",
            "order.in_work",
            "order.assembled",
            "order.ready_for_delivery",
        ]


def test_the_entry_screen_replaces_a_line(desk: Desk) -> None:
    entry = f"/ui/store/orders/{NUMBER}/entry"
    desk.shop.take()
    replaced = desk.post(
        f"{entry}/replace",
        line_no="2",
        sku="200301",
        name="Яблоки весовые",
        quantity="1",
        price="189,00",
        weight_grams="1000",
        request_id="replace-1",
    )
    assert replaced.headers["location"] == f"{entry}?done=replaced"
    page = desk.client.get(entry).text
    assert "Яблоки весовые" in page
    assert "заменён на 200301" in page


def test_only_store_staff_reach_the_workstation(
    desk: Desk, db: Database, clock: FrozenClock
) -> None:
    add_staff(
        db,
        login="picker",
        role=Role.PICKER,
        store_id=store_id(desk.shop.store),
        picker_id=desk.shop.picker.id,
        now=clock(),
    )
    desk.client.cookies.clear()
    assert desk.client.get("/ui/store/").status_code == 303  # signed out: to the sign-in page
    sign_in(desk.client, "picker")
    assert desk.client.get("/ui/store/").status_code == 403


def _audited(db: Database) -> list[tuple[str, str]]:
    """The audit rows of the order SM00000001: (action, reason)."""
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(audit_log.c.action, audit_log.c.reason)
            .where(audit_log.c.target == f"order:{NUMBER}")
            .order_by(audit_log.c.id)
        ).all()
    return [(action, reason) for action, reason in rows]


def test_a_refused_store_action_writes_no_audit_row(desk: Desk, db: Database) -> None:
    desk.shop.take()
    desk.shop.call("closeShift", pickerId=desk.boris.id)
    form = {"picker_id": desk.boris.id, "request_id": "hand-over-9"}
    refused = desk.post(f"/ui/store/orders/{NUMBER}/assign", **form)
    assert "error=no_open_shift" in refused.headers["location"]
    assert _audited(db) == []

    desk.shop.call("openShift", pickerId=desk.boris.id)
    done = desk.post(f"/ui/store/orders/{NUMBER}/assign", **form)  # a refusal kept no requestId
    assert done.headers["location"].endswith("?done=assigned")
    desk.post(f"/ui/store/orders/{NUMBER}/assign", **form)  # sent again: answered, not redone
    reason = "передал(а) заказ сборщику Борис (запрос hand-over-9)"
    assert _audited(db) == [("store.assignCollector", reason)]


def test_a_change_whose_audit_row_fails_is_not_made(
    desk: Desk, db: Database, clock: FrozenClock
) -> None:
    """The change and its audit row are one transaction: an audit row that cannot be written
    (its author is no staff account) takes the change down with it."""
    spec = METHODS["takeOrder"]
    data = spec.request.model_validate({"orderNumber": NUMBER, "pickerId": desk.shop.picker.id})
    nobody = AuditNote(
        user_id=999_999, action="store.takeOrder", target=f"order:{NUMBER}", reason="—"
    )
    call = Call("", spec, "take-9", data, store_id=store_id(desk.shop.store), audit=nobody)
    with pytest.raises(IntegrityError):
        execute(db, call, AssemblyPolicy(), clock)
    assert _order(db, NUMBER).status == "new"
    assert _audited(db) == []
    with db.engine.connect() as connection:
        assert connection.execute(select(idempotency_keys.c.request_id)).all() == []


def test_a_reading_call_takes_no_audit_note(desk: Desk) -> None:
    spec = METHODS["getOrder"]
    note = AuditNote(user_id=1, action="store.getOrder", target=f"order:{NUMBER}", reason="—")
    with pytest.raises(ValueError, match="changes nothing"):
        Call("", spec, "read-1", spec.request.model_validate({"orderNumber": NUMBER}), audit=note)


def test_the_counter_hands_a_pickup_order_out_by_its_code(
    desk: Desk, db: Database, clock: FrozenClock
) -> None:
    """The board tells pickup from courier orders; the counter lists the ready pickup orders
    and hands one out with the customer's code; a wrong code is refused and changes nothing
    but the count, and the audit never holds the code."""
    body = envelope("order.created", order_payload("H3", shipmentMethod="pickup"))
    ingest_webhook(db, parse_webhook(body), IntakePolicy(), clock)
    pickup = "SM00000003"
    board = desk.client.get("/ui/store/").text
    rows = re.findall(r'data-order="([^"]+)".*?data-delivery="(\w+)"', board, re.S)
    kinds = dict(rows)
    assert kinds == {NUMBER: "courier", pickup: "pickup"}
    assert "Самовывоз" in board
    assert "Доставка" in board

    assert 'data-test="counter-empty"' in desk.client.get("/ui/store/counter").text
    desk.shop.call("takeOrder", orderNumber=pickup, pickerId=desk.shop.picker.id)
    desk.shop.call("recordPick", orderNumber=pickup, lineNo=1, quantity="2")
    desk.shop.call("recordPick", orderNumber=pickup, lineNo=2, quantity="1", weightGrams="1310")
    desk.shop.call("finishAssembly", orderNumber=pickup, bags=1)
    page = desk.client.get("/ui/store/counter").text
    assert re.findall(r'data-test="counter-row" data-order="([^"]+)"', page) == [pickup]
    code = _order(db, pickup).handout_code
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    refused = desk.post("/ui/store/counter", number=pickup, code=wrong, request_id="c1")
    assert refused.status_code == 303
    assert "Неверный код выдачи" in desk.client.get(refused.headers["location"]).text
    assert (_order(db, pickup).status, _order(db, pickup).handout_wrong_tries) == (
        "ready_for_delivery",
        1,
    )
    done = desk.post("/ui/store/counter", number=pickup, code=code, request_id="c2")
    assert "Заказ выдан покупателю." in desk.client.get(done.headers["location"]).text
    assert _order(db, pickup).status == "delivered"
    card = desk.client.get(f"/ui/store/orders/{pickup}").text
    assert re.search(r'data-test="card-status">Выдан<', card)
    with db.engine.connect() as connection:
        reasons = connection.execute(select(audit_log.c.reason)).scalars().all()
    assert any("выдан покупателю" in reason for reason in reasons)
    assert not any(code in reason for reason in reasons)
