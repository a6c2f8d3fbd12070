"""Bad input to the hook gets a clear JSON error and changes nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx  # what starlette.testclient returns
import pytest
from starlette.testclient import TestClient

from smbridge.entrypoints.hook_app import create_hook_app
from smbridge.service_layer.unit_of_work import Database
from tests.conftest import make_settings
from tests.e2e.hook_client import HOOK, SM_ORDER, fixture_body, row_counts
from tests.factories import STORE_SM_ID, add_store

CREATED = fixture_body("order.created")
JSON = {"Content-Type": "application/json"}
TOKEN = {"Client-Token": "test-token", **JSON}
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
    add_store(db, STORE_SM_ID)
    with client_for(db, database_url) as test_client:
        yield test_client


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The error body, checked for the shape every service uses."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert set(document) == {"error"}
    error: dict[str, Any] = document["error"]
    assert set(error) <= {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


def accepted_order(response: httpx.Response, db: Database) -> None:
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "created"
    assert row_counts(db)["orders"] == 1


# --- authentication -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Client-Token": ""},
        {"Client-Token": "wrong"},
        {"Client-Token": "TEST-TOKEN"},  # tokens are case-sensitive, header names are not
        {"Client-Token": "test-token-and-more"},
        {"Authorization": "Bearer test-token"},
        {"X-Client-Token": "test-token"},
    ],
)
def test_wrong_or_missing_token_is_403(
    client: TestClient, db: Database, headers: dict[str, str]
) -> None:
    response = client.post(HOOK, content=CREATED, headers={**JSON, **headers})
    error = error_of(response, 403, "forbidden")
    assert "test-token" not in response.text
    assert error["message"] == "missing or wrong credentials"
    assert row_counts(db) == NOTHING


def test_authentication_comes_before_anything_else(client: TestClient, db: Database) -> None:
    """A stranger learns nothing about content types or body shape."""
    response = client.post(HOOK, content=b"{not json", headers={"Content-Type": "text/plain"})
    error_of(response, 403, "forbidden")
    assert row_counts(db) == NOTHING


@pytest.mark.parametrize("name", ["Client-Token", "client-token", "CLIENT-TOKEN", "Client-token"])
def test_token_header_in_any_case(client: TestClient, db: Database, name: str) -> None:
    response = client.post(HOOK, content=CREATED, headers={name: "test-token", **JSON})
    accepted_order(response, db)


def test_previous_token_works_during_rotation(client: TestClient, db: Database) -> None:
    response = client.post(HOOK, content=CREATED, headers={"Client-Token": "old-token", **JSON})
    accepted_order(response, db)


def test_without_a_previous_token_only_the_current_one_works(
    db: Database, database_url: str
) -> None:
    add_store(db, STORE_SM_ID)
    with TestClient(create_hook_app(make_settings(database_url), db)) as client:
        old = client.post(HOOK, content=CREATED, headers={"Client-Token": "old-token", **JSON})
        error_of(old, 403, "forbidden")
        empty = client.post(HOOK, content=CREATED, headers={"Client-Token": "", **JSON})
        error_of(empty, 403, "forbidden")
        assert row_counts(db) == NOTHING
        accepted_order(client.post(HOOK, content=CREATED, headers=TOKEN), db)


def basic(user: str, password: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {credentials}", **JSON}


@pytest.fixture
def basic_client(db: Database, database_url: str) -> Iterator[TestClient]:
    add_store(db, STORE_SM_ID)
    with client_for(
        db, database_url, hook_auth_mode="basic", hook_basic_user="sm", hook_basic_password="pa:ss"
    ) as test_client:
        yield test_client


def test_basic_auth_mode_accepts_the_right_credentials(
    basic_client: TestClient, db: Database
) -> None:
    accepted_order(basic_client.post(HOOK, content=CREATED, headers=basic("sm", "pa:ss")), db)


@pytest.mark.parametrize(
    "headers",
    [
        basic("sm", "wrong"),
        basic("other", "pa:ss"),
        basic("sm", ""),
        basic("", "pa:ss"),
        {"Authorization": "Basic !!!not-base64!!!", **JSON},
        {"Authorization": "Bearer pa:ss", **JSON},
        TOKEN,  # in Basic mode the token alone is not enough
        {**basic("sm", "wrong"), "Client-Token": "test-token"},
        JSON,
    ],
)
def test_basic_auth_mode_refuses_wrong_credentials(
    basic_client: TestClient, db: Database, headers: dict[str, str]
) -> None:
    error_of(basic_client.post(HOOK, content=CREATED, headers=headers), 403, "forbidden")
    assert row_counts(db) == NOTHING


# --- transport: content type and size -----------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "text/json", None]
)
def test_wrong_or_missing_content_type_is_415(
    client: TestClient, db: Database, content_type: str | None
) -> None:
    headers = {"Client-Token": "test-token"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = client.post(HOOK, content=CREATED, headers=headers)
    error = error_of(response, 415, "unsupported_media_type")
    assert (content_type or "no content type") in error["message"]
    assert row_counts(db) == NOTHING


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "Application/JSON", "application/vnd.sm+json"],
)
def test_json_with_parameters_or_vendor_types_is_fine(
    client: TestClient, db: Database, content_type: str
) -> None:
    response = client.post(
        HOOK, content=CREATED, headers={"Client-Token": "test-token", "Content-Type": content_type}
    )
    accepted_order(response, db)


LIMIT = 2048
BIG = b'{"event_type": "order.created", "payload": {"x": "' + b"a" * 3000 + b'"}}'


@pytest.fixture
def small_client(db: Database, database_url: str) -> Iterator[TestClient]:
    add_store(db, STORE_SM_ID)
    with client_for(db, database_url, hook_max_body_bytes=LIMIT) as test_client:
        yield test_client


def test_body_over_the_limit_is_413_by_its_declared_length(
    small_client: TestClient, db: Database
) -> None:
    response = small_client.post(HOOK, content=BIG, headers=TOKEN)
    assert response.request.headers["content-length"] == str(len(BIG))
    error = error_of(response, 413, "payload_too_large")
    assert str(LIMIT) in error["message"]
    assert row_counts(db) == NOTHING


def test_body_over_the_limit_is_413_while_streaming(small_client: TestClient, db: Database) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while reading
        for start in range(0, len(BIG), 512):
            yield BIG[start : start + 512]

    response = small_client.post(HOOK, content=chunks(), headers=TOKEN)
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    error_of(response, 413, "payload_too_large")
    assert row_counts(db) == NOTHING


def test_a_streamed_body_within_the_limit_is_taken(small_client: TestClient, db: Database) -> None:
    body = (
        b'{"event_type": "order.paid", "payload": {"originalOrderId": "H1", '
        b'"total": {"discountTotalPrice": "10.00"}}}'
    )

    def chunks() -> Iterator[bytes]:
        yield body[:20]
        yield body[20:]

    response = small_client.post(HOOK, content=chunks(), headers=TOKEN)
    assert (response.status_code, response.json()) == (202, {"status": "accepted"})
    assert row_counts(db)["webhook_journal"] == 1


# --- malformed bodies ---------------------------------------------------------------------


def created_with(**fields: object) -> bytes:
    """The order.created fixture with payload fields replaced (None: removed)."""
    document = json.loads(CREATED)
    for name, value in fields.items():
        if value is None:
            del document["payload"][name]
        else:
            document["payload"][name] = value
    return json.dumps(document, ensure_ascii=False).encode()


def created_with_position(**fields: object) -> bytes:
    document = json.loads(CREATED)
    document["payload"]["positions"][0].update(fields)
    return json.dumps(document, ensure_ascii=False).encode()


@pytest.mark.parametrize(
    ("body", "code", "where"),
    [
        pytest.param(b"{not json", "invalid_json", None, id="not-json"),
        pytest.param(b"", "invalid_json", None, id="empty"),
        pytest.param(CREATED[:-40], "invalid_json", None, id="truncated"),
        pytest.param(b"[1, 2]", "invalid_payload", "", id="array"),
        pytest.param(
            b'{"payload": {"originalOrderId": "H1"}}',
            "invalid_payload",
            "event_type",
            id="no-event-type",
        ),
        pytest.param(
            b'{"event_type": "order.paid", "payload": "H1"}',
            "invalid_payload",
            "payload",
            id="payload-not-object",
        ),
        pytest.param(
            b'{"event_type": "order.paid"}', "invalid_payload", "payload", id="no-payload"
        ),
        pytest.param(
            b'{"event_type": "order.paid", "payload": {"total": {}}}',
            "invalid_payload",
            "payload.originalOrderId",
            id="paid-without-order-id",
        ),
        pytest.param(
            created_with(originalOrderId=None),
            "invalid_payload",
            "payload.originalOrderId",
            id="created-without-order-id",
        ),
        pytest.param(
            created_with(originalOrderId=""),
            "invalid_payload",
            "payload.originalOrderId",
            id="created-with-empty-order-id",
        ),
        pytest.param(
            created_with(positions={"id": "1"}),
            "invalid_payload",
            "payload.positions",
            id="positions-not-list",
        ),
        pytest.param(
            created_with_position(price="abc"),
            "invalid_payload",
            "payload.positions.0.price",
            id="price-abc",
        ),
        pytest.param(
            created_with_position(quantity="x"),
            "invalid_payload",
            "payload.positions.0.quantity",
            id="quantity-x",
        ),
        pytest.param(
            created_with_position(weight="NaN"),
            "invalid_payload",
            "payload.positions.0.weight",
            id="weight-nan",
        ),
        pytest.param(
            created_with(delivery={"expectedFrom": "2026-11-29T10:00:00"}),
            "invalid_payload",
            "payload.delivery.expectedFrom",
            id="naive-window",
        ),
    ],
)
def test_malformed_bodies_are_400_name_the_problem_and_store_nothing(
    client: TestClient, db: Database, body: bytes, code: str, where: str | None
) -> None:
    response = client.post(HOOK, content=body, headers=TOKEN)
    error = error_of(response, 400, code)
    if where is None:
        assert error["message"].startswith("body is not valid JSON")
    else:
        locations = [d["loc"] for d in error["details"]]
        assert where in locations, locations
        assert all(d["msg"] for d in error["details"])
    # Never echo the input: it may carry the customer's data.
    for secret in ("Иван Петров", "+79991111111", "Ленина", "abc"):
        assert secret not in response.text
    assert row_counts(db) == NOTHING


@pytest.mark.parametrize(
    "fields",
    [{"positions": []}, {"storeID": None, "storeImportKey": None}],
    ids=["created-without-positions", "no-store"],
)
def test_an_order_that_cannot_be_fulfilled_is_no_bad_input(
    client: TestClient, db: Database, fields: dict[str, object]
) -> None:
    """SM retries a 400 for ever: it gets "created" and our number, then our cancellation."""
    response = client.post(HOOK, content=created_with(**fields), headers=TOKEN)
    accepted_order(response, db)
    with db.unit_of_work() as uow:
        order = uow.orders.by_sm_id(SM_ORDER)
        assert order is not None
        assert (order.status, order.cancel_reason) == ("cancelled", "technical_issues")
        assert [n.type for n in uow.notifications.for_order(order.id or 0)] == ["order.canceled"]


def test_after_bad_input_the_good_event_is_taken(client: TestClient, db: Database) -> None:
    bad = client.post(HOOK, content=created_with_position(price="abc"), headers=TOKEN)
    error_of(bad, 400, "invalid_payload")
    response = client.post(HOOK, content=CREATED, headers=TOKEN)
    accepted_order(response, db)
    with db.unit_of_work() as uow:
        order = uow.orders.by_sm_id(SM_ORDER)
        assert order is not None
        assert str(order.positions[0].price) == "89.90"
