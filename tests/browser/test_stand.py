"""The stand itself: the live app answers in the browser, on the frozen instant."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.scenes import CHEESE, KEFIR, MILK, call, open_shop, picking_payload
from tests.browser.stand import Stand
from tests.support.clock import FROZEN_NOW


def test_the_live_app_answers_the_browser_on_the_frozen_instant(stand: Stand, phone: Page) -> None:
    answer = phone.goto(stand.url + "/healthz")
    assert answer is not None
    assert answer.status == 200
    assert '"status":"ok"' in phone.content().replace(" ", "")
    seen = phone.evaluate("Date.now()") / 1000
    assert FROZEN_NOW.timestamp() <= seen < FROZEN_NOW.timestamp() + 120
    assert phone.viewport_size == {"width": 360, "height": 740}


def test_an_order_sm_sends_is_accepted_and_sm_hears_it_from_the_live_app(stand: Stand) -> None:
    shop = open_shop(stand, "201", "Магазин на Мира", ("Ольга",))
    number = stand.receive(picking_payload("H7000000001", shop.sm_id))
    assert stand.wait_for_sm("H7000000001", "order.accepted") == ["order.accepted"]
    card = call(stand, shop, "getOrder", orderNumber=number)
    assert [line["sku"] for line in card["positions"]] == [MILK, CHEESE, KEFIR]
