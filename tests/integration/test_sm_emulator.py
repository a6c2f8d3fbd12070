"""The SM emulator's answers: order of types, repeats, both API generations, outages,
and the courier's payment computed from the final contents."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from smbridge.emulators.sm.app import MarketConfig, MarketOrder, Marketplace, create_app

CLASSIC = {"Client-Token": "sm-token", "Api-Version": "3.0"}


@pytest.fixture
def market() -> Marketplace:
    return Marketplace(
        MarketConfig(
            hook_urls=("http://hook.test/",), hook_token="h", notify_token="sm-token", token_ttl=60
        )
    )


@pytest.fixture
def client(market: Marketplace) -> Iterator[TestClient]:
    market.orders["H1"] = MarketOrder(
        "H1", {}, {"100505"}, {"100500": Decimal("79.90"), "100505": Decimal("119.00")}
    )
    with TestClient(create_app(market, generate=False)) as test_client:
        yield test_client


def notify(client: TestClient, kind: str, **payload: Any) -> int:
    body = {"event": {"type": kind, "payload": {"order_id": "H1", **payload}}}
    return client.post("/v1/notifications", json=body, headers=CLASSIC).status_code


def test_the_order_of_types_is_enforced(client: TestClient) -> None:
    assert notify(client, "order.in_work") == 200
    assert notify(client, "order.in_work") == 202  # a repeat: already processed
    assert (
        notify(
            client,
            "order.accepted",
            number="SM1",
            estimated_assembly_at="2026-11-28T12:00:00+03:00",
        )
        == 422
    )  # too late
    assert notify(client, "order.assembled") == 200
    report = client.get("/report").json()
    assert (report["accepted"], report["alreadyProcessed"], report["rejected"]) == (2, 1, 1)
    assert "out of order" in report["rejections"][0]["reason"]


def test_unknown_orders_and_bad_auth(client: TestClient) -> None:
    body = {"event": {"type": "order.in_work", "payload": {"order_id": "H404"}}}
    assert client.post("/v1/notifications", json=body, headers=CLASSIC).status_code == 422
    assert (
        client.post(
            "/v3/notifications", json=body, headers={"Client-Token": "wrong", "Api-Version": "3.0"}
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/v1/notifications", json=body, headers={"Client-Token": "sm-token"}
        ).status_code
        == 400
    )


def test_ofm_needs_a_valid_bearer_token(client: TestClient, market: Marketplace) -> None:
    body = {"event": {"type": "order.in_work", "payload": {"order_id": "H1"}}}
    assert client.post("/ofm/api/v1/notifications", json=body).status_code == 401
    refused = client.post(
        "/auth/token",
        data={"client_id": "smbridge", "client_secret": "no", "grant_type": "client_credentials"},
    )
    assert refused.status_code == 401
    token = client.post(
        "/auth/token",
        data={
            "client_id": "smbridge",
            "client_secret": "secret",
            "grant_type": "client_credentials",
        },
    ).json()["access_token"]
    answer = client.post(
        "/ofm/api/v1/notifications", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    assert market.report.generations["ofm"] == 1


def test_an_outage_answers_its_status_until_it_ends(
    client: TestClient, market: Marketplace
) -> None:
    client.post("/admin/outage", json={"seconds": 60, "status": 503})
    assert notify(client, "order.in_work") == 503
    market.outage(0, 503)
    assert notify(client, "order.in_work") == 200


def test_a_slow_phase_answers_normally_but_late(client: TestClient, market: Marketplace) -> None:
    client.post("/admin/outage", json={"seconds": 60, "delay": 0.2})
    started = time.monotonic()
    assert notify(client, "order.in_work") == 200
    assert time.monotonic() - started >= 0.2
    assert market.report.accepted == 1
    assert market.report.faulted == {"slow": 1}


def test_phases_follow_each_other_and_429_says_when_to_come_back(
    client: TestClient, market: Marketplace
) -> None:
    phases = [
        {"seconds": 0, "status": 500},  # over at once: the next phase is on
        {"seconds": 60, "status": 429, "retry_after": 7},
        {"seconds": 60, "status": 503},
    ]
    assert client.post("/admin/outage", json={"phases": phases}).status_code == 200
    body = {"event": {"type": "order.in_work", "payload": {"order_id": "H1"}}}
    answer = client.post("/v1/notifications", json=body, headers=CLASSIC)
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "7"
    assert market.report.accepted == 0
    market.misbehave([])
    assert notify(client, "order.in_work") == 200
    assert market.summary()["faultAnswers"] == {"429": 1}


@pytest.mark.parametrize(
    "outage",
    [{"phases": {"seconds": 1}}, {"seconds": -1}, {"status": 99}, {"phases": ["x"]}, []],
)
def test_a_bad_outage_is_refused_and_changes_nothing(
    client: TestClient, market: Marketplace, outage: object
) -> None:
    assert client.post("/admin/outage", json=outage).status_code == 400
    assert market.fault_now() is None
    assert notify(client, "order.in_work") == 200


def test_a_finished_order_keeps_only_what_a_repeat_is_answered_with(
    client: TestClient, market: Marketplace
) -> None:
    """A day's orders stay in the emulator: once cancelled (or delivered), an order sheds
    its basket and prices, and still answers a repeat and shows what it received."""
    assert notify(client, "order.in_work") == 200
    assert notify(client, "order.canceled", reason="out_of_stock") == 200
    order = market.orders["H1"]
    assert order.state == "cancelled"
    shed = (dict(order.payload), dict(order.prices), set(order.weighed), tuple(order.final))
    assert shed == ({}, {}, set(), ())
    assert notify(client, "order.canceled", reason="out_of_stock") == 202
    view = client.get("/report/orders/H1").json()
    assert [n["type"] for n in view["notifications"]] == ["order.in_work", "order.canceled"]


def test_each_line_of_the_payment_is_rounded_to_kopecks(market: Marketplace) -> None:
    order = MarketOrder("H1", {}, {"1", "2"}, {"1": Decimal("0.01"), "2": Decimal("0.01")})
    order.final = [{"id": "1", "weight": "500"}, {"id": "2", "weight": "500"}]
    assert market._amount(order) == Decimal("0.02")  # 0.005 twice: not 0.01 for the sum


def test_a_substitute_is_charged_at_the_catalog_price_beside_a_discounted_line(
    market: Marketplace,
) -> None:
    """The order has kefir (catalog 79.50) at SM's 10 % discount; milk is replaced by kefir
    too: that substitute costs the catalog price, as the store's document says."""
    order = MarketOrder("H1", {}, set(), {"100500": Decimal("89.90"), "100501": Decimal("71.55")})
    order.final = [
        {"id": "100500", "quantity": 0, "replacedByID": "100501"},
        {"id": "100501", "quantity": 2},
        {"id": "100501", "quantity": 1},
    ]
    assert market._amount(order) == Decimal("71.55") * 2 + Decimal("79.50")


