"""The assembly API over HTTP: a picker's day, store isolation, idempotency, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from starlette.testclient import TestClient

from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.assembly.service import token_hash
from smbridge.domain.picker import Picker
from smbridge.entrypoints.assembly_app import create_assembly_app
from smbridge.intake.acceptance import adopt_waiting
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.tables import (
    idempotency_keys,
    orders,
    picker_shifts,
    sm_notifications,
    stores,
    telegram_outbox,
)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.orders.repository import StoreRepository
from smbridge.settings import Settings
from tests.conftest import make_settings
from tests.factories import add_store, envelope, order_payload, position, weighed_position
from tests.support.clock import FROZEN_NOW, FrozenClock

TOKEN_A, TOKEN_B = "token-store-a", "token-store-b"


class Api:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def call(
        self, method: str, token: str = TOKEN_A, request_id: str | None = None, **data: Any
    ) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"requestData": data}
        if request_id is not None:
            body["requestId"] = request_id
        response = self.client.post(
            f"/sbermarket/orders/api/{method}", json=body, headers={"Client-Token": token}
        )
        return response.status_code, response.json()

    def ok(self, method: str, **data: Any) -> dict[str, Any]:
        status, body = self.call(method, **data)
        assert status == 200, body
        result: dict[str, Any] = body["result"]
        return result


@pytest.fixture
def world(db: Database) -> dict[str, int]:
    """Two stores with a token each, pickers in store A (two with chats), one in store B."""
    store_a = add_store(db, "101", telegram_chat_id="-1001")
    store_b = add_store(db, "202")
    assert store_a.id is not None
    assert store_b.id is not None
    ids: dict[str, int] = {"store_a": store_a.id, "store_b": store_b.id}
    with db.unit_of_work() as uow:
        now = FROZEN_NOW
        uow.repo(ApiTokenRepository).add(store_a.id, token_hash(TOKEN_A), "ТСД 1", now)
        uow.repo(ApiTokenRepository).add(store_b.id, token_hash(TOKEN_B), "ТСД 2", now)
        for key, store, name, chat in (
            ("anna", store_a.id, "Анна", "-2001"),
            ("boris", store_a.id, "Борис", "-2002"),
            ("vera", store_a.id, "Вера", None),
            ("gleb", store_b.id, "Глеб", None),
        ):
            picker = Picker(store_id=store, name=name, telegram_chat_id=chat)
            uow.repo(PickerRepository).add(picker)
            assert picker.id is not None
            ids[key] = picker.id
        uow.commit()
    return ids


@pytest.fixture
def api(db: Database, settings: Settings, clock: FrozenClock) -> Iterator[Api]:
    with TestClient(create_assembly_app(settings, db, clock=clock)) as client:
        yield Api(client)


def new_order(db: Database, sm_order_id: str = "H1", **fields: Any) -> str:
    fields.setdefault(
        "positions",
        [
            position("100500", quantity=2, originalQuantity=2),
            weighed_position("200300", grams="1250"),
        ],
    )
    reply = ingest_webhook(
        db,
        parse_webhook(envelope("order.created", order_payload(sm_order_id, **fields))),
        IntakePolicy(notify_accepted=False),
        FrozenClock(),
    )
    number: str = reply.body["number"]
    return number


def outbox(db: Database) -> list[tuple[str, dict[str, Any]]]:
    with db.engine.connect() as c:
        rows = c.execute(
            select(sm_notifications.c.type, sm_notifications.c.payload).order_by(
                sm_notifications.c.id
            )
        )
        return [(r.type, r.payload) for r in rows]


def count(db: Database, table: Any) -> int:
    with db.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_pickers_day_from_shift_to_final_contents(
    db: Database, api: Api, world: dict[str, int]
) -> None:
    number = new_order(db)
    anna = world["anna"]
    assert api.ok("openShift", pickerId=anna)["closedAt"] is None

    board = api.ok("getActiveOrders")["orders"]
    assert [(o["number"], o["status"], o["statusText"]) for o in board] == [
        (number, "new", "Новый")
    ]

    card = api.ok("takeOrder", orderNumber=number, pickerId=anna)
    assert (card["status"], card["statusText"], card["pickerId"]) == (
        "in_assembly",
        "В сборке",
        anna,
    )
    assert [line["lineNo"] for line in card["positions"]] == [1, 2]

    status, body = api.call("recordPick", orderNumber=number, lineNo=2, quantity=1)
    assert (status, body["error"]["code"]) == (422, "weight_required")
    assert "вес" in body["error"]["message"]

    api.ok("recordPick", orderNumber=number, lineNo=1, quantity=1, markingCodes=["010460"])
    api.ok("recordPick", orderNumber=number, lineNo=2, quantity=1, weightGrams="1187")
    card = api.ok(
        "replacePosition",
        orderNumber=number,
        lineNo=1,
        substitute={
            "sku": "100501",
            "name": "Кефир 1% 900 г",
            "quantity": 2,
            "price": "79.50",
            "markingCodes": ["010461", "010462"],
        },
    )
    assert card["positions"][2]["replacesLineNo"] == 1

    card = api.ok("finishAssembly", orderNumber=number, bags=2)
    assert (card["status"], card["bags"]) == ("ready_for_delivery", 2)

    assert outbox(db) == [
        ("order.in_work", {"order_id": "H1"}),
        ("order.assembled", {"order_id": "H1"}),
        (
            "order.ready_for_delivery",
            {
                "order_id": "H1",
                "order": {
                    "originalOrderId": "H1",
                    "positions": [
                        {"id": "100500", "quantity": 0, "replacedByID": "100501"},
                        {"id": "200300", "quantity": 1, "weight": "1187"},
                        {
                            "id": "100501",
                            "quantity": 2,
                            "markingCode": [{"value": "010461"}, {"value": "010462"}],
                        },
                    ],
                },
            },
        ),
    ]
    sent = api.ok("getNotifications", orderNumber=number)["notifications"]
    assert [(n["type"], n["state"]) for n in sent] == [
        ("order.in_work", "pending"),
        ("order.assembled", "pending"),
        ("order.ready_for_delivery", "pending"),
    ]
    assert api.ok("closeShift", pickerId=anna)["closedAt"] is not None


def test_a_token_sees_only_its_own_stores_orders(
    db: Database, api: Api, world: dict[str, int]
) -> None:
    number = new_order(db)
    api.ok("openShift", token=TOKEN_B, pickerId=world["gleb"])
    foreign = api.call("getOrder", token=TOKEN_B, orderNumber=number)
    missing = api.call("getOrder", token=TOKEN_B, orderNumber="SM99999999")
    assert foreign == missing
    assert foreign[0] == 404
    assert (
        api.call("takeOrder", token=TOKEN_B, orderNumber=number, pickerId=world["gleb"])[0] == 404
    )
    assert api.ok("getActiveOrders", token=TOKEN_B)["orders"] == []
    status, _ = api.call("openShift", token=TOKEN_B, pickerId=world["anna"])
    assert status == 404  # store A's picker does not exist for store B


def test_an_order_waiting_for_its_store_is_seen_by_no_store(
    db: Database, api: Api, world: dict[str, int]
) -> None:
    number = new_order(db, storeID="303", storeImportKey="lenina-1")  # no such store yet
    api.ok("openShift", pickerId=world["anna"])
    for token in (TOKEN_A, TOKEN_B):
        assert api.ok("getActiveOrders", token=token)["orders"] == []
        assert api.call("getOrder", token=token, orderNumber=number)[0] == 404
    assert api.call("takeOrder", orderNumber=number, pickerId=world["anna"])[0] == 404

    with db.engine.begin() as c:  # store A is SM's "lenina-1"
        c.execute(
            stores.update().where(stores.c.id == world["store_a"]).values(import_key="lenina-1")
        )
    with db.unit_of_work() as uow:
        adopt_waiting(uow, IntakePolicy(), FROZEN_NOW)
        uow.commit()
    assert [o["number"] for o in api.ok("getActiveOrders")["orders"]] == [number]
    assert api.ok("takeOrder", orderNumber=number, pickerId=world["anna"])["status"] == (
        "in_assembly"
    )
    assert api.ok("getActiveOrders", token=TOKEN_B)["orders"] == []


@pytest.mark.parametrize("token", ["", "wrong", TOKEN_A.upper()])
def test_missing_or_wrong_token_is_refused(api: Api, world: dict[str, int], token: str) -> None:
    status, body = api.call("getActiveOrders", token=token, request_id="r-1")
    # refused before the body is read, so its requestId is not known
    assert (status, body) == (403, {"requestId": None, "error": FORBIDDEN})


FORBIDDEN = {"code": "forbidden", "message": "Нет доступа: неверный или отозванный токен."}
TOO_LARGE = {"code": "payload_too_large", "message": "Слишком большой запрос."}
LIMIT = 1024  # the least api_max_body_bytes allows


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"requestData": 5}', b'{"requestData": {}}' + b" " * (8 * LIMIT)],
    ids=["not-json", "wrong-shape", "over-the-limit"],
)
def test_the_token_is_checked_before_the_body_is_read(
    db: Database, database_url: str, world: dict[str, int], body: bytes
) -> None:
    settings = make_settings(database_url, api_max_body_bytes=LIMIT)
    with TestClient(create_assembly_app(settings, db, clock=FrozenClock())) as client:
        response = client.post(
            "/sbermarket/orders/api/recordPick",
            content=body,
            headers={"Client-Token": "wrong", "Content-Type": "application/json"},
        )
    assert (response.status_code, response.json()) == (403, {"requestId": None, "error": FORBIDDEN})


def test_a_body_over_the_limit_is_413_and_changes_nothing(
    db: Database, database_url: str, world: dict[str, int]
) -> None:
    call = b'{"requestId": "big", "requestData": {"pickerId": %d}}' % world["anna"]
    padded = call + b" " * LIMIT  # valid JSON, only too long
    headers = {"Client-Token": TOKEN_A, "Content-Type": "application/json"}
    url = "/sbermarket/orders/api/openShift"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while reading
        for start in range(0, len(padded), 100):
            yield padded[start : start + 100]

    settings = make_settings(database_url, api_max_body_bytes=LIMIT)
    with TestClient(create_assembly_app(settings, db, clock=FrozenClock())) as client:
        for content in (padded, chunks()):
            response = client.post(url, content=content, headers=headers)
            assert response.status_code == 413
            assert response.json() == {"requestId": None, "error": TOO_LARGE}
        # the shift was not opened by the refused calls: opening it now works
        assert client.post(url, content=call, headers=headers).status_code == 200


def test_a_revoked_token_is_refused(db: Database, api: Api, world: dict[str, int]) -> None:
    with db.unit_of_work() as uow:
        token_id = uow.repo(ApiTokenRepository).add(
            world["store_a"], token_hash("soon-gone"), "x", FROZEN_NOW
        )
        uow.commit()
    assert api.call("getActiveOrders", token="soon-gone")[0] == 200
    with db.unit_of_work() as uow:
        assert uow.repo(ApiTokenRepository).revoke(token_id, FROZEN_NOW)
        uow.commit()
    assert api.call("getActiveOrders", token="soon-gone")[0] == 403


def test_a_token_revoked_while_remembered_is_refused_at_once_and_changes_nothing(
    db: Database, api: Api, world: dict[str, int]
) -> None:
    """The pre-check remembers an admitted token for a moment (``RecentTokens``); the
    revocation still holds from its commit on, with the same answer as the pre-check's."""
    with db.unit_of_work() as uow:
        token_id = uow.repo(ApiTokenRepository).add(
            world["store_a"], token_hash("soon-gone"), "x", FROZEN_NOW
        )
        uow.commit()
    assert api.call("getActiveOrders", token="soon-gone")[0] == 200  # now remembered
    with db.unit_of_work() as uow:
        assert uow.repo(ApiTokenRepository).revoke(token_id, FROZEN_NOW)
        uow.commit()
    for refused in (
        api.call("getActiveOrders", token="soon-gone"),
        api.call("openShift", token="soon-gone", request_id="r-9", pickerId=world["anna"]),
    ):
        assert refused == (403, {"requestId": None, "error": FORBIDDEN})
    with db.unit_of_work(read_only=True) as uow:  # the refused openShift opened nothing
        assert uow.repo(PickerRepository).open_shift(world["anna"]) is None


