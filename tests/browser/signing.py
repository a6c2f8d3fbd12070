"""Staff accounts and signing in through the UI's forms, as a person types."""

from __future__ import annotations

from playwright.sync_api import Page

from smbridge.domain.staff import Role
from tests.browser.scenes import Shop
from tests.browser.stand import Stand
from tests.support.clock import FROZEN_NOW
from tests.support.ui import PASSWORD, add_staff

PIN = "4321"


def add_account(
    stand: Stand,
    login: str,
    role: Role,
    shop: Shop | None = None,
    picker: str | None = None,
    *,
    password: str = PASSWORD,
) -> int:
    return add_staff(
        stand.db,
        login=login,
        role=role,
        now=FROZEN_NOW,
        store_id=shop.id if shop is not None else None,
        picker_id=shop.pickers[picker] if shop is not None and picker is not None else None,
        password=password,
        name=picker or login,
    )


def sign_in(stand: Stand, page: Page, login: str, password: str = PASSWORD) -> None:
    """Through the staff sign-in form, as a person types."""
    page.goto(stand.ui("login"))
    page.get_by_test_id("login").fill(login)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("sign-in").click()
    page.wait_for_load_state()


def sign_in_picker(stand: Stand, page: Page, shop: Shop, picker: str, pin: str = PIN) -> str:
    """A picker's account (made here) signed in with its badge code and PIN; returns the
    badge code."""
    badge = f"badge-{shop.pickers[picker]}"
    add_account(stand, badge, Role.PICKER, shop, picker, password=pin)
    sign_in(stand, page, badge, pin)
    return badge
