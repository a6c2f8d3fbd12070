"""A picker picks a whole order on a 360x740 phone: barcodes scanned as a keyboard wedge
types them (the code, then Enter), a weighed product by its scale label, a line replaced,
the bags counted; SM's emulator accepts order.ready_for_delivery with those contents."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import Page, expect

from tests.browser.scenes import (
    CHEESE,
    CHEESE_WEIGHED_GRAMS,
    KEFIR,
    KEFIR_SUBSTITUTE,
    MILK,
    cheese_label,
    open_shop,
    picking_payload,
)
from tests.browser.signing import sign_in_picker
from tests.browser.stand import Stand

SM_ORDER = "H7100000001"


def scan(page: Page, code: str) -> None:
    """What a scanner in keyboard mode does: types the code into the focused field, Enter."""
    field = page.get_by_test_id("scan-input")
    expect(field).to_be_focused()  # the wedge types wherever the focus is
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def line(page: Page, sku: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-test="line"][data-sku="{sku}"]')


def test_a_picker_picks_a_whole_order_on_a_phone_and_sm_accepts_it_ready(
    stand: Stand, phone: Page
) -> None:
    shop = open_shop(stand, "201", "Магазин на Мира", ("Ольга",))
    number = stand.receive(picking_payload(SM_ORDER, shop.sm_id))
    sign_in_picker(stand, phone, shop, "Ольга")

    expect(phone.get_by_test_id("picker-home")).to_be_visible()
    phone.get_by_test_id("shift-button").click()
    expect(phone.locator('[data-test="shift-button"][data-shift="open"]')).to_be_visible()
    order = phone.locator(f'[data-test="order-item"][data-order="{number}"]')
    order.get_by_test_id("take-button").click()
    expect(phone.get_by_test_id("picker-order")).to_have_attribute("data-order", number)

    scan(phone, MILK)
    scan(phone, MILK)
    expect(line(phone, MILK)).to_have_attribute("data-done", "yes")
    scan(phone, cheese_label())
    expect(line(phone, CHEESE)).to_have_attribute("data-done", "yes")
    expect(line(phone, CHEESE).get_by_test_id("line-picked")).to_contain_text("0,412")

    kefir = line(phone, KEFIR)
    kefir.get_by_test_id("line-actions").locator("summary").click()
    replace = kefir.get_by_test_id("replace-form")
    replace.get_by_test_id("replace-sku").fill(KEFIR_SUBSTITUTE)
    replace.get_by_test_id("replace-name").fill("Кефир Простоквашино 2,5% 900 мл")
    replace.get_by_test_id("replace-price").fill("104.90")
    replace.get_by_test_id("replace-submit").click()
    expect(line(phone, KEFIR_SUBSTITUTE)).to_be_visible()

    phone.get_by_test_id("bags-input").fill("2")
    phone.get_by_test_id("finish-button").click()
    phone.get_by_test_id("ready-button").click()

    assert stand.wait_for_sm(SM_ORDER, "order.ready_for_delivery")[-1] == (
        "order.ready_for_delivery"
    )
    final = {p["id"]: p for p in stand.market.orders[SM_ORDER].final}
    assert final[MILK]["quantity"] == 2
    assert Decimal(final[CHEESE]["weight"]) == CHEESE_WEIGHED_GRAMS
    assert final[KEFIR]["quantity"] == 0
    assert final[KEFIR]["replacedByID"] == KEFIR_SUBSTITUTE
    assert final[KEFIR_SUBSTITUTE]["quantity"] == 1
    assert stand.market.report.rejected == []
