"""The store workstation on a desktop: the board, an order's card, a hand-over to another
picker, and the printed picking list."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from smbridge.domain.staff import Role
from tests.browser.scenes import (
    CHEESE,
    KEFIR,
    MILK,
    call,
    open_shop,
    picking_payload,
)
from tests.browser.signing import add_account, sign_in
from tests.browser.stand import Stand


def test_board_card_and_hand_over_to_another_picker(stand: Stand, desktop: Page) -> None:
    shop = open_shop(stand, "201", "Магазин на Мира", ("Ольга", "Пётр"))
    number = stand.receive(picking_payload("H7300000001", shop.sm_id))
    for picker_id in shop.pickers.values():
        call(stand, shop, "openShift", pickerId=picker_id)
    call(stand, shop, "takeOrder", orderNumber=number, pickerId=shop.pickers["Ольга"])
    add_account(stand, "operator", Role.STORE_OPERATOR, shop)
    sign_in(stand, desktop, "operator")

    row = desktop.locator(f'[data-test="board-row"][data-order="{number}"]')
    expect(row.get_by_test_id("row-picker")).to_have_text("Ольга")
    row.get_by_test_id("card-link").click()
    expect(desktop.get_by_test_id("card-title")).to_contain_text(number)
    expect(desktop.get_by_test_id("card-picker")).to_have_text("Ольга")
    expect(desktop.get_by_test_id("position")).to_have_count(3)
    expect(desktop.get_by_test_id("customer-phone")).to_contain_text("+79990000001")
    expect(desktop.get_by_test_id("timeline-entry").first).to_be_visible()

    desktop.get_by_test_id("back-to-board").click()
    row.get_by_test_id("handover-picker").select_option(label="Пётр")
    row.get_by_test_id("handover-submit").click()
    expect(row.get_by_test_id("row-picker")).to_have_text("Пётр")
    card = call(stand, shop, "getOrder", orderNumber=number)
    assert card["pickerId"] == shop.pickers["Пётр"]  # the use case did it, not the page


def test_the_printed_picking_list_has_the_order_and_every_line_as_a_barcode(
    stand: Stand, desktop: Page
) -> None:
    shop = open_shop(stand, "201", "Магазин на Мира", ("Ольга",))
    number = stand.receive(picking_payload("H7300000002", shop.sm_id))
    add_account(stand, "manager", Role.STORE_MANAGER, shop)
    sign_in(stand, desktop, "manager")
    desktop.goto(stand.ui(f"store/orders/{number}"))
    with desktop.context.expect_page() as opened:
        desktop.get_by_test_id("print-link").click()
    sheet = opened.value
    sheet.wait_for_load_state()
    expect(sheet.get_by_test_id("picklist")).to_be_visible()
    expect(sheet.get_by_test_id("order-barcode")).to_contain_text(number)
    skus = sheet.get_by_test_id("picklist-line").evaluate_all(
        "rows => rows.map(r => r.dataset.sku).sort()"
    )
    assert skus == sorted([MILK, CHEESE, KEFIR])
    # each barcode is drawn (an SVG or an image with a size), not just printed as text
    drawn = sheet.locator('[data-test="picklist"] svg, [data-test="picklist"] img')
    assert drawn.count() >= 4
    assert all((drawn.nth(i).bounding_box() or {"width": 0})["width"] > 20 for i in range(4))
    pdf = sheet.pdf(format="A4")  # what the store's printer gets
    assert pdf.startswith(b"%PDF")


def test_the_pickup_counter_hands_an_order_out_by_the_customers_code(
    stand: Stand, desktop: Page
) -> None:
    """A pickup order, assembled by a picker's app, waits at the counter; a wrong code is
    refused on the page, the right one hands it out and SM hears order.delivered after the
    code and ready_for_delivery."""
    shop = open_shop(stand, "203", "Магазин на Садовой", ("Ольга",))
    sm_id = "H7300000009"
    number = stand.receive(picking_payload(sm_id, shop.sm_id, shipmentMethod="pickup"))
    picker = shop.pickers["Ольга"]
    call(stand, shop, "openShift", pickerId=picker)
    card = call(stand, shop, "takeOrder", orderNumber=number, pickerId=picker)
    for line in card["positions"]:
        weight = {"weightGrams": line["weightGrams"]} if line["weightGrams"] else {}
        call(
            stand,
            shop,
            "recordPick",
            orderNumber=number,
            lineNo=line["lineNo"],
            quantity=line["quantity"],
            **weight,
        )
    call(stand, shop, "finishAssembly", orderNumber=number, bags=1)
    stand.dispatch_until(lambda: stand.market.orders[sm_id].code is not None)
    code = stand.market.orders[sm_id].code
    assert code is not None
    add_account(stand, "counter", Role.STORE_OPERATOR, shop)
    sign_in(stand, desktop, "counter")

    row = desktop.locator(f'[data-test="board-row"][data-order="{number}"]')
    expect(row.get_by_test_id("row-delivery")).to_have_text("Самовывоз")
    desktop.get_by_test_id("counter-link").click()
    expect(desktop.locator('[data-test="counter-row"]')).to_have_count(1)
    desktop.get_by_test_id("counter-order").select_option(number)
    desktop.get_by_test_id("counter-code").fill("000000" if code != "000000" else "111111")
    desktop.get_by_test_id("counter-submit").click()
    expect(desktop.get_by_test_id("error")).to_contain_text("Неверный код выдачи")

    desktop.get_by_test_id("counter-code").fill(code)
    desktop.get_by_test_id("counter-submit").click()
    expect(desktop.get_by_test_id("notice")).to_have_text("Заказ выдан покупателю.")
    expect(desktop.get_by_test_id("counter-empty")).to_be_visible()
    assert call(stand, shop, "getOrder", orderNumber=number)["statusText"] == "Выдан"
    stand.dispatch()
    assert stand.wait_for_sm(sm_id, "order.delivered")[-3:] == [
        "order.pickup_code_created",
        "order.ready_for_delivery",
        "order.delivered",
    ]
