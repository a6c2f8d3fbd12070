"""Fixtures of the browser tests (the stand itself: tests/browser/stand.py). Every test in
this directory is marked ``browser`` (left out of the moved-clock runs: see
scripts/test-moved-clocks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from smbridge.kernel.database.unit_of_work import Database
from tests.browser import stand as stands
from tests.browser.stand import Stand

_HERE = Path(__file__).parent

# An expectation waits for the page up to this long: a bound on a hung page, not a speed
# check (Playwright's 5 s default failed correct tests on the busy 2-core box).
expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def stand(database_url: str, db: Database) -> Iterator[Stand]:
    """The live app on the test database of this run's kind (tests/conftest.py)."""
    with stands.live_stand(database_url, db) as live:
        yield live


# Module scope, not session: Playwright's sync API keeps its event loop in the main thread
# while it runs, and tests after the browser tests that run asyncio themselves (the worker
# pool's load) must not find it there.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = stands.launch(playwright)
    yield browser
    browser.close()


@pytest.fixture
def phone_context(browser: Browser) -> Iterator[BrowserContext]:
    context = stands.phone_context(browser)
    yield context
    context.close()


@pytest.fixture
def phone(phone_context: BrowserContext) -> Page:
    """A picker's phone: 360x740."""
    return phone_context.new_page()


@pytest.fixture
def desktop_context(browser: Browser) -> Iterator[BrowserContext]:
    context = stands.desktop_context(browser)
    yield context
    context.close()


@pytest.fixture
def desktop(desktop_context: BrowserContext) -> Page:
    """A store workstation or an office desktop: 1366x900."""
    return desktop_context.new_page()
