"""A real worker process started with ``smbridge serve hook`` answers every fixture."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from smbridge.service_layer.unit_of_work import Database
from tests.e2e.hook_client import FIXTURES, HEADERS, HOOK, journal, stored_order
from tests.factories import add_store
from tests.support.servers import free_port, wait_until_up

SEQUENCE = [  # fixture, expected status, expected body (None: not checked here)
    ("order.paid", 202, {"status": "accepted"}),
    ("order.created", 200, None),
    ("order.created.legal_entity", 200, None),
    ("order.updated", 200, {"status": "ok"}),
    ("order.changed", 200, {"status": "ok"}),
    ("courier.assigned", 200, {"status": "ok"}),
    ("courier.arrived", 200, {"status": "ok"}),
    ("order.received", 200, {"status": "ok"}),
    ("order.delivering", 200, {"status": "ok"}),
    ("order.canceled", 200, {"status": "ok"}),
    ("order.cancelled", 200, {"status": "ok"}),
    ("order.delivered", 200, {"status": "ok"}),
    ("unknown.event", 200, {"status": "ok"}),
    ("order.created", 200, None),  # a redelivery
]


@pytest.fixture
def worker(db: Database, database_url: str) -> Iterator[str]:
    add_store(db, "101")
    port = free_port()
    env = {
        **os.environ,
        "SMBRIDGE_DATABASE_URL": database_url,
        "SMBRIDGE_HOOK_TOKEN": "test-token",
        "SMBRIDGE_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "smbridge", "serve", "hook", "--port", str(port)], env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/healthz")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises SIGTERM so supervisors see why.
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)


def test_every_fixture_gets_its_answer(worker: str, db: Database) -> None:
    numbers = []
    with httpx.Client(base_url=worker) as client:
        for name, status, body in SEQUENCE:
            response = client.post(
                HOOK, content=Path(FIXTURES / f"{name}.json").read_bytes(), headers=HEADERS
            )
            assert response.status_code == status, (name, response.text)
            if body is not None:
                assert response.json() == body, name
            if name == "order.created":
                numbers.append(response.json()["number"])
    assert numbers == ["SM00000001", "SM00000001"]
    order = stored_order(db)
    assert (order.status, order.paid_amount is not None) == ("cancelled", True)
    assert len(journal(db)) == len(SEQUENCE) - 1  # the redelivery added no row