def test_an_inactive_stores_token_is_refused_and_other_tokens_are_not(
    db: Database, database_url: str, world: dict[str, int]
) -> None:
    settings = make_settings(database_url, erp_token="erp-secret")
    with TestClient(create_assembly_app(settings, db, clock=FrozenClock())) as client:
        api = Api(client)
        assert api.call("getActiveOrders")[0] == 200
        with db.unit_of_work() as uow:
            store = uow.repo(StoreRepository).get(world["store_a"])
            assert store is not None
            store.active = False
            uow.commit()
        assert api.call("getActiveOrders") == (403, {"requestId": None, "error": FORBIDDEN})
        assert api.call("getActiveOrders", token=TOKEN_B)[0] == 200
        erp = client.get("/erp/sales-documents", headers={"X-ERP-Token": "erp-secret"})
        assert (erp.status_code, erp.json()) == (200, {"documents": []})


def test_assign_collector_hands_over_and_tells_everyone(
    db: Database, api: Api, world: dict[str, int]
) -> None:
    number = new_order(
        db,
        delivery={
            "expectedFrom": "2026-11-29T10:00:00+03:00",
            "expectedTo": "2026-11-29T11:00:00+03:00",
        },
    )
    for picker in ("anna", "boris"):
        api.ok("openShift", pickerId=world[picker])
    api.ok("takeOrder", orderNumber=number, pickerId=world["anna"])

    card = api.ok("assignCollector", orderNumber=number, pickerId=world["boris"])

    assert card["pickerId"] == world["boris"]
    assert len(card["positions"]) == 2  # the answer carries the positions
    with db.engine.connect() as c:
        sent = c.execute(
            select(telegram_outbox.c.chat_id, telegram_outbox.c.text).order_by(telegram_outbox.c.id)
        ).all()
    text = f"Заказ {number} передан сборщику Борис, завершить сборку до 09:45"
    assert [tuple(r) for r in sent] == [("-2001", text), ("-2002", text), ("-1001", text)]

    back = api.ok("assignCollector", orderNumber=number, pickerId=None)
    assert back["pickerId"] is None
    assert back["status"] == "in_assembly"


