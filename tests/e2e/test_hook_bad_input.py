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
from smbridge.kernel.database.unit_of_work import Database
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.orders.repository import OrderRepository
from tests.conftest import make_settings
from tests.e2e.hook_client import HOOK, SM_ORDER, fixture_body, row_counts
from tests.factories import STORE_SM_ID, add_store
from tests.support.clock import FrozenClock

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
    return TestClient(create_hook_app(settings, db, clock=FrozenClock()))


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
    with TestClient(
        create_hook_app(make_settings(database_url), db, clock=FrozenClock())
    ) as client:
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
        order = uow.repo(OrderRepository).by_sm_id(SM_ORDER)
        assert order is not None
        assert (order.status, order.cancel_reason) == ("cancelled", "technical_issues")
        assert [n.type for n in uow.repo(NotificationOutbox).for_order(order.id or 0)] == [
            "order.canceled"
        ]


def test_after_bad_input_the_good_event_is_taken(client: TestClient, db: Database) -> None:
    bad = client.post(HOOK, content=created_with_position(price="abc"), headers=TOKEN)
    error_of(bad, 400, "invalid_payload")
    response = client.post(HOOK, content=CREATED, headers=TOKEN)
    accepted_order(response, db)
    with db.unit_of_work() as uow:
        order = uow.repo(OrderRepository).by_sm_id(SM_ORDER)
        assert order is not None
        assert str(order.positions[0].line.price) == "89.90"


# --- bounds: input that the database or the business cannot take (docs/input-bounds.md) -----

DEEP = "__deep__"


def created_at_path(path: str, value: object) -> bytes:
    """The order.created fixture with the value at a dotted path set (lists by index)."""
    document = json.loads(CREATED)
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return json.dumps(document, ensure_ascii=False).encode()


def created_nested(levels: int) -> bytes:
    """order.created with an unknown field nested ``levels`` arrays deep."""
    body = created_at_path("payload.extra", DEEP).decode()
    return body.replace(f'"{DEEP}"', "[" * levels + "]" * levels).encode()


def _case(path: str, value: object, where: str | None = None, *, id: str) -> Any:
    return pytest.param(created_at_path(path, value), where or path, id=id)


