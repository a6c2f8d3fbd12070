"""A real worker process, started with ``smbridge serve hook``, answers every fixture.

The worker is the installed ``smbridge`` command in its own process, on this test's
database (SQLite file or PostgreSQL), configured only through the environment, and
stopped with SIGTERM as a supervisor would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from smbridge.kernel.database.tables import orders, telegram_outbox, webhook_journal
from smbridge.kernel.database.unit_of_work import Database
from tests.e2e.hook_client import HEADERS, HOOK, SM_ORDER, fixture_body, stored_order
from tests.factories import STORE_SM_ID, add_store
from tests.support.servers import free_port, wait_until_up

LEGAL_ORDER = "H7700012399"
OK = {"status": "ok"}
ACCEPTED = {"status": "accepted"}
CREATED = "created"  # marker: an order.created answer, checked field by field

#: A day of one order, as SM might send it: (fixture, status, body or CREATED, journal).
SEQUENCE: list[tuple[str, int, Any, str]] = [
    ("order.paid", 202, ACCEPTED, "applied"),  # paid before we know the order: parked
    ("order.created", 200, CREATED, "applied"),  # ... and applied now
    ("order.created", 200, CREATED, "applied"),  # SM retries: same answer, no new row
    ("order.created.legal_entity", 200, CREATED, "applied"),
    ("order.updated", 200, OK, "applied"),
    ("order.changed", 200, OK, "applied"),
    ("courier.assigned", 200, OK, "applied"),
    ("courier.arrived", 200, OK, "applied"),
    # -- here the store assembles the order (set directly in the database) --
    ("order.received", 200, OK, "applied"),
    ("order.delivering", 200, OK, "applied"),  # already handed over: no change
    ("order.delivered", 200, OK, "applied"),
    ("order.canceled", 200, OK, "ignored"),  # too late: delivered orders stay delivered
    ("order.cancelled", 200, OK, "ignored"),
    ("unknown.event", 200, OK, "ignored"),
]
ASSEMBLED_BEFORE = "order.received"


def smbridge_command() -> Path:
    command = Path(sys.executable).with_name("smbridge")
    assert command.exists(), f"the smbridge script is not installed next to {sys.executable}"
    return command


@dataclass
class Worker:
    url: str
    log: Path


@pytest.fixture
def worker(db: Database, database_url: str, tmp_path: Path) -> Iterator[Worker]:
    add_store(db, STORE_SM_ID, telegram_chat_id="-1001")
    port = free_port()
    env = {
        **os.environ,
        "SMBRIDGE_DATABASE_URL": database_url,
        "SMBRIDGE_HOOK_TOKEN": "test-token",
        "SMBRIDGE_LOG_LEVEL": "INFO",
        "SMBRIDGE_LOG_JSON": "true",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(smbridge_command()), "serve", "hook", "--port", str(port)],
            env=env,
            cwd=tmp_path,  # no .env file of the developer's
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url + "/healthz")
            yield Worker(url, log)
        finally:
            process.send_signal(signal.SIGTERM)
            # uvicorn shuts down gracefully, then re-raises SIGTERM so supervisors see why.
            returncode = process.wait(timeout=30)
    assert returncode in (0, -signal.SIGTERM), log.read_text()


def set_status(db: Database, sm_order_id: str, status: str) -> None:
    with db.engine.begin() as c:
        c.execute(orders.update().where(orders.c.sm_order_id == sm_order_id).values(status=status))


def test_every_fixture_gets_its_answer_from_a_real_worker(worker: Worker, db: Database) -> None:
    with httpx.Client(base_url=worker.url, timeout=10) as client:
        health = client.get("/healthz")
        assert (health.status_code, health.json()) == (200, {"status": "ok", "service": "hook"})
        refused = client.post(HOOK, content=fixture_body("order.paid"), headers={})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"

        answers: dict[str, list[dict[str, Any]]] = {}
        for name, status, body, _ in SEQUENCE:
            if name == ASSEMBLED_BEFORE:
                set_status(db, SM_ORDER, "ready_for_delivery")
            response = client.post(HOOK, content=fixture_body(name), headers=HEADERS)
            assert response.status_code == status, (name, response.text)
            assert response.headers["content-type"] == "application/json"
            if body is CREATED:
                answers.setdefault(name, []).append(response.json())
            else:
                assert response.json() == body, name
        # Once more on the path without the trailing slash.
        again = client.post(
            HOOK.rstrip("/"), content=fixture_body("order.created"), headers=HEADERS
        )
        assert again.status_code == 200

    main, retry = answers["order.created"]
    (legal,) = answers["order.created.legal_entity"]
    assert main == retry == again.json()
    assert (main["status"], main["number"]) == ("created", "SM00000001")
    assert (legal["status"], legal["number"]) == ("created", "SM00000002")
    for answer in (main, legal):
        promised = datetime.fromisoformat(answer["expectedAssemblyTime"])
        assert promised.utcoffset() == timedelta(hours=3)  # the store's zone, Moscow

    order = stored_order(db)
    assert (order.number, order.status) == ("SM00000001", "delivered")
    assert order.paid_amount == Decimal("1004.37")
    assert order.header.delivery_from == datetime.fromisoformat("2026-11-29T11:00:00+03:00")
    assert None not in (
        order.courier_assigned_at,
        order.courier_arrived_at,
        order.handed_over_at,
        order.delivered_at,
    )
    assert (order.cancelled_at, order.cancel_reason) == (None, None)
    assert stored_order(db, LEGAL_ORDER).header.customer["inn"] == "7701234567"

    with db.engine.connect() as c:
        journal = c.execute(
            select(
                webhook_journal.c.event_type,
                webhook_journal.c.status,
                webhook_journal.c.deliveries,
            ).order_by(webhook_journal.c.id)
        ).all()
        queued = c.execute(select(telegram_outbox.c.text)).scalars().all()
    distinct = dict.fromkeys((n, j) for n, _, _, j in SEQUENCE)  # retries add no row
    expected = [(json.loads(fixture_body(n))["event_type"], j) for n, j in distinct]
    assert [(t, s) for t, s, _ in journal] == expected
    assert [d for t, _, d in journal if t == "order.created"] == [3, 1]
    assert queued == []  # nothing happened that store staff must hear about

    # The worker logged what it did, and nothing about the customer.
    logged = decoded(worker.log.read_text())
    assert SM_ORDER in logged
    assert "webhook.redelivered" in logged
    for secret in ("Иван Петров", "+79991111111", "ул. Ленина", "Ромашка", "test-token"):
        assert secret not in logged


def decoded(text: str) -> str:
    """JSON log lines with their \\u escapes resolved, so Cyrillic can be searched."""
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.dumps(json.loads(line), ensure_ascii=False))
        except ValueError:
            lines.append(line)
    return "\n".join(lines)
