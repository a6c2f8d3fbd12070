"""The SM emulator's answers: order of types, repeats, both API generations, outages,
and the courier's payment computed from the final contents."""

from __future__ import annotations

import asyncio
import json
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


def test_the_courier_charges_the_final_contents(market: Marketplace) -> None:
    posted: list[dict[str, Any]] = []

    def hook(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(200, json={"status": "ok"})

    async def scenario() -> None:
        market.http = httpx.AsyncClient(transport=httpx.MockTransport(hook))
        fast = Marketplace(
            MarketConfig(
                hook_urls=("http://hook.test/",), hook_token="h", notify_token="t", speed=1e6
            ),
            market.http,
        )
        order = MarketOrder(
            "H1", {}, {"100505"}, {"100500": Decimal("79.90"), "100505": Decimal("119.00")}
        )
        order.final = [
            {"id": "100500", "quantity": 2},
            {"id": "100505", "quantity": 1, "weight": "1187"},
            {"id": "100509", "quantity": 1},
        ]  # a substitute at catalog price
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
