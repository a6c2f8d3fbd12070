"""Fault scenario 3 (docs/reliability.md): the scheduler SIGKILLed again and again while it
sends Telegram messages and creates sales documents.

Real processes: ``smbridge scheduler`` (its jobs and the SM dispatcher) against the
Telegram Bot API emulator, killed with SIGKILL and started again as a supervisor would.
Nothing may be lost; a message may reach Telegram twice at most once per kill (the bound
of ``telegram/sender.py``: one message in flight, its part sent again when the kill came
between Telegram's answer and our commit); every delivered order gets exactly one sales
document and one set of export files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, insert, select

from smbridge.domain.telegram import MessageStatus
from smbridge.kernel.database.engine import READ_ONLY
from smbridge.kernel.database.tables import (
    order_positions,
    orders,
    sales_documents,
    stores,
    telegram_archive,
    telegram_outbox,
)
from smbridge.kernel.database.unit_of_work import Database
from tests.support.environment import free_port, wait_until_up
from tests.support.faults import scale

pytestmark = [pytest.mark.slow, pytest.mark.timed]  # kills at a moment: alone on the machine

ORDERS = scale(1500, 6000)  # delivered, waiting for their sales documents
MESSAGES = scale(150, 600)  # queued for Telegram
CHATS = scale(50, 100)  # private chats: one message a second each, 30 a second in all
KILLS = scale(2, 10)
BOT = "fault-bot-token"


def test_the_scheduler_killed_while_sending_and_documenting_loses_nothing(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    texts = seed(db, tmp_path.name)
    export = tmp_path / "export"
    with telegram_emulator() as telegram:
        env = {
            **os.environ,
            "SMBRIDGE_DATABASE_URL": database_url,
            "SMBRIDGE_TELEGRAM_API_URL": telegram,
            "SMBRIDGE_TELEGRAM_BOT_TOKEN": BOT,
            "SMBRIDGE_JOB_TELEGRAM_SECONDS": "1",
            "SMBRIDGE_JOB_SALES_SECONDS": "1",
            "SMBRIDGE_JOB_LEASE_SECONDS": "2",  # a dead holder's job is taken over soon
            "SMBRIDGE_SALES_EXPORT_DIR": str(export),
            "SMBRIDGE_LOG_LEVEL": "WARNING",
        }
        progress = Progress(db, telegram)
        kills = []
        started = time.monotonic()
        for number in range(KILLS):
            with scheduler(env) as process:
                # alternate: a kill while documents are made, one while Telegram messages go
                target = "sales" if number % 2 == 0 else "telegram"
                kills.append(progress.kill_when_moving(target, process))
        with scheduler(env) as process:
            done = wait(progress.finished, 180)
            assert process.poll() is None, "the scheduler died on its own"
        seconds = time.monotonic() - started
        delivered = Counter(m["text"] for m in httpx.get(f"{telegram}/admin/messages").json())

    documents, per_order, undocumented = sales(db)
    files = sorted(export.glob("*.json"))
    duplicates = sum(n - 1 for n in delivered.values())
    print(  # shown with -s: the figures of docs/reliability.md
        f"\nscheduler SIGKILLed {len(kills)} times in {seconds:.1f} s: "
        f"{[k.line() for k in kills]}; Telegram: {len(texts)} queued, "
        f"{len(set(delivered) & texts)} arrived, {duplicates} duplicates (bound {len(kills)}); "
        f"sales documents {documents} for {ORDERS} delivered orders, most per order "
        f"{per_order}, export files {len(files)}"
    )
    assert done, progress.describe()
    assert texts <= set(delivered), "a queued message never reached Telegram"
    assert archived_sent(db) == MESSAGES
    assert duplicates <= len(kills), delivered.most_common(5)
    assert [k for k in kills if k.target == "telegram" and k.moving], kills
    assert [k for k in kills if k.target == "sales" and k.moving], kills
    assert documents == ORDERS
    assert per_order == 1
    assert undocumented == 0
    assert len(files) == ORDERS


def seed(db: Database, run: str) -> set[str]:
    """A store, delivered orders of two lines each, and queued messages to private chats;
    returns the messages' texts (each unique)."""
    now = datetime.now(UTC)
    texts = [f"Проверка {run} № {n}" for n in range(MESSAGES)]
    with db.engine.begin() as c:
        store = c.execute(
            insert(stores).returning(stores.c.id),
            {"sm_store_id": "F1", "name": "Магазин", "timezone": "Europe/Moscow", "active": True},
        ).scalar_one()
        ids = range(1, ORDERS + 1)
        c.execute(insert(orders), [delivered_order(i, store, now) for i in ids])
        c.execute(insert(order_positions), [line(i, n) for i in ids for n in (1, 2)])
        c.execute(
            insert(telegram_outbox),
            [
                {
                    "chat_id": str(7000 + n % CHATS),
                    "text": text,
                    "status": MessageStatus.QUEUED,
                    "created_at": now,
                    "attempts": 0,
                    "parts_sent": 0,
                }
                for n, text in enumerate(texts)
            ],
        )
    return set(texts)


