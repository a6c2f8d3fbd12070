"""Customer name, phone, address and the hook token never reach a log line.

A whole day of webhooks (every fixture, orders waiting for their store, adopted and
cancelled, bad input and a wrong token) runs with logging configured as in production, and
everything written to stdout/stderr, by structlog and by the standard library, is searched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from smbridge.entrypoints.hook_app import create_hook_app
from smbridge.intake.acceptance import adopt_waiting, settle_waiting
from smbridge.intake.service import intake_policy
from smbridge.kernel.database.unit_of_work import Database
from tests.conftest import make_settings
from tests.e2e.hook_client import HEADERS, HOOK, SM_ORDER, fixture, post, set_status, stored_order
from tests.factories import STORE_SM_ID, add_store
from tests.support.clock import FrozenClock
from tests.support.logs import configure_fresh_logging, restore_logging

LEGAL_ORDER = "H7700012399"
WRONG_TOKEN = "wrong-token-5f0c"

#: What the fixtures carry about people, and the secrets of the hook.
PERSONAL = [
    "Иван Петров",
    "Иван",
    "Петров",
    "+79991111111",
    "79991111111",
    "ivan.petrov@example.ru",
    "c-5531",
    "ул. Ленина",
    "Ленина",
    "подъезд 2",
    "кв. 45",
    "55.751244",
    "37.618423",
    "домофон 45",
    "ООО «Ромашка»",
    "Ромашка",
    "+74951234567",
    "zakupki@romashka.ru",
    "7701234567",
    "770101001",
    "Тверская",
    "Курьер Алексей",
    "+79990000001",
    "test-token",
    WRONG_TOKEN,
]


@pytest.fixture(params=["json", "console"])
def configured_logging(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Logging configured now, as in production, in each of its two formats."""
    configure_fresh_logging(monkeypatch, json=request.param == "json")
    yield str(request.param)
    restore_logging()


def readable(captured: str) -> str:
    """The log text as a person would read it: JSON lines decoded (no \\u escapes)."""
    lines = []
    for line in captured.splitlines():
        try:
            document: Any = json.loads(line)
        except ValueError:
            lines.append(line)
        else:
            lines.append(json.dumps(document, ensure_ascii=False))
    return "\n".join(lines)


def test_a_whole_day_of_webhooks_logs_no_personal_data(
    db: Database,
    database_url: str,
    configured_logging: str,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    settings = make_settings(database_url, operations_chat_id="-500")
    with TestClient(create_hook_app(settings, db, clock=FrozenClock())) as client:
        # The legal buyer's order comes before its store is set up: it waits, alerted.
        assert post(client, "order.created.legal_entity")[0] == 200
        add_store(db, STORE_SM_ID, telegram_chat_id="-1001")
        arrived = stored_order(db, LEGAL_ORDER).received_at
        with db.unit_of_work() as uow:
            assert adopt_waiting(uow, intake_policy(settings), arrived + timedelta(minutes=1)) == 1
            uow.commit()
        # Two that cannot be fulfilled: cancelled by us, SM and operations told.
        assert post(client, "order.created.without_positions")[0] == 200
        assert post(client, "order.created.unknown_store")[0] == 200
        later = stored_order(db, "H7700012377").received_at + timedelta(hours=1)
        assert settle_waiting(db, intake_policy(settings), later)["cancelled"] == 1

        replies = [post(client, "order.paid")[0], post(client, "order.created")[0]]
        replies += [post(client, name)[0] for name in ("order.updated", "courier.assigned")]
        set_status(db, "in_assembly")
        replies += [
            post(client, name)[0]
            for name in (
                "order.changed",
                "courier.arrived",
                "order.canceled",
                "order.cancelled",
                "order.received",
                "order.delivered",
                "unknown.event",
                "order.created",  # a redelivery
            )
        ]
        assert replies == [202] + [200] * 11

        bad = fixture("order.created")
        bad["payload"]["positions"][0]["quantity"] = "x"
        bad["payload"]["customer"]["phone"] = ["+79991111111"]  # a wrong shape, with data
        response = client.post(
            HOOK, content=json.dumps(bad, ensure_ascii=False).encode(), headers=HEADERS
        )
        assert response.status_code == 400
        response = client.post(
            HOOK,
            content=json.dumps(fixture("order.paid")).encode(),
            headers={**HEADERS, "Client-Token": WRONG_TOKEN},
        )
        assert response.status_code == 403

    out, err = capfd.readouterr()
    logged = readable(out + err) + "\n" + "\n".join(r.getMessage() for r in caplog.records)

    # The capture works: ids and states are logged.
    assert SM_ORDER in logged
    assert LEGAL_ORDER in logged
    for event in (
        "order.awaits_store",
        "order.adopted",
        "order.cancelled_by_us",
        "webhook.stored",
        "webhook.redelivered",
    ):
        assert event in logged, f"{event} not logged ({configured_logging})"
    for secret in PERSONAL:
        assert secret not in logged, f"{secret!r} leaked into the logs ({configured_logging})"
