"""Signing in per role, store scoping and CSRF, in the browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from smbridge.domain.staff import Role
from tests.browser.scenes import open_shop, picking_payload
from tests.browser.signing import add_account, sign_in
from tests.browser.stand import Stand

HOMES = {
    Role.ADMIN: "/ui/ops/",
    Role.OPERATIONS: "/ui/ops/",
    Role.STORE_MANAGER: "/ui/store/",
    Role.STORE_OPERATOR: "/ui/store/",
    Role.PICKER: "/ui/picker",
}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_signs_in_and_lands_on_its_own_home(
    stand: Stand, desktop: Page, role: Role
) -> None:
    shop = open_shop(stand, "201", "Магазин на Мира", ("Ольга",))
    store_role = role in (Role.PICKER, Role.STORE_OPERATOR, Role.STORE_MANAGER)
    add_account(
        stand,
        f"user-{role.value}",
        role,
        shop if store_role else None,
        "Ольга" if role is Role.PICKER else None,
    )
    sign_in(stand, desktop, f"user-{role.value}", "неверный-пароль")
    expect(desktop.get_by_test_id("login-error")).to_be_visible()
    sign_in(stand, desktop, f"user-{role.value}")
    expect(desktop).to_have_url(stand.url + HOMES[role])
    expect(desktop.get_by_test_id("login-form")).to_have_count(0)


def test_a_store_operator_is_refused_another_stores_order(stand: Stand, desktop: Page) -> None:
    mine = open_shop(stand, "201", "Магазин на Мира", ("Ольга",))
    other = open_shop(stand, "202", "Магазин на Ленина", ("Пётр",))
    number = stand.receive(picking_payload("H7200000001", other.sm_id))
    add_account(stand, "operator", Role.STORE_OPERATOR, mine)
    sign_in(stand, desktop, "operator")
    answer = desktop.goto(stand.ui(f"store/orders/{number}"))
    assert answer is not None
    assert answer.status == 404
    expect(desktop.locator("body")).not_to_contain_text("Анна Смирнова")  # nor its customer
    own = stand.receive(picking_payload("H7200000002", mine.sm_id))
    answer = desktop.goto(stand.ui(f"store/orders/{own}"))
    assert answer is not None
    assert answer.status == 200


def test_a_form_without_its_csrf_token_is_refused(stand: Stand, desktop: Page) -> None:
    shop = open_shop(stand, "201", "Магазин на Мира", ("Ольга", "Пётр"))
    add_account(stand, "operator", Role.STORE_OPERATOR, shop)
    sign_in(stand, desktop, "operator")
    desktop.goto(stand.ui("store/"))
    # the sign-out form, as a forged page would post it: the session cookie goes along,
    # the token does not
    refused = desktop.evaluate(
        """async () => {
            const r = await fetch('/ui/logout', {method: 'POST', body: new URLSearchParams(),
                                               credentials: 'same-origin'});
            return [r.status, await r.text()];
        }"""
    )
    assert refused[0] == 403
    assert "CSRF" in refused[1]
    desktop.goto(stand.ui("store/"))  # still signed in: nothing was done
    expect(desktop).to_have_url(stand.ui("store/"))
