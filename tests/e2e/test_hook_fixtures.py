"""Every SM event type, from its fixture file, through the real hook endpoint.

Each test posts fixture files exactly as SM would send them and reads back what the
service stored: the order, its positions, the webhook journal, the Telegram queue and the
SM notification outbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from smbridge.domain.store import Store
from smbridge.domain.webhook import EventType, normalize_event_type
from smbridge.entrypoints.hook_app import create_hook_app
from smbridge.intake.acceptance import settle_waiting
from smbridge.intake.service import intake_policy
from smbridge.kernel.database.tables import (
    order_positions,
    sm_notifications,
    telegram_outbox,
    webhook_journal,
)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from tests.conftest import make_settings
from tests.e2e.hook_client import (
    FIXTURES,
    HEADERS,
    HOOK,
    SM_ORDER,
    fixture,
    fixture_body,
    post,
    row_counts,
    set_status,
    stored_order,
)
from tests.factories import STORE_SM_ID, add_store
from tests.support.clock import FrozenClock

STORE_CHAT = "-1001"
OPERATIONS_CHAT = "-500"
LEGAL_ORDER = "H7700012399"
UNKNOWN_STORE_ORDER, EMPTY_ORDER = "H7700012377", "H7700012388"
#: Fixtures that are other orders than the story's: their SM order and store.
OTHER_ORDERS = {
    "order.created.legal_entity": (LEGAL_ORDER, STORE_SM_ID),
    "order.created.unknown_store": (UNKNOWN_STORE_ORDER, "999"),
    "order.created.without_positions": (EMPTY_ORDER, STORE_SM_ID),
}


@pytest.fixture
def client(db: Database, settings: Settings, clock: FrozenClock) -> Iterator[TestClient]:
    with TestClient(create_hook_app(settings, db, clock=clock)) as test_client:
        yield test_client


@pytest.fixture
def store(db: Database) -> Store:
    return add_store(db, STORE_SM_ID, telegram_chat_id=STORE_CHAT, import_key="lenina-1")


# --- reading back what was stored ---------------------------------------------------------


def journal_rows(db: Database) -> list[dict[str, Any]]:
    with db.engine.connect() as c:
        rows = c.execute(select(webhook_journal).order_by(webhook_journal.c.id)).mappings()
        return [dict(r) for r in rows]


def outbox_rows(db: Database) -> list[dict[str, Any]]:
    with db.engine.connect() as c:
        rows = c.execute(select(telegram_outbox).order_by(telegram_outbox.c.id)).mappings()
        return [dict(r) for r in rows]


def notification_rows(db: Database) -> list[tuple[str, str]]:
    with db.engine.connect() as c:
        rows = c.execute(
            select(sm_notifications.c.type, sm_notifications.c.state).order_by(
                sm_notifications.c.id
            )
        )
        return [(r.type, r.state) for r in rows]


def statuses(db: Database) -> list[tuple[str, str]]:
    return [(r["event_type"], r["status"]) for r in journal_rows(db)]


def created(client: TestClient) -> dict[str, Any]:
    status, body = post(client, "order.created")
    assert status == 200, body
    assert body["status"] == "created"
    return body


# --- the fixture files themselves ---------------------------------------------------------


def test_there_is_a_fixture_for_every_event_type_and_spelling() -> None:
    names = {p.name.removesuffix(".json") for p in FIXTURES.glob("*.json")}
    assert names == {
        "order.created",
        "order.created.legal_entity",
        "order.created.unknown_store",
        "order.created.without_positions",
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
    kinds = {normalize_event_type(fixture(n)["event_type"]) for n in names}
    assert kinds == {*EventType, None}  # every known type, and one we do not know


@pytest.mark.parametrize(
    "name", sorted(p.name.removesuffix(".json") for p in FIXTURES.glob("*.json"))
)
def test_fixtures_are_one_story_of_one_store(name: str) -> None:
    document = fixture(name)
    assert set(document) == {"event_type", "payload", "timestamp"}
    assert datetime.fromisoformat(document["timestamp"]).utcoffset() is not None
    payload = document["payload"]
    expected_order, expected_store = OTHER_ORDERS.get(name, (SM_ORDER, STORE_SM_ID))
    assert payload["originalOrderId"] == expected_order
    assert payload.get("storeID", STORE_SM_ID) == expected_store


# --- order.created ------------------------------------------------------------------------


def test_order_created_stores_the_order_and_answers_with_our_number(
    client: TestClient, db: Database, store: Store
) -> None:
    status, body = post(client, "order.created")
    assert status == 200
    assert set(body) == {"status", "number", "expectedAssemblyTime"}
    assert (body["status"], body["number"]) == ("created", "SM00000001")

    order = stored_order(db)
    # Received the day before its window: promised 15 min before the window opens.
    assert body["expectedAssemblyTime"] == "2026-11-29T09:45:00+03:00"

    assert (order.number, order.store_id, order.status) == ("SM00000001", store.id, "new")
    assert (order.header.sm_uuid, order.header.sm_state, order.header.payment_state) == (
        "6f1c2a9e-58b4-4c1e-9d0a-3b7f2e8c1a55",
        "new",
        "not_paid",
    )
    assert (order.customer_name, order.customer_phone) == ("Иван Петров", "+79991111111")
    assert order.header.address["apartment"] == "45"
    assert order.header.comment == "Позвоните за 10 минут, домофон 45"
    assert (order.header.delivery_from, order.header.delivery_to) == (
        datetime(2026, 11, 29, 7, 0, tzinfo=UTC),
        datetime(2026, 11, 29, 8, 0, tzinfo=UTC),
    )
    assert order.header.complete_before == datetime(2026, 11, 29, 6, 45, tzinfo=UTC)
    assert (
        order.header.is_planned,
        order.header.shipment_method,
        order.header.replacement_policy,
    ) == (
        True,
        "by_courier",
        "call_or_replace",
    )
    assert order.header.payment_methods == ["card_online", "sber_spasibo"]
    money = (
        order.header.total_price,
        order.header.discount_total_price,
        order.header.delivery_cost,
    )
    assert [str(m) for m in money] == ["1079.10", "1027.64", "99.00"]

    lines = [
        (
            p.line_no,
            p.line.sku,
            p.line.name,
            str(p.line.original_quantity),
            str(p.line.quantity),
            str(p.line.price),
            str(p.line.discount_price),
            str(p.line.total_price),
            str(p.line.total_discount_price),
            None if p.line.weight_grams is None else str(p.line.weight_grams),
            p.line.state,
            p.pick.source,
            p.pick.quantity,
        )
        for p in order.positions
    ]
    assert lines == [
        (1, "100500", "Молоко Простоквашино 3,2% 930 мл", "2", "2", "89.90", "79.90", "179.80",
         "159.80", None, "new", "sm", None),
        (2, "100505", "Бананы", "1", "1", "129.00", "129.00", "161.25", "161.25", "1250",
         "new", "sm", None),
        (3, "100504", "Сыр Российский 45%", "1", "1", "899.00", "809.10", "314.65", "283.19",
         "350", "new", "sm", None),
        (4, "100508", "Вода Святой Источник 1,5 л", "6", "6", "59.90", "59.90", "359.40",
         "359.40", None, "new", "sm", None),
        (5, "100502", "Хлеб Бородинский 400 г", "1", "1", "64.00", "64.00", "64.00", "64.00",
         None, "new", "sm", None),
    ]  # fmt: skip
    assert all(isinstance(p.line.weight_grams, Decimal | None) for p in order.positions)

    (entry,) = journal_rows(db)
    assert (entry["event_type"], entry["status"], entry["deliveries"]) == (
        "order.created",
        "applied",
        1,
    )
    assert (entry["order_id"], entry["sm_order_id"]) == (order.id, SM_ORDER)
    assert (entry["reply_status"], entry["reply_body"]) == (200, body)
    assert orjson.loads(entry["body"]) == fixture("order.created")
    # We tell SM we accepted it, in the same transaction (the dispatcher sends it later).
    assert notification_rows(db) == [("order.accepted", "pending")]


def test_a_repeated_order_created_gets_the_same_answer_and_no_second_order(
    client: TestClient, db: Database, store: Store
) -> None:
    first = post(client, "order.created")
    assert first[0] == 200
    # The same event again, once on the path without the trailing slash.
    assert post(client, "order.created", path=HOOK.rstrip("/")) == first
    # SM re-serialized it: other key order and spacing, same event.
    reformatted = json.dumps(fixture("order.created"), ensure_ascii=False, sort_keys=True)
    response = client.post(HOOK, content=reformatted.encode(), headers=HEADERS)
    assert (response.status_code, response.json()) == first

    (entry,) = journal_rows(db)
    assert (entry["status"], entry["deliveries"]) == ("applied", 3)
    assert entry["last_received_at"] >= entry["received_at"]
    counts = row_counts(db)
    assert (counts["orders"], counts["order_positions"], counts["sm_notifications"]) == (1, 5, 1)


def test_a_legal_entity_keeps_its_details(client: TestClient, db: Database, store: Store) -> None:
    status, body = post(client, "order.created.legal_entity")
    assert (status, body["number"]) == (200, "SM00000001")
    order = stored_order(db, LEGAL_ORDER)
    assert order.customer_name == "ООО «Ромашка»"
    assert (
        order.header.customer["inn"],
        order.header.customer["kpp"],
        order.header.customer["legalAddress"],
    ) == (
        "7701234567",
        "770101001",
        "Москва, ул. Тверская, д. 10, офис 5",
    )
    assert order.header.payment_methods == ["invoice"]
    assert len(order.positions) == 5


def test_store_is_found_by_import_key_when_the_id_is_unknown(
    client: TestClient, db: Database
) -> None:
    other = add_store(db, "other-id", import_key="lenina-1")
    assert created(client)["number"] == "SM00000001"
    assert stored_order(db).store_id == other.id


# --- order.updated / order.changed --------------------------------------------------------


def test_order_updated_merges_the_new_basket_of_a_new_order(
    client: TestClient, db: Database, store: Store
) -> None:
    created(client)
    assert post(client, "order.updated") == (200, {"status": "ok"})
    order = stored_order(db)
    lines = {
        p.line.sku: (p.line_no, str(p.line.quantity), str(p.line.total_price))
        for p in order.positions
    }
    assert lines == {
        "100500": (1, "3", "269.70"),
        "100505": (2, "1", "161.25"),
        "100504": (3, "1", "314.65"),
        "100508": (4, "6", "359.40"),
        "100502": (5, "0", "64.00"),  # taken out by the customer: kept at zero
        "100513": (6, "2", "199.80"),  # added
    }
    assert (str(order.header.total_price), str(order.header.discount_total_price)) == (
        "1304.80",
        "1243.34",
    )
    assert order.header.comment == "Добавил шоколад"
    assert (order.status, order.changed_by_customer) == ("new", False)
    assert outbox_rows(db) == []  # nobody works on it yet: nobody to warn
    assert statuses(db) == [("order.created", "applied"), ("order.updated", "applied")]


@pytest.mark.parametrize("name", ["order.changed", "order.updated"])
def test_a_change_during_assembly_is_merged_flagged_and_the_store_warned(
    client: TestClient, db: Database, store: Store, name: str
) -> None:
    created(client)
    set_status(db, "in_assembly")
    with db.engine.begin() as c:  # the picker already weighed the bananas
        c.execute(
            order_positions.update()
            .where(order_positions.c.sku == "100505")
            .values(picked_quantity=Decimal(1), picked_weight_grams=Decimal("1310"))
        )
    assert post(client, name) == (200, {"status": "ok"})

    order = stored_order(db)
    assert order.status == "in_assembly"
    assert order.changed_by_customer
    assert order.changed_at is not None
    bananas = next(p for p in order.positions if p.line.sku == "100505")
    assert (bananas.pick.quantity, bananas.pick.weight_grams) == (Decimal(1), Decimal(1310))
    if name == "order.changed":  # the older spelling moved the window one hour later
        assert order.header.delivery_from == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
        assert order.header.comment == "Позвоните за 10 минут, домофон 45"
    else:
        assert {p.line.sku for p in order.positions} >= {"100513"}

    (message,) = outbox_rows(db)
    assert (message["chat_id"], message["store_id"], message["order_id"]) == (
        STORE_CHAT,
        store.id,
        order.id,
    )
    assert message["status"] == "queued"
    assert "Покупатель изменил заказ №SM00000001" in message["text"]
    assert "во время сборки" in message["text"]


def test_a_change_after_the_final_contents_went_to_sm_is_not_applied(
    client: TestClient, db: Database, store: Store
) -> None:
    created(client)
    set_status(db, "ready_for_delivery")
    assert post(client, "order.updated") == (200, {"status": "ok"})
    order = stored_order(db)
    assert order.changed_by_customer
    assert "100513" not in {p.line.sku for p in order.positions}  # the basket was not touched
    assert order.header.comment == "Позвоните за 10 минут, домофон 45"
    assert journal_rows(db)[-1]["status"] == "ignored"
    (message,) = outbox_rows(db)
    assert message["chat_id"] == STORE_CHAT
    assert "после того, как состав был отправлен" in message["text"]


# --- payment and courier ------------------------------------------------------------------


def test_order_paid_records_the_amount(client: TestClient, db: Database, store: Store) -> None:
    created(client)
    assert post(client, "order.paid") == (200, {"status": "ok"})
    order = stored_order(db)
    assert (str(order.paid_amount), order.header.payment_state) == ("1004.37", "paid")
    assert order.paid_at is not None
    assert order.status == "new"  # payment is a fact, not a step of the picking flow
    assert statuses(db)[-1] == ("order.paid", "applied")


def test_courier_events_are_recorded_once(client: TestClient, db: Database, store: Store) -> None:
    created(client)
    assert post(client, "courier.assigned") == (200, {"status": "ok"})
    assert post(client, "courier.arrived") == (200, {"status": "ok"})
    order = stored_order(db)
    assert order.courier_assigned_at is not None
    assert order.courier_arrived_at is not None
    assert order.courier_assigned_at <= order.courier_arrived_at
    assert order.status == "new"

    assert post(client, "courier.assigned") == (200, {"status": "ok"})  # redelivered
    again = stored_order(db)
    assert again.courier_assigned_at == order.courier_assigned_at
    assert [r["deliveries"] for r in journal_rows(db)] == [1, 2, 1]


# --- the courier takes it, delivers it ----------------------------------------------------


@pytest.mark.parametrize("name", ["order.received", "order.delivering"])
def test_the_courier_takes_a_ready_order_and_delivers_it(
    client: TestClient, db: Database, store: Store, name: str
) -> None:
    created(client)
    set_status(db, "ready_for_delivery")
    assert post(client, name) == (200, {"status": "ok"})
    order = stored_order(db)
    assert order.status == "handed_over"
    assert order.handed_over_at is not None
    assert order.delivered_at is None

    assert post(client, "order.delivered") == (200, {"status": "ok"})
    order = stored_order(db)
    assert order.status == "delivered"
    assert order.delivered_at is not None
    assert order.handed_over_at is not None
    assert order.delivered_at >= order.handed_over_at
    assert statuses(db) == [
        ("order.created", "applied"),
        (name, "applied"),
        ("order.delivered", "applied"),
    ]


def test_an_event_that_would_move_the_order_backwards_is_kept_but_not_applied(
    client: TestClient, db: Database, store: Store
) -> None:
    created(client)
    set_status(db, "ready_for_delivery")
    assert post(client, "order.delivered") == (200, {"status": "ok"})  # before the hand-over
    delivered = stored_order(db)
    assert (delivered.status, delivered.handed_over_at) == ("delivered", None)

    for late in ("order.received", "order.delivering", "order.canceled", "order.updated"):
        assert post(client, late) == (200, {"status": "ok"}), late

    order = stored_order(db)
    assert (order.status, order.handed_over_at, order.cancelled_at) == ("delivered", None, None)
    assert order.delivered_at == delivered.delivered_at
    assert "100513" not in {p.line.sku for p in order.positions}
    rows = journal_rows(db)
    assert [(r["event_type"], r["status"]) for r in rows[2:]] == [
        ("order.received", "ignored"),
        ("order.delivering", "ignored"),
        ("order.canceled", "ignored"),
        ("order.updated", "ignored"),
    ]
    assert rows[2]["detail"] == "not_regressed: order is already delivered"
    assert all(r["order_id"] == order.id for r in rows)
    assert outbox_rows(db) == []


# --- cancellation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spellings", "reason"),
    [
        (("order.canceled", "order.cancelled"), "customer_request"),
        (("order.cancelled", "order.canceled"), "out_of_stock"),
    ],
)
def test_cancellation_during_assembly_stops_the_picker(
    client: TestClient, db: Database, store: Store, spellings: tuple[str, str], reason: str
) -> None:
    name, other = spellings
    created(client)
    set_status(db, "in_assembly")
    assert post(client, name) == (200, {"status": "ok"})
    order = stored_order(db)
    assert (order.status, order.cancel_reason, order.cancelled_by) == ("cancelled", reason, "sm")
    assert order.cancelled_at is not None

    (message,) = outbox_rows(db)
    assert (message["chat_id"], message["store_id"], message["order_id"]) == (
        STORE_CHAT,
        store.id,
        order.id,
    )
    assert message["text"].startswith("Заказ №SM00000001 (СберМаркет H7700012345) отменён")
    assert f"Причина: {reason}." in message["text"]
    # Nothing more goes to SM about a cancelled order.
    assert notification_rows(db) == [("order.accepted", "superseded")]

    # The other spelling of the same cancellation: no change, no second message.
    assert post(client, other) == (200, {"status": "ok"})
    again = stored_order(db)
    assert (again.cancel_reason, again.cancelled_at) == (reason, order.cancelled_at)
    assert len(outbox_rows(db)) == 1
    assert statuses(db)[-1] == (other, "applied")


def test_cancelling_a_new_order_needs_no_message(
    client: TestClient, db: Database, store: Store
) -> None:
    created(client)
    assert post(client, "order.canceled") == (200, {"status": "ok"})
    assert stored_order(db).status == "cancelled"
    assert outbox_rows(db) == []


# --- unknown types, early events, unknown stores ------------------------------------------


def test_unknown_event_type_is_stored_and_acknowledged(
    client: TestClient, db: Database, store: Store
) -> None:
    assert post(client, "unknown.event") == (200, {"status": "ok"})
    (entry,) = journal_rows(db)
    assert (entry["event_type"], entry["status"], entry["sm_order_id"]) == (
        "order.rated",
        "ignored",
        SM_ORDER,
    )
    assert entry["detail"] == "unknown event type: stored only"
    assert entry["body"] == fixture_body("unknown.event").decode()
    assert post(client, "unknown.event") == (200, {"status": "ok"})
    assert journal_rows(db)[0]["deliveries"] == 2
    assert row_counts(db)["orders"] == 0


def test_events_before_their_order_wait_for_it(
    client: TestClient, db: Database, store: Store
) -> None:
    assert post(client, "order.paid") == (202, {"status": "accepted"})
    assert post(client, "courier.assigned") == (202, {"status": "accepted"})
    assert row_counts(db)["orders"] == 0
    parked = journal_rows(db)
    assert [(r["status"], r["detail"], r["order_id"]) for r in parked] == [
        ("parked", "order not received yet", None),
        ("parked", "order not received yet", None),
    ]

    created(client)
    order = stored_order(db)
    assert str(order.paid_amount) == "1004.37"
    assert order.header.payment_state == "paid"
    assert order.courier_assigned_at is not None
    # The facts keep the time SM told us about them, not the time they were applied.
    assert order.paid_at == parked[0]["received_at"]
    assert [(r["status"], r["order_id"]) for r in journal_rows(db)] == [
        ("applied", order.id),
        ("applied", order.id),
        ("applied", order.id),
    ]
    # A redelivery of an early event is answered as the first time, and changes nothing.
    assert post(client, "order.paid") == (202, {"status": "accepted"})
    assert journal_rows(db)[0]["deliveries"] == 2


def test_a_cancellation_before_the_order_cancels_it_on_arrival(
    client: TestClient, db: Database, store: Store
) -> None:
    assert post(client, "order.cancelled") == (202, {"status": "accepted"})
    body = created(client)  # SM still gets "created" and our number
    assert body["number"] == "SM00000001"
    order = stored_order(db)
    assert (order.status, order.cancel_reason) == ("cancelled", "out_of_stock")
    assert notification_rows(db) == [("order.accepted", "superseded")]
    assert outbox_rows(db) == []  # nobody had started on it


def test_an_order_for_an_unknown_store_is_created_and_waits_for_its_store(
    db: Database, database_url: str, store: Store
) -> None:
    """SM's rule: "created" and our number, whatever follows (SM-API.md §1)."""
    settings = make_settings(database_url, operations_chat_id=OPERATIONS_CHAT)
    with TestClient(create_hook_app(settings, db, clock=FrozenClock())) as client:
        status, body = post(client, "order.created.unknown_store")
        assert (status, body["status"], body["number"]) == (200, "created", "SM00000001")
        assert datetime.fromisoformat(body["expectedAssemblyTime"]).utcoffset() == timedelta(
            hours=3
        )
        assert post(client, "order.created.unknown_store") == (status, body)  # SM retries

    order = stored_order(db, UNKNOWN_STORE_ORDER)
    assert (order.store_id, order.sm_store_id, order.sm_store_import_key, order.status) == (
        None,
        "999",
        "gagarina-3",
        "new",
    )
    (entry,) = journal_rows(db)
    assert (entry["status"], entry["deliveries"], entry["order_id"]) == ("applied", 2, order.id)
    assert entry["detail"] == "store not mapped yet: waits for it"
    assert notification_rows(db) == []  # order.accepted waits for the store
    (alert,) = outbox_rows(db)
    assert (alert["chat_id"], alert["store_id"], alert["order_id"]) == (
        OPERATIONS_CHAT,
        None,
        order.id,
    )
    assert alert["text"].startswith(
        "Заказ СберМаркета H7700012377 пришёл для неизвестного магазина «999». "
        "Заказ принят (№SM00000001) и ждёт магазин 30 мин."
    )

    mapped = add_store(db, "999")
    policy = intake_policy(settings)
    assert settle_waiting(db, policy, order.received_at + timedelta(minutes=5))["adopted"] == 1
    adopted = stored_order(db, UNKNOWN_STORE_ORDER)
    assert (adopted.store_id, adopted.status) == (mapped.id, "new")
    assert notification_rows(db) == [("order.accepted", "pending")]