def test_assign_collector_refusals_change_nothing(
    db: Database, api: Api, world: dict[str, int]
) -> None:
    number = new_order(db)
    api.ok("openShift", pickerId=world["anna"])
    status, body = api.call("assignCollector", orderNumber=number, pickerId=world["anna"])
    assert (status, body["error"]["code"]) == (409, "wrong_status")  # not in assembly yet

    api.ok("takeOrder", orderNumber=number, pickerId=world["anna"])
    refusals = [
        (world["anna"], 409, "same_picker"),
        (world["vera"], 409, "no_open_shift"),
        (world["gleb"], 404, "picker_not_found"),  # another store's picker
        (999_999, 404, "picker_not_found"),
    ]
    for picker_id, code, error in refusals:
        status, body = api.call("assignCollector", orderNumber=number, pickerId=picker_id)
        assert (status, body["error"]["code"]) == (code, error)
    assert api.ok("getOrder", orderNumber=number)["pickerId"] == world["anna"]
    assert count(db, telegram_outbox) == 0


def test_same_request_id_gives_the_first_answer_and_changes_nothing(
    db: Database, api: Api, world: dict[str, int]
) -> None:
    number = new_order(db)
    api.ok("openShift", pickerId=world["anna"])
    first = api.call("takeOrder", request_id="take-1", orderNumber=number, pickerId=world["anna"])
    again = api.call("takeOrder", request_id="take-1", orderNumber=number, pickerId=world["anna"])
    assert first == again
    assert first[0] == 200
    assert [t for t, _ in outbox(db)] == ["order.in_work"]

    status, body = api.call(
        "takeOrder", request_id="take-1", orderNumber=number, pickerId=world["boris"]
    )
    assert (status, body["error"]["code"]) == (422, "request_id_reused")


