"""The README's screenshots (docs/screens/*.png), taken from a live stand on a throwaway
SQLite database with the browser tests' scenes: ``scripts/screens`` (or
``.venv/bin/python -m tests.browser.screens docs/screens``)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select

from smbridge.domain.staff import Role
from smbridge.kernel.database import migrations
from smbridge.kernel.database.tables import orders
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from tests.browser import stand as stands
from tests.browser.scenes import (
    MILK,
    Shop,
    call,
    open_shop,
    picking_payload,
)
from tests.browser.signing import add_account, sign_in, sign_in_picker
from tests.factories import order_payload, ready_with_an_unweighed_substitute
from tests.support.clock import FROZEN_NOW


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/screens.db"
        db = Database.from_settings(Settings(database_url=url))
        migrations.upgrade(db.engine)
        try:
            with stands.live_stand(url, db) as stand, sync_playwright() as driver:
                browser = stands.launch(driver)
                shop, numbers = _scene(stand)
                _phone_screens(browser, stand, shop, numbers, out)
                _desktop_screens(browser, stand, shop, numbers, out)
                browser.close()
        finally:
            db.dispose()


def _scene(stand: stands.Stand) -> tuple[Shop, list[str]]:
    shop = open_shop(stand, "101", "Магазин на Ленина", ("Ольга", "Пётр", "Ирина"))
    for picker_id in shop.pickers.values():
        call(stand, shop, "openShift", pickerId=picker_id)
    numbers = [
        stand.receive(picking_payload(f"H80000000{index:02d}", shop.sm_id)) for index in range(6)
    ]
    call(stand, shop, "takeOrder", orderNumber=numbers[0], pickerId=shop.pickers["Ольга"])
    call(stand, shop, "recordPick", orderNumber=numbers[0], lineNo=1, quantity="2")
    call(stand, shop, "takeOrder", orderNumber=numbers[1], pickerId=shop.pickers["Пётр"])
    # a dead letter for operations: SM refuses a weighed substitute without its weight
    stand.receive(order_payload("H8100000001"), weighed={"200300", "200301"})
    with stand.db.engine.connect() as c:
        order_id = c.execute(
            select(orders.c.id).where(orders.c.sm_order_id == "H8100000001")
        ).scalar_one()
    ready_with_an_unweighed_substitute(stand.db, order_id, FROZEN_NOW)
    stand.dispatch()
    add_account(stand, "operator", Role.STORE_OPERATOR, shop)
    add_account(stand, "ops", Role.OPERATIONS)
    return shop, numbers


def _phone_screens(
    browser: Browser, stand: stands.Stand, shop: Shop, numbers: list[str], out: Path
) -> None:
    context = stands.phone_context(browser)
    page = context.new_page()
    sign_in_picker(stand, page, shop, "Ольга")
    page.goto(stand.ui("picker"))
    _shot(page, out / "phone-picker-orders.png")
    page.goto(stand.ui(f"picker/orders/{numbers[0]}"))
    page.get_by_test_id("scan-input").fill(MILK)
    _shot(page, out / "phone-pick-screen.png")
    context.close()


def _desktop_screens(
    browser: Browser, stand: stands.Stand, shop: Shop, numbers: list[str], out: Path
) -> None:
    context = stands.desktop_context(browser)
    page = context.new_page()
    sign_in(stand, page, "operator")
    page.goto(stand.ui("store/"))
    _shot(page, out / "desktop-store-board.png")
    page.goto(stand.ui(f"store/orders/{numbers[0]}"))
    _shot(page, out / "desktop-order-card.png", full=True)
    page.goto(stand.ui(f"store/orders/{numbers[2]}/print"))
    _shot(page, out / "desktop-print-list.png", full=True)
    context.close()
    context = stands.desktop_context(browser)
    page = context.new_page()
    sign_in(stand, page, "ops")
    page.goto(stand.ui("ops/dead-letters"))
    page.get_by_test_id("dead-letter-open").first.click()
    _shot(page, out / "desktop-ops-dead-letter.png", full=True)
    page.goto(stand.ui("reports/"))
    _shot(page, out / "desktop-report.png", full=True)
    context.close()


def _shot(page: Page, path: Path, full: bool = False) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(path), full_page=full, animations="disabled")
    print(path)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screens"))