def test_an_unknown_stores_order_is_cancelled_when_its_wait_runs_out(
    db: Database, settings: Settings, client: TestClient
) -> None:
    assert post(client, "order.created.unknown_store")[0] == 200
    order = stored_order(db, UNKNOWN_STORE_ORDER)
    policy = intake_policy(settings)
    assert settle_waiting(db, policy, order.received_at + timedelta(minutes=30))["cancelled"] == 1
    cancelled = stored_order(db, UNKNOWN_STORE_ORDER)
    assert (cancelled.status, cancelled.cancel_reason, cancelled.cancelled_by) == (
        "cancelled",
        "technical_issues",
        "smbridge",
    )
    assert notification_rows(db) == [("order.canceled", "pending")]
    with db.engine.connect() as c:
        payload = c.execute(select(sm_notifications.c.payload)).scalar_one()
    assert payload == {"order_id": UNKNOWN_STORE_ORDER, "reason": "technical_issues"}


def test_an_order_without_positions_is_created_then_cancelled(
    client: TestClient, db: Database, store: Store
) -> None:
    """A 400 would make SM retry it for ever."""
    status, body = post(client, "order.created.without_positions")
    assert (status, body["status"], body["number"]) == (200, "created", "SM00000001")
    assert post(client, "order.created.without_positions") == (status, body)

    order = stored_order(db, EMPTY_ORDER)
    assert (order.store_id, order.status, order.cancel_reason, order.positions) == (
        store.id,
        "cancelled",
        "technical_issues",
        [],
    )
    assert journal_rows(db)[0]["detail"] == "no positions: cancelled (technical_issues)"
    assert notification_rows(db) == [("order.canceled", "pending")]  # no order.accepted
    (alert,) = outbox_rows(db)
    assert "H7700012388 (№SM00000001) пришёл без позиций и отменён" in alert["text"]