def test_a_refused_call_is_not_remembered(db: Database, api: Api, world: dict[str, int]) -> None:
    number = new_order(db)
    status, _ = api.call("takeOrder", request_id="t", orderNumber=number, pickerId=world["anna"])
    assert status == 409  # no open shift yet
    api.ok("openShift", pickerId=world["anna"])
    status, body = api.call("takeOrder", request_id="t", orderNumber=number, pickerId=world["anna"])
    assert (status, body["result"]["status"]) == (200, "in_assembly")


def test_finish_needs_every_line_and_cancel_tells_sm(
    db: Database, api: Api, world: dict[str, int]
) -> None:
    number = new_order(db)
    api.ok("openShift", pickerId=world["anna"])
    api.ok("takeOrder", orderNumber=number, pickerId=world["anna"])
    api.ok("recordPick", orderNumber=number, lineNo=1, quantity=2)
    status, body = api.call("finishAssembly", orderNumber=number, bags=1)
    assert (status, body["error"]["code"]) == (409, "not_all_picked")

    card = api.ok("cancelOrder", orderNumber=number, reason="out_of_stock")
    assert (card["status"], card["statusText"]) == ("cancelled", "Отменён")
    assert outbox(db)[-1] == ("order.canceled", {"order_id": "H1", "reason": "out_of_stock"})
    with db.engine.begin() as c:
        c.execute(orders.update().values(status="handed_over"))
    status, body = api.call("cancelOrder", orderNumber=number, reason="out_of_stock")
    assert (status, body["error"]["code"]) == (409, "wrong_status")


