"""Every SM event type, from its fixture file, through the real hook endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from smbridge.config import Settings
from smbridge.domain.store import Store
from smbridge.domain.webhook import JournalStatus
from smbridge.entrypoints.hook_app import create_hook_app, intake_policy
from smbridge.orders.service import replay_failed
from smbridge.service_layer.unit_of_work import Database
from tests.conftest import make_settings
from tests.e2e.hook_client import (
    FIXTURES,
    SM_ORDER,
    fixture,
    journal,
    post,
    row_counts,
    set_status,
    stored_order,
    telegram_texts,
)
from tests.e2e.hook_client import HOOK as HOOK_PATH
from tests.factories import add_store


@pytest.fixture
def client(db: Database, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_hook_app(settings, db)) as test_client:
        yield test_client


@pytest.fixture
def store(db: Database) -> Store:
    return add_store(db, "101", telegram_chat_id="-1001", import_key="lenina-1")


def test_there_is_a_fixture_for_every_event_type() -> None:
    names = {p.name.removesuffix(".json") for p in FIXTURES.glob("*.json")}
    assert names == {
        "order.created",
        "order.created.legal_entity",
        "order.updated",
        "order.changed",
        "order.paid",
        "order.received",
        "order.delivering",
        "order.delivered",
        "order.canceled",
        "order.cancelled",
        "courier.assigned",
        "courier.arrived",
        "unknown.event",
    }


def test_order_created_stores_the_order_and_answers_with_our_number(
    client: TestClient, db: Database, store: Store
) -> None:
    status, body = post(client, "order.created")
    assert (status, body["status"], body["number"]) == (200, "created", "SM00000001")
    expected = datetime.fromisoformat(body["expectedAssemblyTime"])
    assert expected.utcoffset() is not None
    assert body["expectedAssemblyTime"].endswith("+03:00")

    order = stored_order(db)
    assert (order.number, order.store_id, order.status) == ("SM00000001", store.id, "new")
    assert (order.customer_phone, order.total_price, order.delivery_cost) == (
        "+79991111111",
        Decimal("1078.65"),
        Decimal("99.00"),
    )
    weights = {p.sku: p.weight_grams for p in order.positions}
    assert weights == {
        "100500": None,
        "100505": Decimal("1250"),
        "100504": Decimal("350"),
        "100508": None,
        "100502": None,
    }
    assert order.positions[2].total_discount_price == Decimal("283.19")

    again = post(client, "order.created", path=HOOK_PATH.rstrip("/"))
    assert again == (status, body)
    assert journal(db) == [("order.created", "applied", 2)]


def test_a_legal_entity_keeps_its_details(client: TestClient, db: Database, store: Store) -> None:
    assert post(client, "order.created.legal_entity")[0] == 200
    order = stored_order(db, fixture("order.created.legal_entity")["payload"]["originalOrderId"])
    assert (order.customer["inn"], order.customer["kpp"]) == ("7701234567", "770101001")
    assert order.payment_methods == ["invoice"]


def test_order_updated_merges_the_new_basket(
    client: TestClient, db: Database, store: Store
) -> None:
    post(client, "order.created")
    assert post(client, "order.updated") == (200, {"status": "ok"})
    order = stored_order(db)
    quantities = {p.sku: p.quantity for p in order.positions}
    assert quantities["100500"] == Decimal(3)
    assert quantities["100502"] == Decimal(0)  # taken out by the customer
    assert quantities["100513"] == Decimal(2)  # added
    assert (order.comment, order.changed_by_customer) == ("Добавил шоколад", False)


def test_order_changed_during_assembly_is_flagged_for_the_picker(
    client: TestClient, db: Database, store: Store
) -> None:
    post(client, "order.created")
    set_status(db, "in_assembly")
    assert post(client, "order.changed")[0] == 200
    order = stored_order(db)
    assert order.changed_by_customer
    assert order.delivery_from is not None
    assert order.delivery_from.isoformat() == "2026-11-29T08:00:00+00:00"
    (text,) = telegram_texts(db)
    assert "изменил заказ №SM00000001" in text


def test_order_paid_records_the_amount(client: TestClient, db: Database, store: Store) -> None:
    post(client, "order.created")
    assert post(client, "order.paid")[0] == 200
    order = stored_order(db)
    assert (order.paid_amount, order.payment_state) == (Decimal("1004.37"), "paid")


@pytest.mark.parametrize("name", ["order.received", "order.delivering"])
def test_the_courier_takes_a_ready_order(
    client: TestClient, db: Database, store: Store, name: str
) -> None:
    post(client, "order.created")
    set_status(db, "ready_for_delivery")
    assert post(client, name)[0] == 200
    order = stored_order(db)
    assert order.status == "handed_over"
    assert order.handed_over_at is not None


def test_order_delivered_finishes_it(client: TestClient, db: Database, store: Store) -> None:
    post(client, "order.created")
    set_status(db, "handed_over")
    assert post(client, "order.delivered")[0] == 200
    assert stored_order(db).status == "delivered"
    assert post(client, "order.received")[0] == 200  # late, would go backwards
    assert stored_order(db).status == "delivered"
    assert journal(db)[-1][1] == "ignored"


@pytest.mark.parametrize(
    ("name", "reason"),
    [("order.canceled", "customer_request"), ("order.cancelled", "out_of_stock")],
)
def test_both_spellings_of_cancellation(
    client: TestClient, db: Database, store: Store, name: str, reason: str
) -> None:
    post(client, "order.created")
    set_status(db, "in_assembly")
    assert post(client, name)[0] == 200
    order = stored_order(db)
    assert (order.status, order.cancel_reason, order.cancelled_by) == ("cancelled", reason, "sm")
    (text,) = telegram_texts(db)
    assert "отменён" in text


def test_courier_events_are_recorded(client: TestClient, db: Database, store: Store) -> None:
    post(client, "order.created")
    assert post(client, "courier.assigned")[0] == 200
    assert post(client, "courier.arrived")[0] == 200
    order = stored_order(db)
    assert order.courier_assigned_at is not None
    assert order.courier_arrived_at is not None


def test_unknown_event_type_is_stored_and_acknowledged(
    client: TestClient, db: Database, store: Store
) -> None:
    assert post(client, "unknown.event") == (200, {"status": "ok"})
    assert journal(db) == [("order.rated", "ignored", 1)]


def test_events_before_their_order_wait_for_it(
    client: TestClient, db: Database, store: Store
) -> None:
    assert post(client, "order.paid") == (202, {"status": "accepted"})
    assert post(client, "courier.assigned")[0] == 202
    assert row_counts(db)["orders"] == 0
    post(client, "order.created")
    order = stored_order(db)
    assert order.paid_amount == Decimal("1004.37")
    assert order.courier_assigned_at is not None
    assert [s for _, s, _ in journal(db)] == ["applied", "applied", "applied"]


def test_unknown_store_is_kept_failed_alerted_and_replayable(
    db: Database, database_url: str
) -> None:
    settings = make_settings(database_url, operations_chat_id="-500")
    with TestClient(create_hook_app(settings, db)) as client:
        assert post(client, "order.created") == (202, {"status": "accepted"})
    assert journal(db) == [("order.created", "failed", 1)]
    (text,) = telegram_texts(db)
    assert "неизвестного магазина «101»" in text
    add_store(db, "101")
    with db.unit_of_work() as uow:
        (entry,) = uow.journal.with_status(JournalStatus.FAILED, 10)
        entry_id = entry.id
    assert entry_id is not None
    assert replay_failed(db, entry_id, intake_policy(settings)).value == "applied"
    assert stored_order(db).number == "SM00000001"


def test_store_is_found_by_import_key_when_the_id_is_unknown(
    client: TestClient, db: Database
) -> None:
    add_store(db, "other-id", import_key="lenina-1")
    assert post(client, "order.created")[1]["status"] == "created"
    assert stored_order(db).sm_order_id == SM_ORDER
