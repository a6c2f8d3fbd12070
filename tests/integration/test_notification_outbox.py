"""The outbox's memory of which orders got new notifications (what the prompt send sends
after commit) follows the transaction: a savepoint rolled back takes its orders with it."""

from __future__ import annotations

import pytest

from smbridge.domain.notification import Notification, NotificationType
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.orders.repository import OrderRepository
from tests.factories import add_store, envelope, order_payload
from tests.support.clock import FROZEN_NOW, FrozenClock


class Refused(Exception):
    """What makes the savepoint fail."""


def new_orders(db: Database, *sm_order_ids: str) -> list[int]:
    add_store(db)
    for sm_order_id in sm_order_ids:
        body = envelope("order.created", order_payload(sm_order_id))
        ingest_webhook(db, parse_webhook(body), IntakePolicy(), FrozenClock())
    with db.unit_of_work(read_only=True) as uow:
        found = [uow.repo(OrderRepository).by_sm_id(sm) for sm in sm_order_ids]
        return [order.id for order in found if order is not None and order.id is not None]


def queue(uow: UnitOfWork, order_id: int) -> None:
    notification = Notification(
        order_id=order_id,
        sm_order_id=f"order {order_id}",
        type=NotificationType.IN_WORK,
        payload={},
        created_at=FROZEN_NOW,
    )
    uow.repo(NotificationOutbox).add(notification)


def queue_and_fail(uow: UnitOfWork, *order_ids: int) -> None:
    """Queue notifications in a savepoint that then fails (a webhook of a group commit)."""
    with uow.savepoint():
        for order_id in order_ids:
            queue(uow, order_id)
        raise Refused


def told_after_commit(db: Database) -> tuple[Database, list[int]]:
    told: list[int] = []

    def listen(uow: UnitOfWork) -> None:
        told.extend(uow.repo(NotificationOutbox).take_orders_with_new())

    return db.with_commit_listener(listen), told


def test_a_rolled_back_savepoint_takes_its_queued_orders_with_it(db: Database) -> None:
    kept, undone, both = new_orders(db, "H1", "H2", "H3")
    listening, told = told_after_commit(db)
    with listening.unit_of_work() as uow:
        queue(uow, kept)
        queue(uow, both)
        with pytest.raises(Refused):
            queue_and_fail(uow, undone, both)
        uow.commit()
    assert told == sorted([kept, both])  # ``both`` was queued before the savepoint too


def test_a_savepoint_that_stands_keeps_its_queued_orders(db: Database) -> None:
    first, second = new_orders(db, "H1", "H2")
    listening, told = told_after_commit(db)
    with listening.unit_of_work() as uow:
        with uow.savepoint():
            queue(uow, first)
        with pytest.raises(Refused):
            queue_and_fail(uow, second)
        uow.commit()
    assert told == [first]