def test_a_weighed_substitute_without_its_weight_is_refused_and_changes_nothing(
    db: Database, api: Api, world: dict[str, int]
) -> None:
    """SM refuses final contents with a weighed good without weight: refuse it at the source."""
    number = new_order(db)
    api.ok("openShift", pickerId=world["anna"])
    api.ok("takeOrder", orderNumber=number, pickerId=world["anna"])
    api.ok("recordPick", orderNumber=number, lineNo=1, quantity=2)
    apples = {"sku": "200301", "name": "Яблоки Гала весовые", "quantity": 1, "price": "189.00"}
    status, body = api.call("replacePosition", orderNumber=number, lineNo=2, substitute=apples)
    assert (status, body["error"]["code"]) == (422, "weight_required")
    assert "вес" in body["error"]["message"]
    card = api.ok("getOrder", orderNumber=number)
    assert [(p["lineNo"], p["replacedBySku"]) for p in card["positions"]] == [(1, None), (2, None)]

    api.ok(
        "replacePosition",
        orderNumber=number,
        lineNo=2,
        substitute={**apples, "weightGrams": "1302"},
    )
    api.ok("finishAssembly", orderNumber=number, bags=1)
    final = outbox(db)[-1][1]["order"]["positions"]
    assert final == [
        {"id": "100500", "quantity": 2},
        {"id": "200300", "quantity": 0, "weight": "0", "replacedByID": "200301"},
        {"id": "200301", "quantity": 1, "weight": "1302"},
    ]


def test_finish_without_ready_waits_for_mark_ready(
    db: Database, api: Api, world: dict[str, int]
) -> None:
    number = new_order(db, positions=[position("100500", quantity=1)])
    api.ok("openShift", pickerId=world["anna"])
    api.ok("takeOrder", orderNumber=number, pickerId=world["anna"])
    api.ok("recordPick", orderNumber=number, lineNo=1, quantity=1)
    assert api.ok("finishAssembly", orderNumber=number, bags=1, ready=False)["status"] == (
        "assembled"
    )
    assert [t for t, _ in outbox(db)] == ["order.in_work", "order.assembled"]
    assert api.ok("markReady", orderNumber=number)["status"] == "ready_for_delivery"
    assert outbox(db)[-1][0] == "order.ready_for_delivery"


def test_the_pickup_counter_over_http(db: Database, api: Api, world: dict[str, int]) -> None:
    """handOutOrder answers in the API's envelope: a wrong code 422 with a Russian message,
    a locked handover 409, the right code the delivered card; another store sees nothing."""
    number = new_order(db, shipmentMethod="pickup", positions=[position("100500", quantity=1)])
    api.ok("openShift", pickerId=world["anna"])
    api.ok("takeOrder", orderNumber=number, pickerId=world["anna"])
    api.ok("recordPick", orderNumber=number, lineNo=1, quantity=1)
    api.ok("finishAssembly", orderNumber=number, bags=1)
    (code,) = [p["code"] for t, p in outbox(db) if t == "order.pickup_code_created"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    status, body = api.call("handOutOrder", request_id="c-1", orderNumber=number, code=wrong)
    assert (status, body["requestId"], body["error"]["code"]) == (422, "c-1", "wrong_handout_code")
    assert body["error"]["message"].startswith("Неверный код выдачи")
    status, body = api.call("handOutOrder", token=TOKEN_B, orderNumber=number, code=code)
    assert (status, body["error"]["code"]) == (404, "order_not_found")
    for _ in range(4):
        status, body = api.call("handOutOrder", orderNumber=number, code=wrong)
    assert (status, body["error"]["code"]) == (409, "handover_locked")
    assert count(db, telegram_outbox) == 1

    status, body = api.call("handOutOrder", orderNumber=number, code=code)
    assert (status, body["error"]["code"]) == (409, "handover_locked")
    assert outbox(db)[-1][0] == "order.ready_for_delivery"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "bad_request"),
        (b'{"requestId": "x"}', 400, "bad_request"),
        (
            b'{"requestId": "x", "requestData": {"orderNumber": "SM1", "lineNo": 1, '
            b'"quantity": -1}}',
            422,
            "invalid_data",
        ),
        (
            b'{"requestId": "x", "requestData": {"orderNumber": "SM1", "lineNo": 1, '
            b'"quantity": 1, "surprise": true}}',
            422,
            "invalid_data",
        ),
    ],
)
def test_malformed_requests_answer_in_the_envelope(
    api: Api, world: dict[str, int], body: bytes, status: int, code: str
) -> None:
    response = api.client.post(
        "/sbermarket/orders/api/recordPick",
        content=body,
        headers={"Client-Token": TOKEN_A, "Content-Type": "application/json"},
    )
    assert response.status_code == status
    answer = response.json()
    assert answer["error"]["code"] == code
    assert answer["error"]["message"]
    if status == 422:
        assert answer["requestId"] == "x"