def delivered_order(order_id: int, store_id: int, now: datetime) -> dict[str, Any]:
    received = now - timedelta(hours=3)
    return {
        "id": order_id,
        "sm_order_id": f"F{order_id}",
        "number": f"SMF{order_id:08d}",
        "store_id": store_id,
        "status": "delivered",
        "customer": {},
        "address": {},
        "payment_methods": ["card_online"],
        "expected_assembly_at": received + timedelta(minutes=45),
        "received_at": received,
        "delivered_at": now - timedelta(minutes=30),
        "paid_amount": Decimal("200.00"),
        "changed_by_customer": False,
        "version": 1,
    }


def line(order_id: int, line_no: int) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "line_no": line_no,
        "sku": f"S{line_no}",
        "name": "Товар",
        "original_quantity": Decimal(1),
        "quantity": Decimal(1),
        "picked_quantity": Decimal(1),
        "price": Decimal("100.00"),
        "discount_price": Decimal("100.00"),
        "source": "sm",
        "marking_codes": [],
    }


@dataclass(frozen=True)
class Kill:
    target: str  # "sales" or "telegram": what the kill was aimed at
    moving: bool  # the target had moved since the start and was not finished
    documents: int  # sales documents stored at the kill
    sent: int  # messages Telegram had accepted at the kill

    def line(self) -> str:
        state = "while it moved" if self.moving else "(not moving: not started or done)"
        return f"{self.target} {state} at {self.documents} documents, {self.sent} messages"


class Progress:
    """How far the scheduler got: sales documents stored, messages Telegram accepted."""

    def __init__(self, db: Database, telegram: str) -> None:
        self._db, self._telegram = reading(db), telegram

    def documents(self) -> int:
        with self._db.connect() as c:
            return int(c.execute(select(func.count()).select_from(sales_documents)).scalar_one())

    def sent(self) -> int:
        return int(httpx.get(f"{self._telegram}/admin/stats").json()["accepted"])

    def queued(self) -> int:
        with self._db.connect() as c:
            return int(c.execute(select(func.count()).select_from(telegram_outbox)).scalar_one())

    def finished(self) -> bool:
        return self.documents() == ORDERS and self.queued() == 0

    def describe(self) -> str:
        return f"documents {self.documents()}/{ORDERS}, queued messages {self.queued()}"

    def kill_when_moving(self, target: str, process: subprocess.Popen[bytes]) -> Kill:
        """SIGKILL the scheduler as soon as ``target`` moves (or after 60 s regardless)."""
        count = self.sent if target == "telegram" else self.documents
        first = count()
        moving = wait(lambda: count() > first or process.poll() is not None, 60, pause=0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        documents, sent = self.documents(), self.sent()
        unfinished = documents < ORDERS if target == "sales" else sent < MESSAGES
        return Kill(target, moving and count() > first and unfinished, documents, sent)


def wait(condition: Callable[[], bool], seconds: float, pause: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)
    return True


@contextmanager
def scheduler(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-m", "smbridge", "scheduler"], env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()  # fail, but leave no scheduler working beside the next tests
                process.wait(timeout=10)
                raise


@contextmanager
def telegram_emulator() -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "smbridge", "emulate", "telegram", "--port", str(port)]
    env = {**os.environ, "SMBRIDGE_TELEGRAM_BOT_TOKEN": BOT, "SMBRIDGE_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/healthz", seconds=60)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def reading(db: Database) -> Engine:
    """The test's reads take no write lock: on SQLite they would queue behind (and be
    refused by) the scheduler's writers."""
    return db.engine.execution_options(**{READ_ONLY: True})


def sales(db: Database) -> tuple[int, int, int]:
    """Documents in all, the most one order has, delivered orders without one."""
    with reading(db).connect() as c:
        total = int(c.execute(select(func.count()).select_from(sales_documents)).scalar_one())
        per_order = (
            select(func.count().label("n"))
            .select_from(sales_documents)
            .group_by(sales_documents.c.order_id)
            .subquery()
        )
        most = int(c.execute(select(func.coalesce(func.max(per_order.c.n), 0))).scalar_one())
        missing = int(
            c.execute(
                select(func.count())
                .select_from(orders)
                .where(orders.c.status == "delivered", orders.c.sales_document_id.is_(None))
            ).scalar_one()
        )
    return total, most, missing


def archived_sent(db: Database) -> int:
    with reading(db).connect() as c:
        return int(
            c.execute(
                select(func.count())
                .select_from(telegram_archive)
                .where(telegram_archive.c.status == MessageStatus.SENT)
            ).scalar_one()
        )
