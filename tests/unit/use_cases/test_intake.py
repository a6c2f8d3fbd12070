"""The hook's use case on fakes: SM's events create, park, cancel, and are never doubled."""

from __future__ import annotations

from decimal import Decimal

from smbridge.domain.notification import DeliveryState
from smbridge.domain.status import OrderStatus
from smbridge.domain.webhook import JournalStatus
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from tests.factories import add_store, envelope, order_payload
from tests.support.clock import FrozenClock
from tests.support.fakes import FakeDatabase

POLICY = IntakePolicy(operations_chat_id="-100500")
SM_ID = "H1234567890"


def send(
    db: FakeDatabase, clock: FrozenClock, event_type: str, **payload: object
) -> tuple[int, dict[str, object]]:
    body = envelope(event_type, order_payload(SM_ID, **payload))
    answer = ingest_webhook(db, parse_webhook(body), POLICY, clock)
    return answer.status_code, answer.body


def journal(db: FakeDatabase) -> list[tuple[str, JournalStatus, int]]:
    return [(e.event_type, e.status, e.deliveries) for e in db.committed.journal]


def outbox(db: FakeDatabase) -> list[tuple[str, DeliveryState]]:
    return [(n.type, n.state) for n in db.committed.notifications]


def test_order_created_for_a_known_store_is_stored_and_accepted(
    db: FakeDatabase, clock: FrozenClock
) -> None:
    store = add_store(db)

    status, body = send(db, clock, "order.created")

    assert (status, body["status"], body["number"]) == (200, "created", "SM00000001")
    [order] = db.committed.orders
    assert (order.sm_order_id, order.store_id, order.status) == (SM_ID, store.id, OrderStatus.NEW)
    assert [p.line.sku for p in order.positions] == ["100500", "200300"]
    assert outbox(db) == [("order.accepted", DeliveryState.PENDING)]
    assert db.committed.notifications[0].order_id == order.id
    assert journal(db) == [("order.created", JournalStatus.APPLIED, 1)]


def test_a_redelivered_event_gets_its_first_answer_and_changes_nothing(
    db: FakeDatabase, clock: FrozenClock
) -> None:
    add_store(db)
    first = send(db, clock, "order.created")

    again = send(db, clock, "order.created")

    assert again == first
    assert len(db.committed.orders) == 1
    assert outbox(db) == [("order.accepted", DeliveryState.PENDING)]
    assert journal(db) == [("order.created", JournalStatus.APPLIED, 2)]


def test_an_event_for_an_unknown_order_is_parked(db: FakeDatabase, clock: FrozenClock) -> None:
    add_store(db)

    answer = send(db, clock, "order.paid", total={"discountTotalPrice": "300.10"})

    assert answer == (202, {"status": "accepted"})
    assert db.committed.orders == []
    assert journal(db) == [("order.paid", JournalStatus.PARKED, 1)]


def test_a_parked_event_takes_effect_when_its_order_arrives(
    db: FakeDatabase, clock: FrozenClock
) -> None:
    add_store(db)
    send(db, clock, "order.paid", total={"discountTotalPrice": "300.10"})

    send(db, clock, "order.created")

    assert db.committed.orders[0].paid_amount == Decimal("300.10")
    assert [status for _, status, _ in journal(db)] == [JournalStatus.APPLIED] * 2


def test_order_canceled_after_creation_cancels_it_and_supersedes_what_waits(
    db: FakeDatabase, clock: FrozenClock
) -> None:
    add_store(db)
    send(db, clock, "order.created")

    answer = send(db, clock, "order.canceled", cancellationReason="customer_refused")

    assert answer == (200, {"status": "ok"})
    [order] = db.committed.orders
    assert (order.status, order.cancelled_by) == (OrderStatus.CANCELLED, "sm")
    assert order.cancel_reason == "customer_refused"
    assert outbox(db) == [("order.accepted", DeliveryState.SUPERSEDED)]


def test_an_order_for_an_unmapped_store_waits_and_operations_are_told(
    db: FakeDatabase, clock: FrozenClock
) -> None:
    status, body = send(db, clock, "order.created")

    assert (status, body["status"]) == (200, "created")
    [order] = db.committed.orders
    assert order.awaits_store
    assert outbox(db) == []  # SM hears "accepted" only once a store takes it
    [alert] = db.committed.telegram_outbox
    assert (alert.chat_id, alert.order_id) == ("-100500", order.id)


def test_an_event_that_fails_to_apply_is_journaled_once_as_failed_and_nothing_else_stays(
    db: FakeDatabase, clock: FrozenClock
) -> None:
    add_store(db, timezone="Europe/Moskow")  # misspelt: no promise can be made

    answer = send(db, clock, "order.created")

    assert answer == (202, {"status": "accepted"})
    # The failed transaction's journal entry was rolled back; the second one records it.
    assert journal(db) == [("order.created", JournalStatus.FAILED, 1)]
    assert db.committed.orders == []
    assert outbox(db) == []
