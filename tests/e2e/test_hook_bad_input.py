"""Bad input to the hook gets a clear JSON error and changes nothing."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from smbridge.entrypoints.hook_app import create_hook_app
from smbridge.service_layer.unit_of_work import Database
from tests.conftest import make_settings
from tests.e2e.hook_client import HOOK, fixture_body, row_counts
from tests.factories import add_store

CREATED = fixture_body("order.created")
NOTHING = {
    "orders": 0,
    "order_positions": 0,
    "webhook_journal": 0,
    "telegram_outbox": 0,
    "sm_notifications": 0,
}


def client_for(db: Database, database_url: str, **overrides: object) -> TestClient:
    settings = make_settings(database_url, hook_token_previous="old-token", **overrides)
    return TestClient(create_hook_app(settings, db))


@pytest.fixture
def client(db: Database, database_url: str) -> Iterator[TestClient]:
    add_store(db, "101")
    with client_for(db, database_url) as test_client:
        yield test_client


def refused(response: object, status: int, code: str) -> None:
    assert getattr(response, "status_code") == status  # noqa: B009 - httpx2 response
    error = getattr(response, "json")()["error"]  # noqa: B009
    assert error["code"] == code
    assert error["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Client-Token": ""},
        {"Client-Token": "wrong"},
        {"Client-Token": "TEST-TOKEN"},
        {"Authorization": "Bearer test-token"},
    ],
)
def test_wrong_or_missing_token_is_403(
    client: TestClient, db: Database, headers: dict[str, str]
) -> None:
    response = client.post(
        HOOK, content=CREATED, headers={"Content-Type": "application/json", **headers}
    )
    refused(response, 403, "forbidden")
    assert row_counts(db) == NOTHING


@pytest.mark.parametrize("name", ["Client-Token", "client-token", "CLIENT-TOKEN", "Client-token"])
def test_token_header_in_any_case(client: TestClient, name: str) -> None:
    response = client.post(
        HOOK, content=CREATED, headers={name: "test-token", "Content-Type": "application/json"}
    )
    assert response.status_code == 200


def test_previous_token_works_during_rotation(client: TestClient) -> None:
    response = client.post(
        HOOK,
        content=CREATED,
        headers={"Client-Token": "old-token", "Content-Type": "application/json"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("user", "password", "status"),
    [("sm", "pa:ss", 200), ("sm", "wrong", 403), ("other", "pa:ss", 403)],
)
def test_basic_auth_mode(
    db: Database, database_url: str, user: str, password: str, status: int
) -> None:
    add_store(db, "101")
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    with client_for(
        db, database_url, hook_auth_mode="basic", hook_basic_user="sm", hook_basic_password="pa:ss"
    ) as basic:
        response = basic.post(
            HOOK,
            content=CREATED,
            headers={
                "Authorization": f"Basic {credentials}",
                "Content-Type": "application/json",
                "Client-Token": "test-token",
            },
        )
    assert response.status_code == status


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_is_415(client: TestClient, db: Database, content_type: str) -> None:
    headers = {"Client-Token": "test-token"}
    if content_type:
        headers["Content-Type"] = content_type
    refused(client.post(HOOK, content=CREATED, headers=headers), 415, "unsupported_media_type")
    assert row_counts(db) == NOTHING


def test_json_with_charset_and_vendor_types_are_fine(client: TestClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.sm+json"):
        response = client.post(
            HOOK,
            content=CREATED,
            headers={"Client-Token": "test-token", "Content-Type": content_type},
        )
        assert response.status_code == 200


def test_body_over_the_limit_is_413(db: Database, database_url: str) -> None:
    big = b'{"event_type": "order.created", "payload": {"x": "' + b"a" * 3000 + b'"}}'
    with client_for(db, database_url, hook_max_body_bytes=2048) as small:
        headers = {"Client-Token": "test-token", "Content-Type": "application/json"}
        refused(small.post(HOOK, content=big, headers=headers), 413, "payload_too_large")

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
            for start in range(0, len(big), 512):
                yield big[start : start + 512]

        refused(small.post(HOOK, content=chunks(), headers=headers), 413, "payload_too_large")
    assert row_counts(db) == NOTHING


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"{not json", None),
        (b"[1, 2]", ""),
        (b'{"payload": {"originalOrderId": "H1"}}', "event_type"),
        (b'{"event_type": "order.paid", "payload": "H1"}', "payload"),
        (b'{"event_type": "order.paid", "payload": {"total": {}}}', "payload.originalOrderId"),
        (
            b'{"event_type": "order.created", "payload": {"originalOrderId": "H1", '
            b'"storeID": "101", "positions": {"id": "1"}}}',
            "payload.positions",
        ),
        (
            b'{"event_type": "order.created", "payload": {"originalOrderId": "H1", '
            b'"storeID": "101", "positions": [{"id": "1", "quantity": 1, "price": "abc"}]}}',
            "payload.positions.0.price",
        ),
    ],
)
def test_malformed_bodies_are_400_and_name_the_problem(
    client: TestClient, db: Database, body: bytes, where: str | None
) -> None:
    response = client.post(
        HOOK,
        content=body,
        headers={"Client-Token": "test-token", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] in ("invalid_json", "invalid_payload")
    if where is not None:
        assert where in [d["loc"] for d in error["details"]]
    assert row_counts(db) == NOTHING
