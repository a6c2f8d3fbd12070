"""A live stand for the browser: the assembly app (with /ui) served on a loopback port
against a test database, the SM emulator live beside it (so notifications are really
delivered and checked), and Debian's Chromium driven by Playwright. Used by the fixtures
of tests/browser/conftest.py and by tests/browser/screens.py (the README's screenshots).

Playwright cannot download a browser here: it drives /usr/bin/chromium (Debian's package,
which scripts/ensure-debian-packages installs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Playwright
from starlette.testclient import TestClient

from smbridge.emulators.sm.app import MarketConfig, MarketOrder, Marketplace, create_app
from smbridge.entrypoints.assembly_app import create_assembly_app
from smbridge.entrypoints.hook_app import create_hook_app
from smbridge.kernel.database.unit_of_work import Database
from smbridge.notifications.dispatcher import Dispatcher
from smbridge.notifications.factory import dispatch_policy, sm_client
from smbridge.settings import Settings
from tests.conftest import make_settings
from tests.factories import HEADERS, envelope
from tests.support.clock import FROZEN_NOW
from tests.support.servers import serving

CHROMIUM = "/usr/bin/chromium"
SM_TOKEN = "sm-token"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1366, "height": 900}
#: How long a Playwright wait may take before the test fails (the box is shared and slow).
WAIT_MS = 15_000
HOOK = "/sbermarket/orders/hook/"


class LiveClock:
    """Starts at the frozen instant and runs at the real pace, so a page's times move as a
    person would see them, yet never depend on the calendar; tests may move it on."""

    def __init__(self, start: datetime = FROZEN_NOW) -> None:
        self._start = start
        self._started = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=time.monotonic() - self._started)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._start += delta
        return self()


@dataclass
class Stand:
    """The live app and what a test needs to drive it."""

    url: str  # the assembly app, e.g. http://127.0.0.1:PORT
    settings: Settings
    db: Database
    clock: LiveClock
    market: Marketplace
    _hook: TestClient | None = field(default=None, repr=False)

    def ui(self, path: str = "") -> str:
        return f"{self.url}/ui/{path.lstrip('/')}"

    def receive(self, payload: dict[str, Any], weighed: set[str] | None = None) -> str:
        """SM creates an order: the emulator learns it (to check our notifications against
        it; ``weighed``: the SKUs it wants a weight of, by default the order's weighed
        lines) and its order.created webhook goes through the hook; returns our number."""
        positions = payload["positions"]
        self.market.orders[payload["originalOrderId"]] = MarketOrder(
            payload["originalOrderId"],
            payload,
            weighed or {line["id"] for line in positions if "weight" in line},
            {line["id"]: Decimal(line["discountPrice"]) for line in positions},
        )
        if self._hook is None:
            self._hook = TestClient(create_hook_app(self.settings, self.db, clock=self.clock))
            self._hook.__enter__()
        answer = self._hook.post(HOOK, content=envelope("order.created", payload), headers=HEADERS)
        assert answer.status_code == 200, answer.text
        number: str = answer.json()["number"]
        return number

    def received_by_sm(self, sm_order_id: str) -> list[str]:
        return [kind for kind, _ in self.market.orders[sm_order_id].received]

    def wait_for_sm(self, sm_order_id: str, kind: str, seconds: float = 15) -> list[str]:
        """What SM accepted for the order, once it has accepted ``kind`` (or the deadline)."""
        deadline = time.monotonic() + seconds
        while kind not in self.received_by_sm(sm_order_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received_by_sm(sm_order_id)

    def dispatch(self) -> None:
        """Send what waits in the outbox now, as the scheduler's dispatcher would."""
        client = sm_client(self.settings)
        assert client is not None  # the stand always has SM's address
        try:
            Dispatcher(self.db, client, dispatch_policy(self.settings), self.clock).run_once()
        finally:
            client.close()

    def dispatch_until(self, done: Callable[[], bool], seconds: float = 15) -> None:
        """Dispatch until ``done()``: a prompt send of the apps may hold an order's earlier
        notification for a moment, and the order's later ones wait behind it."""
        deadline = time.monotonic() + seconds
        while not done():
            assert time.monotonic() < deadline, "the outbox did not get there in time"
            self.dispatch()
            time.sleep(0.1)

    def close(self) -> None:
        if self._hook is not None:
            self._hook.__exit__(None, None, None)


@contextmanager
def live_stand(database_url: str, db: Database) -> Iterator[Stand]:
    """SM's emulator and the assembly app, each on a free loopback port."""
    market = Marketplace(
        MarketConfig(hook_urls=("http://127.0.0.1:9/",), hook_token="h", notify_token=SM_TOKEN)
    )
    with serving(create_app(market, generate=False)) as sm_url:
        live = make_settings(database_url, sm_base_url=sm_url, sm_token=SM_TOKEN)
        clock = LiveClock()
        with serving(create_assembly_app(live, db, clock=clock)) as url:
            stand = Stand(url, live, db, clock, market)
            try:
                yield stand
            finally:
                stand.close()


def launch(playwright: Playwright) -> Browser:
    # The UI's templates mark what tests look for with data-test="..." (get_by_test_id).
    playwright.selectors.set_test_id_attribute("data-test")
    # --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
    )


def new_context(browser: Browser, viewport: dict[str, int], **options: Any) -> BrowserContext:
    context = browser.new_context(
        viewport={"width": viewport["width"], "height": viewport["height"]},
        locale="ru-RU",
        timezone_id="Europe/Moscow",
        **options,
    )
    context.set_default_timeout(WAIT_MS)
    # The page's own clock starts at the frozen instant too (and runs on).
    context.clock.install(time=FROZEN_NOW)
    return context


def phone_context(browser: Browser) -> BrowserContext:
    """A picker's phone or data-collection terminal: 360x740, touch."""
    return new_context(browser, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)


def desktop_context(browser: Browser) -> BrowserContext:
    """A store workstation or an office desktop: 1366x900."""
    return new_context(browser, DESKTOP)