def test_openapi_lists_every_method(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    paths = {p.rsplit("/", 1)[-1] for p in schema["paths"] if "/api/" in p}
    assert paths == {
        "openShift",
        "closeShift",
        "getActiveOrders",
        "getOrder",
        "getNotifications",
        "takeOrder",
        "assignCollector",
        "recordPick",
        "replacePosition",
        "finishAssembly",
        "markReady",
        "handOutOrder",
        "cancelUncollected",
        "cancelOrder",
    }


def test_request_id_is_echoed_and_unsafe_ones_replaced(api: Api, world: dict[str, int]) -> None:
    headers = {"Client-Token": TOKEN_A, "X-Request-ID": "nginx-abc.123"}
    response = api.client.post(
        "/sbermarket/orders/api/getActiveOrders", json={"requestData": {}}, headers=headers
    )
    assert response.headers["X-Request-ID"] == "nginx-abc.123"
    headers["X-Request-ID"] = "evil\tvalue"
    response = api.client.post(
        "/sbermarket/orders/api/getActiveOrders", json={"requestData": {}}, headers=headers
    )
    assert response.headers["X-Request-ID"] != "evil\tvalue"
    assert len(response.headers["X-Request-ID"]) == 32


# --- bounds: input that the database or the business cannot take (docs/input-bounds.md) -----

INT32_PAST = 2**31
U64_PAST = 2**64
SUB = {"sku": "100501", "name": "Кефир 1% 900 г", "quantity": 1, "price": "79.50"}


def _sub(**fields: Any) -> dict[str, Any]:
    return {"orderNumber": "SM00000001", "lineNo": 1, "substitute": SUB | fields}


def _pick(**fields: Any) -> dict[str, Any]:
    return {"orderNumber": "SM00000001", "lineNo": 1, "quantity": 1} | fields


OUT_OF_BOUNDS: list[Any] = [
    # integers beyond int32 (the database) or 64 bits (the request fingerprint)
    ("openShift", {"pickerId": INT32_PAST}, "pickerId"),
    ("closeShift", {"pickerId": INT32_PAST}, "pickerId"),
    ("takeOrder", {"orderNumber": "SM00000001", "pickerId": INT32_PAST}, "pickerId"),
    ("assignCollector", {"orderNumber": "SM00000001", "pickerId": INT32_PAST}, "pickerId"),
    ("openShift", {"pickerId": U64_PAST}, "pickerId"),
    ("recordPick", _pick(lineNo=U64_PAST), "lineNo"),
    ("recordPick", _pick(lineNo=INT32_PAST), "lineNo"),
    # NUL and other control characters in texts
    ("getOrder", {"orderNumber": "SM0\x000000001"}, "orderNumber"),
    ("recordPick", _pick(markingCodes=["0104\x0060"]), "markingCodes.0"),
    ("replacePosition", _sub(name="Кефир\x00"), "substitute.name"),
    ("replacePosition", _sub(sku="1005\x0001"), "substitute.sku"),
    # decimals that overflow NUMERIC, or are absurd
    ("recordPick", _pick(quantity="1e-20000"), "quantity"),
    ("recordPick", _pick(quantity="١٢٣"), "quantity"),
    ("recordPick", _pick(quantity="1_000"), "quantity"),
    ("replacePosition", _sub(price="1e200000"), "substitute.price"),
    ("replacePosition", _sub(price="1e30"), "substitute.price"),
    ("replacePosition", _sub(price="79.505"), "substitute.price"),
    ("replacePosition", _sub(quantity="1e-20000"), "substitute.quantity"),
    ("replacePosition", _sub(weightGrams="1e200000"), "substitute.weightGrams"),
    # marking codes: bounded per line, so answers stay small
    ("recordPick", _pick(markingCodes=[f"0104{i:06d}" for i in range(101)]), "markingCodes"),
    ("recordPick", _pick(markingCodes=["0" * 201]), "markingCodes.0"),
    ("recordPick", _pick(markingCodes=[""]), "markingCodes.0"),
    ("replacePosition", _sub(markingCodes=["0" * 201]), "substitute.markingCodes.0"),
]


@pytest.mark.parametrize(
    ("method", "data", "field"),
    OUT_OF_BOUNDS,
    ids=[f"{m}-{f}-{i}" for i, (m, _, f) in enumerate(OUT_OF_BOUNDS)],
)
@pytest.mark.usefixtures("world")
def test_out_of_bounds_data_is_422_names_the_field_and_changes_nothing(
    db: Database, api: Api, method: str, data: dict[str, Any], field: str
) -> None:
    status, body = api.call(method, request_id="r-1", **data)
    assert (status, body["error"]["code"]) == (422, "invalid_data"), body
    assert f"requestData.{field}" in [d["loc"] for d in body["error"]["details"]]
    assert body["requestId"] == "r-1"
    assert count(db, idempotency_keys) == 0
    assert count(db, picker_shifts) == 0


@pytest.mark.parametrize(
    "request_id",
    ["", "take 1", "take-\x00", "r" * 129, "заказ-1"],
    ids=["empty", "space", "nul", "129-chars", "not-ascii"],
)
def test_a_request_id_that_cannot_be_a_key_is_400(
    db: Database, api: Api, world: dict[str, int], request_id: str
) -> None:
    status, body = api.call("openShift", request_id=request_id, pickerId=world["anna"])
    assert (status, body["error"]["code"]) == (400, "bad_request"), body
    assert "requestId" in [d["loc"] for d in body["error"]["details"]]
    assert body["requestId"] is None  # not echoed: it is not a valid id
    assert count(db, idempotency_keys) == 0
    assert count(db, picker_shifts) == 0


def test_a_piece_good_is_picked_and_substituted_in_whole_pieces(
    db: Database, api: Api, world: dict[str, int]
) -> None:
    number = new_order(db)
    api.ok("openShift", pickerId=world["anna"])
    api.ok("takeOrder", orderNumber=number, pickerId=world["anna"])
    status, body = api.call("recordPick", orderNumber=number, lineNo=1, quantity="0.001")
    assert (status, body["error"]["code"]) == (422, "whole_pieces")
    assert "целое" in body["error"]["message"]
    status, body = api.call("replacePosition", **_sub(quantity="1.5") | {"orderNumber": number})
    assert (status, body["error"]["code"]) == (422, "whole_pieces")
    card = api.ok("getOrder", orderNumber=number)
    assert [p["pickedQuantity"] for p in card["positions"]] == [None, None]
    assert len(card["positions"]) == 2
    # a weighed good may be fractional, and a whole count with zeros is a whole count
    api.ok("recordPick", orderNumber=number, lineNo=2, quantity="0.5", weightGrams="610.5")
    assert api.ok("recordPick", orderNumber=number, lineNo=1, quantity="2.000")["positions"][0][
        "pickedQuantity"
    ] in ("2", "2.000")


@pytest.mark.parametrize("ids", [[INT32_PAST], [U64_PAST], [0]])
def test_erp_ack_ids_beyond_the_database_are_400(
    db: Database, settings: Settings, ids: list[int]
) -> None:
    erp_settings = settings.model_copy(update={"erp_token": SecretStr("erp")})
    with TestClient(create_assembly_app(erp_settings, db, clock=FrozenClock())) as client:
        response = client.post(
            "/erp/sales-documents/ack", json={"ids": ids}, headers={"X-ERP-Token": "erp"}
        )
    assert response.status_code == 400, response.text
    assert "ids" in response.json()["error"]["details"][0]["loc"]
