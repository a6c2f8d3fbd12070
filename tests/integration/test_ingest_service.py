"""The hook's use cases on real databases: parking, failures, replay, redelivery."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from smbridge.domain.order import Order
from smbridge.domain.status import OrderStatus
from smbridge.domain.webhook import JournalStatus
from smbridge.intake.events import parse_webhook
from smbridge.intake.failures import AutoReplay, replay_due_failures, replay_failed
from smbridge.intake.service import IntakePolicy, WebhookResponse, ingest_webhook
from smbridge.kernel.database.tables import orders, stores, telegram_outbox, webhook_journal
from smbridge.kernel.database.unit_of_work import Database
from smbridge.orders.repository import OrderRepository
from tests.factories import add_store, envelope, order_payload
from tests.support.clock import FrozenClock

POLICY = IntakePolicy(operations_chat_id="-100500")
SM_ID = "H1234567890"


def send(db: Database, event_type: str, **payload: object) -> WebhookResponse:
    body = envelope(event_type, order_payload(SM_ID, **payload))
    return ingest_webhook(db, parse_webhook(body), POLICY, FrozenClock())


def journal(db: Database) -> list[tuple[str, str, int]]:
    with db.engine.connect() as c:
        rows = c.execute(
            select(
                webhook_journal.c.event_type, webhook_journal.c.status, webhook_journal.c.deliveries
            ).order_by(webhook_journal.c.id)
        )
        return [(r.event_type, r.status, r.deliveries) for r in rows]


def failed_id(db: Database) -> int:
    with db.engine.connect() as c:
        return int(
            c.execute(
                select(webhook_journal.c.id).where(webhook_journal.c.status == "failed")
            ).scalar_one()
        )


def count(db: Database, table: object) -> int:
    with db.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def the_order(db: Database) -> Order:
    with db.unit_of_work() as uow:
        order = uow.repo(OrderRepository).by_sm_id(SM_ID)
        assert order is not None
        uow.session.expunge(order)  # readable after the unit of work ends
        return order


def test_events_before_their_order_are_parked_then_applied_in_arrival_order(db: Database) -> None:
    add_store(db)
    assert send(db, "order.paid", total={"discountTotalPrice": "300.10"}).status_code == 202
    assert send(db, "courier.assigned").status_code == 202
    assert [s for _, s, _ in journal(db)] == ["parked", "parked"]
    assert count(db, orders) == 0

    created = send(db, "order.created")

    assert created.body["status"] == "created"
    order = the_order(db)
    assert order.paid_amount == Decimal("300.10")
    assert order.courier_assigned_at is not None
    assert [s for _, s, _ in journal(db)] == ["applied", "applied", "applied"]


def test_redelivery_of_a_parked_event_gets_its_first_answer(db: Database) -> None:
    add_store(db)
    first = send(db, "order.delivered")
    send(db, "order.created")
    again = send(db, "order.delivered")
    assert (
        (again.status_code, again.body)
        == (first.status_code, first.body)
        == (202, {"status": "accepted"})
    )
    assert journal(db)[0] == ("order.delivered", "ignored", 2)  # refused from new, counted


def test_every_redelivery_is_counted_and_changes_nothing(db: Database) -> None:
    add_store(db)
    replies = [send(db, "order.created") for _ in range(3)]
    assert {r.body["number"] for r in replies} == {"SM00000001"}
    assert journal(db) == [("order.created", "applied", 3)]
    assert count(db, orders) == 1


def test_order_created_again_with_another_body_answers_the_same_number(db: Database) -> None:
    add_store(db)
    first = send(db, "order.created")
    second = send(db, "order.created", comment="другой комментарий")
    assert second.body == first.body
    assert count(db, orders) == 1
    assert the_order(db).header.comment == "Позвоните за 10 минут"


def test_a_failed_event_is_replayed_after_its_cause_is_fixed(db: Database) -> None:
    store = add_store(db, timezone="Europe/Moskow")  # misspelt: no promise can be made
    assert send(db, "order.created").status_code == 202
    entry_id = failed_id(db)
    assert replay_failed(db, entry_id, POLICY, FrozenClock()) is JournalStatus.FAILED
    with db.engine.connect() as c:
        status, attempts, detail = c.execute(
            select(webhook_journal.c.status, webhook_journal.c.attempts, webhook_journal.c.detail)
        ).one()
    assert (status, attempts) == ("failed", 2)
    assert "Europe/Moskow" in detail
    assert count(db, orders) == 0

    with db.engine.begin() as c:
        c.execute(stores.update().values(timezone="Europe/Moscow"))
    assert replay_failed(db, entry_id, POLICY, FrozenClock()) is JournalStatus.APPLIED
    assert (the_order(db).number, the_order(db).store_id) == ("SM00000001", store.id)


def test_replay_of_an_applied_event_does_nothing(db: Database) -> None:
    add_store(db)
    send(db, "order.created")
    with db.engine.connect() as c:
        entry_id = int(c.execute(select(webhook_journal.c.id)).scalar_one())
    assert replay_failed(db, entry_id, POLICY, FrozenClock()) is JournalStatus.APPLIED
    assert count(db, orders) == 1
    with pytest.raises(LookupError):
        replay_failed(db, 999, POLICY, FrozenClock())


@pytest.fixture
def broken_hand_over(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(self: Order, *_args: object) -> None:
        raise ZeroDivisionError("a bug in applying")

    monkeypatch.setattr(Order, "hand_over", explode)


def test_a_bug_while_applying_keeps_the_event_and_changes_nothing_else(
    db: Database, broken_hand_over: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_store(db)
    send(db, "order.created")
    the_order_before = the_order(db)

    reply = send(db, "order.received")

    assert reply.status_code == 202
    assert journal(db)[1][:2] == ("order.received", "failed")
    entry_id = failed_id(db)
    assert the_order(db).status == the_order_before.status == OrderStatus.NEW.value
    assert count(db, telegram_outbox) == 0

    monkeypatch.undo()  # the bug is fixed; the event is applied on replay
    with db.engine.begin() as c:
        c.execute(orders.update().values(status=OrderStatus.READY.value))
    assert replay_failed(db, entry_id, POLICY, FrozenClock()) is JournalStatus.APPLIED
    assert the_order(db).status == OrderStatus.HANDED_OVER.value


def test_a_failed_event_is_replayed_on_its_own_with_backoff_then_left_to_people(
    db: Database, broken_hand_over: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_store(db)
    clock = FrozenClock()
    send(db, "order.created")
    send(db, "order.received")  # the bug: kept as failed, attempt 1
    retry = AutoReplay(attempts=3, first_delay=timedelta(seconds=30))

    def replay() -> dict[str, int]:
        return replay_due_failures(db, POLICY, retry, clock)

    assert replay() == {"applied": 0, "failed": 0}  # not due yet
    clock.advance(timedelta(seconds=30))
    assert replay() == {"applied": 0, "failed": 1}  # attempt 2, the bug is still there
    clock.advance(timedelta(seconds=30))
    assert replay() == {"applied": 0, "failed": 0}  # the next wait is twice as long
    clock.advance(timedelta(seconds=30))
    monkeypatch.undo()  # the bug is fixed before attempt 3
    with db.engine.begin() as c:
        c.execute(orders.update().values(status=OrderStatus.READY.value))
    assert replay() == {"applied": 1, "failed": 0}
    assert the_order(db).status == OrderStatus.HANDED_OVER.value


def test_automatic_replays_stop_after_their_attempts(db: Database, broken_hand_over: None) -> None:
    add_store(db)
    clock = FrozenClock()
    send(db, "order.created")
    send(db, "order.received")
    retry = AutoReplay(attempts=2, first_delay=timedelta(seconds=1))
    clock.advance(timedelta(hours=1))
    assert replay_due_failures(db, POLICY, retry, clock) == {"applied": 0, "failed": 1}
    clock.advance(timedelta(days=1))
    assert replay_due_failures(db, POLICY, retry, clock) == {"applied": 0, "failed": 0}
    assert journal(db)[1][:2] == ("order.received", "failed")


def test_cancellation_in_assembly_queues_a_message_for_the_store(db: Database) -> None:
    add_store(db, telegram_chat_id="-200")
    send(db, "order.created")
    with db.engine.begin() as c:
        c.execute(orders.update().values(status=OrderStatus.IN_ASSEMBLY.value))

    send(db, "order.canceled", cancellation={"slug": "customer_request"})

    order = the_order(db)
    assert (order.status, order.cancel_reason, order.cancelled_by) == (
        "cancelled",
        "customer_request",
        "sm",
    )
    with db.engine.connect() as c:
        chat, text, order_id = c.execute(
            select(telegram_outbox.c.chat_id, telegram_outbox.c.text, telegram_outbox.c.order_id)
        ).one()
    assert (chat, order_id) == ("-200", order.id)
    assert f"Заказ №{order.number}" in text
    assert "customer_request" in text


def test_backward_event_is_journaled_and_does_not_regress(db: Database) -> None:
    add_store(db)
    send(db, "order.created")
    with db.engine.begin() as c:
        c.execute(orders.update().values(status=OrderStatus.DELIVERED.value))

    assert send(db, "order.received").status_code == 200
    assert send(db, "order.canceled").status_code == 200

    assert the_order(db).status == OrderStatus.DELIVERED.value
    assert [s for _, s, _ in journal(db)] == ["applied", "ignored", "ignored"]


def test_unknown_event_type_is_stored_and_acknowledged(db: Database) -> None:
    body = envelope("order.rated", {"originalOrderId": SM_ID, "rating": 5})
    reply = ingest_webhook(db, parse_webhook(body), POLICY, FrozenClock())
    assert (reply.status_code, reply.body) == (200, {"status": "ok"})
    assert journal(db) == [("order.rated", "ignored", 1)]


def test_webhooks_and_pickers_changing_one_order_at_once_never_fail(db: Database) -> None:
    """The hook locks the order row; a stale write is retried, never journaled as failed."""
    add_store(db)
    send(db, "order.created")
    with db.engine.begin() as c:
        c.execute(orders.update().values(status=OrderStatus.IN_ASSEMBLY.value))
    errors: list[BaseException] = []

    def picker() -> None:
        for n in range(30):
            try:
                with db.unit_of_work() as uow:
                    order = uow.repo(OrderRepository).by_sm_id(SM_ID, for_update=True)
                    assert order is not None
                    order.record_pick(1, Decimal(n % 3), None, None, order.received_at)
                    uow.commit()
            except BaseException as exc:
                errors.append(exc)

    def sm() -> None:
        for n in range(30):
            send(db, "order.updated", comment=f"правка {n}")

    threads = [threading.Thread(target=picker), threading.Thread(target=sm)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert [s for _, s, _ in journal(db)].count("failed") == 0
    assert the_order(db).header.comment == "правка 29"