def test_the_courier_charges_the_final_contents(market: Marketplace) -> None:
    posted: list[dict[str, Any]] = []

    def hook(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(200, json={"status": "ok"})

    order = MarketOrder(
        "H1", {}, {"100505"}, {"100500": Decimal("79.90"), "100505": Decimal("119.00")}
    )
    order.final = [
        {"id": "100500", "quantity": 2},
        {"id": "100505", "quantity": 1, "weight": "1187"},
        {"id": "100509", "quantity": 1},
    ]  # a substitute at catalog price

    async def scenario() -> None:
        market.http = httpx.AsyncClient(transport=httpx.MockTransport(hook))
        fast = Marketplace(
            MarketConfig(
                hook_urls=("http://hook.test/",), hook_token="h", notify_token="t", speed=1e6
            ),
            market.http,
        )
        await fast._courier(order)
        await market.http.aclose()

    asyncio.run(scenario())
    assert [p["event_type"] for p in posted] == [
        "order.paid",
        "courier.assigned",
        "courier.arrived",
        "order.received",
        "order.delivered",
    ]
    paid = Decimal(posted[0]["payload"]["total"]["discountTotalPrice"])
    assert paid == Decimal("159.80") + Decimal("141.25") + Decimal("139.00")
    assert order.state == "delivered"
    assert len(order.final) == 0  # the courier's work is done: the contents are shed


def test_a_pickup_order_is_checked_strictly_and_its_customer_comes_to_the_counter() -> None:
    """SM accepts a handout code before ready_for_delivery, sends no courier for a pickup
    order, lets its customer show a wrong code first (wrong_code_share 1), and takes
    order.delivered only after ready_for_delivery and only for pickup orders."""
    posted: list[dict[str, Any]] = []

    def hook(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(200, json={"status": "ok"})

    async def scenario() -> list[int]:
        market = Marketplace(
            MarketConfig(
                hook_urls=("http://hook.test/",),
                hook_token="h",
                notify_token="t",
                speed=1e6,
                no_show_share=0.0,
                wrong_code_share=1.0,
            ),
            httpx.AsyncClient(transport=httpx.MockTransport(hook)),
        )
        market.orders["H1"] = MarketOrder("H1", {"storeID": "101"}, set(), {}, number="SM1")
        market.orders["H1"].pickup = True
        market.orders["H2"] = MarketOrder("H2", {"storeID": "101"}, set(), {}, number="SM2")
        final: dict[str, Any] = {
            "order": {"originalOrderId": "H1", "positions": [{"id": "1", "quantity": 1}]}
        }

        def send(kind: str, order_id: str = "H1", **payload: Any) -> int:
            body = {"event": {"type": kind, "payload": {"order_id": order_id, **payload}}}
            return market.notify(body, "classic")[0]

        answers = [
            send("order.in_work"),
            send("order.delivered"),  # 422: not ready yet
            send("order.ready_for_delivery", **final),  # 422: no code yet
            send("order.pickup_code_created", code="123456"),
            send("order.ready_for_delivery", handoutCode="123456", **final),
            send("order.delivering"),  # 422: never
            send("order.delivered"),
            send("order.in_work", "H2"),
            send("order.pickup_code_created", "H2", code="654321"),  # 422: a courier order
        ]
        while market._tasks:  # the customer pays and comes to the counter
            await asyncio.gather(*market._tasks)
        visits = market.counter("101")
        assert [(v.number, v.code) for v in visits] == [("SM1", "123457"), ("SM1", "123456")]
        assert market.counter("101") == []  # each customer is served once
        assert market.orders["H1"].state == "delivered"
        await market.http.aclose()
        return answers

    answers = asyncio.run(scenario())
    assert answers == [200, 422, 422, 200, 200, 422, 200, 200, 422]
    assert [p["event_type"] for p in posted] == ["order.paid"]  # no courier events