OUT_OF_BOUNDS = [
    # NUL (and other control characters) in any text: PostgreSQL cannot store them
    _case("payload.originalOrderId", "H77\x0000", id="order-id-nul"),
    _case("event_type", "order.created\x00", id="event-type-nul"),
    _case("event_type", "partner.news\x00", id="unknown-event-type-nul"),
    _case("payload.comment", "Позвоните\x00", id="comment-nul"),
    _case("payload.comment", "Позвоните\x07", id="comment-bell"),
    _case("payload.customer.name", "Иван\x00", id="customer-nul"),
    _case("payload.address.city", "Москва\x00", id="address-nul"),
    _case("payload.address.extra", {"nested\x00key": "x"}, "payload.address.extra", id="key-nul"),
    _case("payload.positions.0.name", "Молоко\x00", id="position-name-nul"),
    _case("payload.positions.0.id", "100\x00500", id="position-sku-nul"),
    _case("payload.positions.0.state", "new\x00", id="position-state-nul"),
    _case("payload.cancellationReason", "\x00", id="reason-nul"),
    # decimals that pass Decimal() but overflow NUMERIC, or are absurd
    _case("payload.positions.0.quantity", "1e-20000", id="quantity-tiny-exponent"),
    _case("payload.positions.0.quantity", 1e308, id="quantity-1e308"),
    _case("payload.positions.0.quantity", "١٢٣", id="quantity-arabic-indic-digits"),
    _case("payload.positions.0.quantity", "1_000", id="quantity-underscore"),
    _case("payload.positions.0.quantity", "10000.5", id="quantity-over-10000"),
    _case("payload.positions.0.quantity", "1.0001", id="quantity-four-places"),
    _case("payload.positions.0.originalQuantity", "1e200000", id="original-quantity-huge"),
    _case("payload.positions.1.weight", "1e200000", id="weight-huge"),
    _case("payload.positions.0.price", "1e200000", id="price-huge"),
    _case("payload.positions.0.price", "1e30", id="price-1e30"),
    _case("payload.total.totalPrice", "0.000001", id="total-six-places"),
    # dates that overflow when converted to UTC, or are absurd
    _case("payload.delivery.expectedFrom", "9999-12-31T23:59:59-05:00", id="window-year-9999"),
    _case("payload.delivery.expectedTo", "0001-01-01T00:00:00+03:00", id="window-year-1"),
    _case("payload.completeBefore", "2100-01-01T00:00:00Z", id="deadline-year-2100"),
    # texts longer than their columns, or than any real one
    _case("payload.orderUUID", "u" * 65, id="uuid-65-chars"),
    _case("payload.storeID", "1" * 200_000, id="store-id-200000-chars"),
    _case("payload.storeImportKey", "k" * 65, id="import-key-65-chars"),
    _case("payload.positions.0.replacedByID", "9" * 65, id="replaced-by-65-chars"),
    _case("payload.positions.0.name", "М" * 501, id="position-name-501-chars"),
    _case("payload.customer.inn", "7" * 21, id="inn-21-chars"),
    _case("payload.comment", "x" * 4001, id="comment-4001-chars"),
    _case("payload.state", "s" * 201, id="state-201-chars"),
    _case("payload.positions", [{"id": str(i), "quantity": 1} for i in range(1001)], id="lines"),
    # nesting the event key cannot hash (orjson stops at 255 levels)
    pytest.param(created_nested(40), "payload.extra", id="nested-40"),
    pytest.param(created_nested(300), "payload.extra", id="nested-300"),
    pytest.param(created_nested(1000), "payload.extra", id="nested-1000"),
]


@pytest.mark.parametrize(("body", "where"), OUT_OF_BOUNDS)
def test_out_of_bounds_input_is_400_names_the_field_and_stores_nothing(
    client: TestClient, db: Database, body: bytes, where: str
) -> None:
    response = client.post(HOOK, content=body, headers=TOKEN)
    error = error_of(response, 400, "invalid_payload")
    locations = [d["loc"] for d in error["details"]]
    assert any(loc.startswith(where) for loc in locations), locations
    assert len(response.content) < 10_000  # the answer names fields, it does not echo them
    for secret in ("Иван", "+79991111111", "Ленина", "\\u0000", "ММММ"):
        assert secret not in response.text
    assert row_counts(db) == NOTHING  # no journal row: nothing fails on every replay


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("payload.positions.0.quantity", "10000"),
        ("payload.positions.0.quantity", "1E+1"),
        ("payload.positions.0.price", "999999999.9999"),
        ("payload.comment", "Позвоните\nза 10 минут\tи ждите"),
        ("payload.delivery.expectedFrom", "2099-12-31T20:00:00-03:00"),
        ("payload.orderUUID", "u" * 64),
        ("payload.positions.0.name", "М" * 500),
        ("payload.orderUUID", ""),  # blank optional ids are absent, as before
    ],
)
def test_values_at_the_bounds_are_taken(
    client: TestClient, db: Database, path: str, value: object
) -> None:
    accepted_order(client.post(HOOK, content=created_at_path(path, value), headers=TOKEN), db)


def test_exponents_are_stored_as_plain_numbers(client: TestClient, db: Database) -> None:
    body = created_at_path("payload.positions.0.quantity", "1E+1")
    accepted_order(client.post(HOOK, content=body, headers=TOKEN), db)
    with db.unit_of_work() as uow:
        order = uow.repo(OrderRepository).by_sm_id(SM_ORDER)
        assert order is not None
        assert str(order.positions[0].line.quantity) == "10"
