"""Customer name, phone, address and tokens never reach a log line."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from smbridge.entrypoints.hook_app import create_hook_app
from smbridge.service_layer.unit_of_work import Database
from tests.conftest import make_settings
from tests.e2e.hook_client import HEADERS, HOOK, fixture_body, post
from tests.factories import add_store

SECRETS = [
    "Иван Петров",
    "+79991111111",
    "79991111111",
    "ivan.petrov@example.ru",
    "ул. Ленина",
    "кв. 45",
    "55.751244",
    "Ромашка",
    "7701234567",
    "+79990000001",
    "test-token",
    "Курьер Алексей",
]


def test_a_whole_day_of_webhooks_logs_no_personal_data(
    db: Database, database_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    with TestClient(create_hook_app(make_settings(database_url), db)) as client:
        post(client, "order.created.legal_entity")  # unknown store yet: failed, alerted
        add_store(db, "101")
        for name in (
            "order.paid",
            "order.created",
            "order.updated",
            "courier.assigned",
            "courier.arrived",
            "order.canceled",
            "unknown.event",
        ):
            post(client, name)
        client.post(
            HOOK,
            content=fixture_body("order.created").replace(b'"quantity": 2', b'"quantity": "x"'),
            headers=HEADERS,
        )  # bad input
    out, err = capfd.readouterr()
    logged = out + err
    assert "H7700012345" in logged  # the capture works: SM order ids are logged
    assert "webhook.unknown_store" in logged
    for secret in SECRETS:
        assert secret not in logged, f"{secret!r} leaked into the logs"
