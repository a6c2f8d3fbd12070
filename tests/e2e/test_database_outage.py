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
from smbridge.kernel.database.tables import webhook_journal
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from tests.conftest import make_settings
from tests.factories import HEADERS, add_store, envelope, order_payload
from tests.support.clock import FrozenClock
from tests.support.faults import (
    Outage,
    Probe,
    assert_fast_refusals_and_return,
    assert_nothing_lost,
    child_processes,
    loaded_stand,
    outage,
    scale,
    stored,
    wait_for_answer,
    wait_for_every_order,
    workers,
)
from tests.support.private_postgres import PrivatePostgres, private_postgres

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


# Fault scenario 1 (docs/reliability.md): short in the suite, long with SMBRIDGE_FAULTS=long.
ORDERS = scale(20, 60)
RESTARTS = scale(1, 2)
STOP_SECONDS = scale(3.0, 20.0)
#: SM waits for an answer and retries on 5xx: an answer during the outage must come fast.
SLOWEST_ANSWER = 3.0
BACK_WITHIN = 5.0  # seconds from the database's return to the first stored webhook


@pytest.mark.slow  # multi-process; the short form still runs in the suite
@pytest.mark.timed
def test_postgres_restarts_and_a_stop_under_load_lose_nothing_and_answer_503_meanwhile() -> None:
    with private_postgres() as server:
        db = Database.from_settings(Settings(database_url=server.url))
        migrations.upgrade(db.engine)
        try:
            with loaded_stand(server.url, ORDERS, seed=5) as (stack, probe, processes):
                faults = faults_under_load(server, probe)
                assert stack.process.poll() is None, "smbridge run died with the database"
                report = wait_for_every_order(stack, ORDERS)
                answers = stack.hook_answers()
                assert workers(child_processes(stack.process.pid)) == processes, "a worker died"
            kept = stored(db)
        finally:
            db.dispose()

    print(  # shown with -s: the figures of docs/reliability.md
        f"\nPostgreSQL outage: {sum(answers.values())} webhook posts answered {dict(answers)}, "
        f"SM retried {report['webhookRetries']}, journal {kept.journal}, orders {kept.orders}, "
        f"probes {dict(probe.statuses())} ({kept.probes} stored)"
    )
    for name, figures in faults:
        print(figures.line(name))
    assert_fast_refusals_and_return([f for _, f in faults], SLOWEST_ANSWER, BACK_WITHIN)
    assert faults[-1][1].statuses[503] > 0, faults  # the stop really refused webhooks
    assert answers[500] == 0, answers
    assert_nothing_lost(report, kept, ORDERS, probe)


def faults_under_load(server: PrivatePostgres, probe: Probe) -> list[tuple[str, Outage]]:
    """Restarts a few seconds apart, as an operator's, then a stop while SM, the pickers and
    the scheduler keep trying; the probe's answers in each window."""
    windows = []
    for number in range(1, RESTARTS + 1):
        time.sleep(2)
        down = time.monotonic()
        server.restart()
        windows.append((f"restart {number}", down, time.monotonic()))
        wait_for_answer(probe, 200, windows[-1][2], 30)
    time.sleep(2)
    down = time.monotonic()
    server.stop()
    time.sleep(STOP_SECONDS)
    server.start()
    windows.append((f"stop {STOP_SECONDS:.0f} s", down, time.monotonic()))
    wait_for_answer(probe, 200, windows[-1][2], 30)
    return [(name, outage(probe.answers, down, up)) for name, down, up in windows]
