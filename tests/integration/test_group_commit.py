"""SQLite's group commit (kernel/database/group_commit.py): webhooks that queue while one
commits are committed together, each answered after that commit, and one that fails to
apply is journaled as failed without failing the others."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import event, select

from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, WebhookResponse, ingest_webhook
from smbridge.kernel.database import group_commit
from smbridge.kernel.database.tables import orders, sm_notifications, webhook_journal
from smbridge.kernel.database.unit_of_work import Database
from tests.factories import add_store, envelope, order_payload
from tests.support.clock import FrozenClock

POLICY = IntakePolicy()

# Group commit is SQLite's (one writer at a time); PostgreSQL's writers run side by side.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def sqlite_db(db: Database) -> Database:
    assert db.write_lock is not None
    return db


def _wait_for(condition: Any) -> None:
    for _ in range(2000):  # a wait for other threads to get there, not a timing assertion
        if condition():
            return
        time.sleep(0.005)
    raise AssertionError("the threads never got there")


def test_webhooks_that_queue_are_committed_together(sqlite_db: Database) -> None:
    db = sqlite_db
    add_store(db)
    add_store(db, "202", timezone="Europe/Moskow")  # misspelt: its orders fail to apply
    bodies = [envelope("order.created", order_payload(f"G{i}")) for i in range(5)]
    bodies.append(envelope("order.created", order_payload("BAD", storeID="202")))
    bodies.append(bodies[0])  # a redelivery in the same batch: answered as the first time
    replies: dict[int, WebhookResponse] = {}
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _c: commits.append(1))

    def post(index: int) -> None:
        replies[index] = ingest_webhook(db, parse_webhook(bodies[index]), POLICY, FrozenClock())

    assert db.write_lock is not None
    batcher = group_commit.batcher(db)
    with db.write_lock:  # a writer is busy: the first webhook leads, the rest queue
        first = threading.Thread(target=post, args=(0,))
        first.start()
        _wait_for(lambda: batcher.leading() and not batcher.queued())
        others = [threading.Thread(target=post, args=(i,)) for i in range(1, len(bodies))]
        for thread in others:
            thread.start()
        _wait_for(lambda: batcher.queued() == len(others))
    for thread in [first, *others]:
        thread.join()

    assert len(commits) == 2  # the first alone, then the six queued behind it in one
    with db.engine.connect() as c:
        numbers = c.execute(select(orders.c.sm_order_id, orders.c.number)).all()
        journal = {
            row.sm_order_id: row.status
            for row in c.execute(select(webhook_journal.c.sm_order_id, webhook_journal.c.status))
        }
        deliveries = c.execute(
            select(webhook_journal.c.deliveries).where(webhook_journal.c.sm_order_id == "G0")
        ).scalar_one()
        accepted = c.execute(select(sm_notifications.c.sm_order_id)).scalars().all()
    assert sorted(sm for sm, _ in numbers) == [f"G{i}" for i in range(5)]
    assert journal == {**{f"G{i}": "applied" for i in range(5)}, "BAD": "failed"}
    assert deliveries == 2
    assert sorted(accepted) == [f"G{i}" for i in range(5)]
    for index in range(5):
        assert replies[index].status_code == 200
        assert (
            replies[index].body["number"]
            == {row.sm_order_id: row.number for row in numbers}[f"G{index}"]
        )
    assert replies[5] == WebhookResponse(202, {"status": "accepted"})
    assert replies[6] == replies[0]