@pytest.mark.parametrize(
    ("received", "promised"),
    [
        # the window is far off: 15 min before it opens (10:00 Moscow)
        ("2026-11-28T12:00:00+03:00", "2026-11-29T09:45:00+03:00"),
        # the window is near: the store's 30 min lead after receipt is later
        ("2026-11-29T09:40:00+03:00", "2026-11-29T10:10:00+03:00"),
        # exactly where both rules give the same time
        ("2026-11-29T09:15:00+03:00", "2026-11-29T09:45:00+03:00"),
        # just before midnight in Moscow, already the next day in UTC terms of the window
        ("2026-11-28T23:59:30+03:00", "2026-11-29T09:45:00+03:00"),
    ],
)
def test_expected_assembly_time_is_the_later_of_lead_and_window(
    client: TestClient, store: Store, clock: FrozenClock, received: str, promised: str
) -> None:
    clock.now = datetime.fromisoformat(received)
    status, body = post(client, "order.created")
    assert (status, body["expectedAssemblyTime"]) == (200, promised)


# --- SM's free text and odd ids (found while testing: see the report) ---------------------


def test_a_long_cancellation_description_still_cancels_the_order(
    client: TestClient, db: Database, store: Store
) -> None:
    """SM may send only a human description, and it may be long; the cancel must hold."""
    created(client)
    set_status(db, "in_assembly")
    document = fixture("order.cancelled")
    description = (
        "Покупатель отменил заказ в приложении: не успевает встретить курьера в выбранный "
        "интервал, просит не перезванивать; деньги будут возвращены на карту в течение "
        "трёх рабочих дней, товары вернуть на полки, замену не предлагать."
    )
    assert len(description) > 200
    document["payload"]["cancellation"] = {"description": description}
    body = json.dumps(document, ensure_ascii=False).encode()
    response = client.post(HOOK, content=body, headers=HEADERS)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    order = stored_order(db)
    assert order.status == "cancelled"
    assert order.cancel_reason is not None
    assert order.cancel_reason.startswith("Покупатель отменил заказ в приложении")
    assert statuses(db)[-1] == ("order.cancelled", "applied")
    assert len(outbox_rows(db)) == 1  # the picker is told to stop


def test_an_unknown_event_with_an_odd_order_id_is_still_stored(
    db: Database, settings: Settings, store: Store
) -> None:
    """Unknown types are never rejected (SM adds types), whatever their payload holds."""
    document = fixture("unknown.event")
    document["payload"]["originalOrderId"] = "H" + "7" * 80
    body = json.dumps(document, ensure_ascii=False).encode()
    app = create_hook_app(settings, db, clock=FrozenClock())
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(HOOK, content=body, headers=HEADERS)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert statuses(db) == [("order.rated", "ignored")]
