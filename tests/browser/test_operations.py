"""Operations in the browser: a dead-lettered notification corrected and re-sent, which
SM's emulator then accepts."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect
from sqlalchemy import select

from smbridge.domain.staff import Role
from smbridge.kernel.database.tables import orders, sm_notifications
from tests.browser.scenes import open_shop
from tests.browser.signing import add_account, sign_in
from tests.browser.stand import Stand
from tests.factories import order_payload, ready_with_an_unweighed_substitute
from tests.support.clock import FROZEN_NOW

SM_ORDER = "H7400000001"


def ready_state(stand: Stand) -> str:
    """The state of the order's ready_for_delivery in our outbox."""
    with stand.db.engine.connect() as c:
        rows = c.execute(select(sm_notifications.c.type, sm_notifications.c.state))
        states: dict[str, str] = {row.type: row.state for row in rows}
        return states["order.ready_for_delivery"]


def test_a_dead_letter_is_corrected_and_re_sent_and_sm_accepts_it(
    stand: Stand, desktop: Page
) -> None:
    open_shop(stand, "101", "Магазин на Ленина", ("Ольга",))
    # SM wants a weight for the weighed bananas and for the weighed apples replacing them
    stand.receive(order_payload(SM_ORDER), weighed={"200300", "200301"})
    with stand.db.engine.connect() as c:
        order_id = c.execute(select(orders.c.id).where(orders.c.sm_order_id == SM_ORDER)).scalar()
    assert order_id is not None
    ready_with_an_unweighed_substitute(stand.db, order_id, FROZEN_NOW)
    stand.dispatch_until(lambda: ready_state(stand) not in ("pending", "sending"))
    assert ready_state(stand) == "dead"  # SM refused it

    add_account(stand, "ops", Role.OPERATIONS)
    sign_in(stand, desktop, "ops")
    desktop.goto(stand.ui("ops/dead-letters"))
    desktop.get_by_test_id("dead-letter-row").get_by_test_id("dead-letter-open").click()
    expect(desktop.get_by_test_id("dead-letter-error")).to_contain_text("weight")
    field = desktop.get_by_test_id("payload-textarea")
    payload = json.loads(field.input_value())
    for line in payload["order"]["positions"]:
        if line["id"] == "200301":
            line["weight"] = "1180"  # weighed at the counter: 1.18 kg of apples
    field.fill(json.dumps(payload, ensure_ascii=False))
    desktop.get_by_test_id("reason").fill("Вес яблок взят с весов, покупатель согласен")
    desktop.get_by_test_id("resend-button").click()
    expect(desktop.get_by_test_id("done")).to_be_visible()

    # the scheduler's dispatcher, should no prompt send have taken it
    stand.dispatch_until(lambda: ready_state(stand) == "delivered")
    final = {p["id"]: p for p in stand.market.orders[SM_ORDER].final}
    assert final["200301"]["weight"] == "1180"
    assert stand.received_by_sm(SM_ORDER)[-1] == "order.ready_for_delivery"
