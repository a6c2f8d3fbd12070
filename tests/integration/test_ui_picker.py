"""The picker's app on both databases: a whole order picked through the pages, on the
assembly API's use cases (same notifications, same idempotency, same store scoping)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import pytest
from fastapi.testclient import TestClient

from smbridge.assembly.repository import PickerRepository
from smbridge.domain.marking_code import GS
from smbridge.domain.pick import PickRecord
from smbridge.domain.picker import Picker
from smbridge.domain.sm_order import SmOrderLine
from smbridge.domain.staff import Role
from smbridge.domain.weight_label import DEFAULT_PROFILE
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.unit_of_work import Database
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.orders.repository import OrderRepository
from smbridge.settings import Settings
from tests.factories import add_store, envelope, order_payload, position, weighed_position
from tests.support.clock import FrozenClock
from tests.support.ui import add_staff, sign_in, ui_client

MILK = "4601234567893"
BREAD = "4600000000017"
NUMBER = "SM00000001"
OTHER_NUMBER = "SM00000002"  # another store's order
MARKED = f"01{'0' + MILK}21AbC91De92fG1{GS}91EE06{GS}92{'Q' * 44}"


class Line(NamedTuple):
    line: SmOrderLine
    pick: PickRecord


@dataclass
class Stage:
    client: TestClient
    csrf: str
    db: Database
    picker_id: int

    def act(self, path: str, request_id: str, **fields: Any) -> tuple[int, dict[str, Any]]:
        response = self.client.post(
            f"/ui/picker{path}",
            data={"csrf_token": self.csrf, "request_id": request_id, **fields},
            headers={"X-CSRF-Token": self.csrf},
        )
        return response.status_code, response.json()

    def ok(self, path: str, request_id: str, **fields: Any) -> dict[str, Any]:
        status, body = self.act(path, request_id, **fields)
        assert (status, body["ok"]) == (200, True), body
        return body

    def positions(self, number: str = NUMBER) -> dict[int, Line]:
        with self.db.unit_of_work(read_only=True) as uow:
            order = uow.repo(OrderRepository).by_number(_store_of(uow, number), number)
            assert order is not None
            return {p.line_no: Line(p.line, p.pick) for p in order.positions}

    def notifications(self, number: str = NUMBER) -> list[str]:
        with self.db.unit_of_work(read_only=True) as uow:
            order = uow.repo(OrderRepository).by_number(_store_of(uow, number), number)
            assert order is not None
            assert order.id is not None
            return [n.type for n in uow.repo(NotificationOutbox).for_order(order.id)]


def _store_of(uow: Any, number: str) -> int:
    return 1 if number == NUMBER else 2


@pytest.fixture
def stage(settings: Settings, db: Database, clock: FrozenClock) -> Iterator[Stage]:
    store = add_store(db)
    other = add_store(db, "202")
    assert store.id == 1
    assert other.id == 2
    picker = Picker(store_id=store.id, name="Анна")
    with db.unit_of_work() as uow:
        uow.repo(PickerRepository).add(picker)
        uow.commit()
    assert picker.id is not None
    positions = [
        position(MILK, quantity=2, originalQuantity=2),
        weighed_position("12345", "1300"),
        position(BREAD, name="Хлеб Бородинский", quantity=1, originalQuantity=1),
    ]
    for sm_id, sm_store in (("H1", "101"), ("H2", "202")):
        body = order_payload(sm_id, storeID=sm_store, positions=positions)
        ingest_webhook(db, parse_webhook(envelope("order.created", body)), IntakePolicy(), clock)
    add_staff(
        db, login="anna", role=Role.PICKER, store_id=store.id, picker_id=picker.id, now=clock()
    )
    with ui_client(settings, db, clock) as client:
        yield Stage(client, sign_in(client, "anna"), db, picker.id)


def test_an_order_picked_through_the_app_reaches_ready_with_its_notifications(
    stage: Stage,
) -> None:
    home = stage.client.get("/ui/picker")
    assert home.status_code == 200
    assert 'data-test="shift-button"' in home.text
    assert "Откройте смену" in home.text

    stage.ok("/shift", "r-shift", action="open")
    listing = stage.client.get("/ui/picker").text
    assert f'data-order="{NUMBER}"' in listing
    assert OTHER_NUMBER not in listing  # another store's order is not listed

    body = stage.ok(f"/orders/{NUMBER}/take", "r-take")
    assert body["redirect"] == f"/ui/picker/orders/{NUMBER}"
    page = stage.client.get(f"/ui/picker/orders/{NUMBER}").text
    assert 'data-test="scan-input"' in page
    # pick path: by name (Бананы, Молоко, Хлеб), not SM's order
    assert [int(n) for n in re.findall(r'data-line="(\d+)"', page)] == [2, 1, 3]

    stage.ok(f"/orders/{NUMBER}/scan", "r-scan-1", code=MILK)
    stage.ok(f"/orders/{NUMBER}/scan", "r-scan-2", code=MARKED.replace(GS, "<GS>"))
    label = DEFAULT_PROFILE.compose("22", "12345", 1310)
    assert stage.ok(f"/orders/{NUMBER}/scan", "r-scan-3", code=label)["message"].endswith("1,31 кг")
    status, refused = stage.act(f"/orders/{NUMBER}/scan", "r-scan-4", code=MILK)
    assert (status, refused["ok"]) == (422, False)
    assert refused["message"] == "Эта позиция уже собрана полностью"

    lines = stage.positions()
    assert lines[1].pick.quantity == 2
    assert list(lines[1].pick.marking_codes) == [MARKED]
    assert lines[2].pick.weight_grams == Decimal(1310)

    stage.ok(
        f"/orders/{NUMBER}/lines/3/replace",
        "r-replace",
        sku="4600000000024",
        name="Хлеб Дарницкий",
        quantity="1",
        price="59,90",
    )
    stage.ok(f"/orders/{NUMBER}/finish", "r-finish", bags="2")
    assert 'data-test="ready-button"' in stage.client.get(f"/ui/picker/orders/{NUMBER}").text
    stage.ok(f"/orders/{NUMBER}/ready", "r-ready")

    lines = stage.positions()
    assert lines[3].line.replaced_by_sku == "4600000000024"
    assert lines[4].line.price == Decimal("59.90")
    assert stage.notifications() == [
        "order.accepted",  # by the hook
        "order.in_work",
        "order.assembled",
        "order.ready_for_delivery",
    ]


def test_typed_quantity_weight_and_shortage(stage: Stage) -> None:
    stage.ok("/shift", "r-shift", action="open")
    stage.ok(f"/orders/{NUMBER}/take", "r-take")
    asks = stage.ok(f"/orders/{NUMBER}/scan", "r-0", code="12345")  # weighed, by its code
    assert (asks["needsWeight"], asks["sound"]) == (2, "warn")
    assert stage.positions()[2].pick.quantity is None  # nothing counted without a weight
    stage.ok(f"/orders/{NUMBER}/lines/1", "r-1", quantity="1")
    stage.ok(f"/orders/{NUMBER}/lines/2", "r-2", quantity="1", weight_kg="1,255")
    stage.ok(f"/orders/{NUMBER}/lines/3", "r-3", quantity="0")
    status, refused = stage.act(f"/orders/{NUMBER}/lines/1", "r-4", quantity="5")
    assert (status, refused["message"]) == (422, "Собрано больше, чем заказано.")
    status, refused = stage.act(f"/orders/{NUMBER}/lines/2", "r-5", quantity="1", weight_kg="")
    assert status == 422
    lines = stage.positions()
    assert lines[1].pick.quantity == 1
    assert lines[3].pick.quantity == 0
    assert lines[2].pick.weight_grams == Decimal(1255)


def test_a_weighed_substitute_needs_its_weight(stage: Stage) -> None:
    stage.ok("/shift", "r-shift", action="open")
    stage.ok(f"/orders/{NUMBER}/take", "r-take")
    fields = {"sku": "12346", "name": "Бананы мини", "quantity": "1", "price": "150"}
    status, refused = stage.act(f"/orders/{NUMBER}/lines/2/replace", "r-1", **fields)
    assert (status, refused["message"]) == (422, "Для весового товара укажите вес в граммах.")
    stage.ok(f"/orders/{NUMBER}/lines/2/replace", "r-2", weight_kg="0,9", **fields)
    assert stage.positions()[4].pick.weight_grams == Decimal(900)


def test_the_same_request_id_twice_changes_nothing(stage: Stage) -> None:
    stage.ok("/shift", "r-shift", action="open")
    assert stage.ok("/shift", "r-shift", action="open")["message"] == "Смена открыта"
    stage.ok(f"/orders/{NUMBER}/take", "r-take")
    stage.ok(f"/orders/{NUMBER}/take", "r-take")
    stage.ok(f"/orders/{NUMBER}/scan", "r-scan", code=MILK)
    again = stage.ok(f"/orders/{NUMBER}/scan", "r-scan", code=MILK)  # the answer was lost
    assert again["message"] == "Скан уже учтён"
    assert stage.positions()[1].pick.quantity == 1
    assert stage.notifications() == ["order.accepted", "order.in_work"]


def test_another_stores_order_is_not_found(stage: Stage) -> None:
    stage.ok("/shift", "r-shift", action="open")
    assert stage.client.get(f"/ui/picker/orders/{OTHER_NUMBER}").status_code == 404
    status, body = stage.act(f"/orders/{OTHER_NUMBER}/take", "r-take")
    assert (status, body["message"]) == (404, "Заказ не найден в вашем магазине.")
    status, _ = stage.act(f"/orders/{OTHER_NUMBER}/scan", "r-scan", code=MILK)
    assert status == 404
    assert stage.notifications(OTHER_NUMBER) == ["order.accepted"]


def test_a_broken_marking_code_is_refused_in_russian(stage: Stage) -> None:
    stage.ok("/shift", "r-shift", action="open")
    stage.ok(f"/orders/{NUMBER}/take", "r-take")
    status, body = stage.act(f"/orders/{NUMBER}/scan", "r-scan", code=MARKED.replace(GS, ""))
    assert status == 422
    assert "разделитель GS" in body["message"]
    assert stage.positions()[1].pick.quantity is None


def test_an_action_without_its_csrf_token_is_refused(stage: Stage) -> None:
    response = stage.client.post("/ui/picker/shift", data={"action": "open", "request_id": "r"})
    assert response.status_code == 403


def test_a_substitute_is_searched_among_the_stores_orders(stage: Stage) -> None:
    found = stage.client.get("/ui/picker/substitutes", params={"q": "хлеб"}).json()["products"]
    assert found == [{"sku": BREAD, "name": "Хлеб Бородинский", "price": "89.90", "weighed": False}]
    by_sku = stage.client.get("/ui/picker/substitutes", params={"q": "12345"}).json()
    assert [p["weighed"] for p in by_sku["products"]] == [True]
    literal = stage.client.get("/ui/picker/substitutes", params={"q": "%"}).json()
    assert [p["sku"] for p in literal["products"]] == [MILK]  # "3,2%": the % is no wildcard


def test_the_sign_in_page_takes_a_badge_or_a_login_and_a_pin(stage: Stage) -> None:
    stage.client.cookies.clear()
    page = stage.client.get("/ui/picker/login")
    assert page.status_code == 200
    for element in ("picker-login-form", "picker-login", "picker-pin", "picker-login-submit"):
        assert f'data-test="{element}"' in page.text
