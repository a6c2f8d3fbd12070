"""The prompt send: a commit that queued notifications has them sent to SM at once, by
the web app that committed, without waiting for the dispatcher's poll (none runs here)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from smbridge.assembly.repository import ApiTokenRepository
from smbridge.assembly.service import token_hash
from smbridge.emulators.sm.app import MarketConfig, MarketOrder, Marketplace, create_app
from smbridge.entrypoints.assembly_app import create_assembly_app
from smbridge.entrypoints.hook_app import create_hook_app
from smbridge.kernel.database.tables import sm_notifications
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from tests.conftest import make_settings
from tests.factories import HEADERS, add_store, envelope, order_payload
from tests.support.clock import FROZEN_NOW, FrozenClock
from tests.support.servers import serving

HOOK = "/sbermarket/orders/hook/"
API = "/sbermarket/orders/api/"
SM_ORDER = "H5550001"


@pytest.fixture
def market() -> Marketplace:
    market = Marketplace(
        MarketConfig(hook_urls=("http://127.0.0.1:9/",), hook_token="h", notify_token="sm-token")
    )
    market.orders[SM_ORDER] = MarketOrder(SM_ORDER, {}, set(), {})
    return market


@pytest.fixture
def settings_with_sm(database_url: str, market: Marketplace) -> Iterator[Settings]:
    with serving(create_app(market, generate=False)) as sm_url:
        yield make_settings(database_url, sm_base_url=sm_url, sm_token="sm-token")


def received(market: Marketplace) -> list[str]:
    return [kind for kind, _ in market.orders[SM_ORDER].received]


def soon(condition: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def states(db: Database) -> list[tuple[str, str]]:
    with db.engine.connect() as c:
        rows = c.execute(
            select(sm_notifications.c.type, sm_notifications.c.state).order_by(
                sm_notifications.c.id
            )
        )
        return [(r.type, r.state) for r in rows]


def test_the_hook_sends_order_accepted_right_after_its_commit(
    db: Database, settings_with_sm: Settings, market: Marketplace
) -> None:
    add_store(db)
    with TestClient(create_hook_app(settings_with_sm, db, clock=FrozenClock())) as hook:
        body = envelope("order.created", order_payload(SM_ORDER))
        assert hook.post(HOOK, content=body, headers=HEADERS).status_code == 200
        assert soon(lambda: received(market) == ["order.accepted"]), received(market)
    assert states(db) == [("order.accepted", "delivered")]


def test_the_assembly_api_sends_a_cancellation_right_after_its_commit(
    db: Database, settings_with_sm: Settings, market: Marketplace
) -> None:
    store = add_store(db)
    assert store.id is not None
    with db.unit_of_work() as uow:
        uow.repo(ApiTokenRepository).add(store.id, token_hash("tsd"), "ТСД", FROZEN_NOW)
        uow.commit()
    with TestClient(create_hook_app(settings_with_sm, db, clock=FrozenClock())) as hook:
        body = envelope("order.created", order_payload(SM_ORDER))
        number = hook.post(HOOK, content=body, headers=HEADERS).json()["number"]
    with TestClient(create_assembly_app(settings_with_sm, db, clock=FrozenClock())) as api:
        answer = api.post(
            API + "cancelOrder",
            json={"requestData": {"orderNumber": number, "reason": "out_of_stock"}},
            headers={"Client-Token": "tsd"},
        )
        assert answer.status_code == 200, answer.json()
        assert soon(lambda: received(market) == ["order.accepted", "order.canceled"])
    assert states(db) == [("order.accepted", "delivered"), ("order.canceled", "delivered")]


def test_without_an_sm_address_notifications_wait_in_the_outbox(
    db: Database, settings: Settings
) -> None:
    add_store(db)
    with TestClient(create_hook_app(settings, db, clock=FrozenClock())) as hook:
        body = envelope("order.created", order_payload(SM_ORDER))
        assert hook.post(HOOK, content=body, headers=HEADERS).status_code == 200
    assert states(db) == [("order.accepted", "pending")]
