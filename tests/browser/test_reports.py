"""A report in the browser: its table, its SVG chart, and its CSV."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from smbridge.domain.staff import Role
from tests.browser.scenes import open_shop, picking_payload
from tests.browser.signing import add_account, sign_in
from tests.browser.stand import Stand


def test_a_report_shows_its_figures_in_a_table_and_a_chart(stand: Stand, desktop: Page) -> None:
    shop = open_shop(stand, "201", "Магазин на Мира", ("Ольга",))
    for n in range(3):
        stand.receive(picking_payload(f"H730000000{n}", shop.sm_id))
    add_account(stand, "manager", Role.STORE_MANAGER, shop)
    sign_in(stand, desktop, "manager")

    desktop.goto(stand.ui("reports/"))
    desktop.get_by_test_id("report-orders-by-status").click()

    expect(desktop.get_by_test_id("report-title")).to_have_text("Заказы по статусам")
    expect(desktop.get_by_test_id("report-table")).to_contain_text("3")
    chart = desktop.get_by_test_id("report-chart").locator("svg")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar")).not_to_have_count(0)
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 200  # drawn, not an empty element
    with desktop.expect_download() as download:
        desktop.get_by_test_id("report-csv").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].count(";") >= 1
