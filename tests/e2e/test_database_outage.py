"""A database that blips or goes away: nothing SM was told "we have it" is lost, nothing is
kept as failed for the database's sake, every answer in the meantime says "try again"."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.entrypoints.assembly_app import create_assembly_app
from smbridge.entrypoints.hook_app import create_hook_app
from smbridge.kernel.database import migrations
from smbridge.kernel.database.tables import orders, webhook_journal
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from tests.conftest import make_settings
from tests.factories import HEADERS, add_store, envelope, order_payload
from tests.support.clock import FrozenClock
from tests.support.private_postgres import private_postgres
from tests.support.stack import running_stack

HOOK = "/sbermarket/orders/hook/"
T = TypeVar("T")


def journal_count(db: Database) -> int:
    with db.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(webhook_journal)).scalar_one())


@pytest.fixture
def locked_sqlite(tmp_path: Path) -> Iterator[tuple[Settings, Database, Path]]:
    """A migrated SQLite database with a short busy timeout, and its file to lock."""
    path = tmp_path / "smbridge.db"
    settings = make_settings(f"sqlite:///{path}", sqlite_busy_timeout_ms=200)
    db = Database.from_settings(settings)
    migrations.upgrade(db.engine)
    yield settings, db, path
    db.dispose()


def while_locked(path: Path, request: Callable[[], T]) -> T:
    """The request, sent while another connection holds the write lock, as a backup tool
    or a stuck writer in another process would."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        return request()
    finally:
        other.rollback()
        other.close()


def test_a_webhook_while_sqlite_is_locked_gets_503_and_is_stored_when_sm_retries(
    locked_sqlite: tuple[Settings, Database, Path],
) -> None:
    settings, db, path = locked_sqlite
    add_store(db)
    body = envelope("order.created", order_payload("H1"))
    with TestClient(create_hook_app(settings, db, clock=FrozenClock())) as client:
        busy = while_locked(path, lambda: client.post(HOOK, content=body, headers=HEADERS))
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "2"
        assert busy.json()["error"]["code"] == "database_unavailable"
        assert journal_count(db) == 0  # nothing kept, not even as failed

        again = client.post(HOOK, content=body, headers=HEADERS)  # SM delivers it again
    assert (again.status_code, again.json()["status"]) == (200, "created")
    with db.engine.connect() as c:
        statuses = c.execute(select(webhook_journal.c.status)).scalars().all()
    assert statuses == ["applied"]


def test_a_picker_call_while_sqlite_is_locked_gets_a_retryable_answer_and_changes_nothing(
    locked_sqlite: tuple[Settings, Database, Path],
) -> None:
    settings, db, path = locked_sqlite
    store = add_store(db)
    assert store.id is not None
    from smbridge.assembly.service import token_hash
    from smbridge.domain.picker import Picker

    with db.unit_of_work() as uow:
        uow.repo(ApiTokenRepository).add(store.id, token_hash("tsd"), "ТСД", FrozenClock()())
        picker = Picker(store_id=store.id, name="Анна")
        uow.repo(PickerRepository).add(picker)
        uow.commit()
    call: dict[str, Any] = {"requestId": "shift-1", "requestData": {"pickerId": picker.id}}
    url, headers = "/sbermarket/orders/api/openShift", {"Client-Token": "tsd"}
    with TestClient(create_assembly_app(settings, db, clock=FrozenClock())) as client:
        busy = while_locked(path, lambda: client.post(url, json=call, headers=headers))
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "2"
        assert busy.json()["requestId"] == "shift-1"
        assert busy.json()["error"]["code"] == "database_unavailable"
        assert "Повторите" in busy.json()["error"]["message"]

        again = client.post(url, json=call, headers=headers)  # the app retries the same call
        assert again.status_code == 200
        twice = client.post(url, json=call, headers=headers)  # and gets the same answer
        assert twice.json() == again.json()


def finished(report: dict[str, Any]) -> int:
    states = report["orders"]
    return int(states.get("delivered", 0)) + int(states.get("cancelled", 0))


ORDERS = 60


@pytest.mark.slow
def test_postgres_restarts_and_a_stop_during_load_lose_nothing() -> None:
    with private_postgres() as server:
        db = Database.from_settings(Settings(database_url=server.url))
        migrations.upgrade(db.engine)
        try:
            with running_stack(
                server.url,
                "--orders",
                str(ORDERS),
                "--rate",
                "4",
                "--speed",
                "600",
                "--seed",
                "5",
                "--pick-seconds",
                "0.05",
                # a send whose answer could not be recorded is sent again after its lease
                env={"SMBRIDGE_DISPATCH_LEASE_SECONDS": "5"},
            ) as stack:
                time.sleep(3)
                server.restart()  # twice, a few seconds apart, as an operator's restarts
                time.sleep(3)
                server.restart()
                time.sleep(3)
                server.stop()
                time.sleep(20)  # SM, the pickers and the scheduler keep trying meanwhile
                assert stack.process.poll() is None, "smbridge run died with the database"
                server.start()
                report = stack.wait_until(
                    lambda r: r["orders"]["generated"] == ORDERS and finished(r) == ORDERS, 300
                )
                answers = stack.hook_answers()
            with db.engine.connect() as c:
                journal: dict[str, int] = dict(
                    c.execute(
                        select(webhook_journal.c.status, func.count()).group_by(
                            webhook_journal.c.status
                        )
                    ).all()
                )
                stored_orders = c.execute(select(func.count()).select_from(orders)).scalar_one()
        finally:
            db.dispose()

    print(  # shown with -s: the figures of the closing note
        f"\noutage: {sum(answers.values())} webhook posts answered {dict(answers)}, "
        f"SM retried {report['webhookRetries']}, journal {journal}, orders {stored_orders}"
    )
    assert finished(report) == ORDERS, report["orders"]
    assert report["rejected"] == 0, report["rejections"]
    assert report["webhookRetries"] > 0  # the outage really got in SM's way
    assert answers[503] > 0, answers  # ... and was answered "come back later"
    assert answers[500] == 0, answers
    accepted = sum(n for kind, n in report["webhooks"].items() if kind != "duplicate")
    assert sum(journal.values()) == accepted  # every acknowledged webhook, exactly once
    assert journal.get("failed", 0) == 0
    assert journal.get("parked", 0) == 0
    assert stored_orders == ORDERS
