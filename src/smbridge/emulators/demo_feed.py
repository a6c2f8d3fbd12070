"""A simple stand-in for SM in ``smbridge run --demo``: posts generated orders to the hook."""

from __future__ import annotations

import itertools
import random
import threading
from datetime import UTC, datetime

import httpx
import structlog

from smbridge.emulators import baskets

log = structlog.get_logger(__name__)

_ATTEMPTS = 5


class DemoFeed(threading.Thread):
    """Posts a new order every ``interval`` seconds; sometimes the customer cancels one."""

    def __init__(self, urls: list[str], token: str, store_id: str, interval: float) -> None:
        super().__init__(name="demo-feed", daemon=True)
        self._urls = itertools.cycle(urls)
        self._headers = {"Client-Token": token}
        self._store_id = store_id
        self._interval = interval
        self._stop_event = threading.Event()
        self._rng = random.Random()
        self.sent = 0
        self.failed = 0

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            for n in itertools.count(1):
                if self._stop_event.wait(self._interval):
                    return
                sm_order_id = f"H{int(datetime.now(UTC).timestamp())}{n:04d}"
                payload = baskets.order(sm_order_id, self._store_id, datetime.now(UTC), self._rng)
                self._post(client, "order.created", payload)
                if self._rng.random() < 0.1:
                    self._post(
                        client,
                        "order.canceled",
                        {
                            "originalOrderId": sm_order_id,
                            "cancellation": {"slug": "customer_request"},
                        },
                    )

    def _post(self, client: httpx.Client, event_type: str, payload: dict[str, object]) -> None:
        """Like SM: retry until a 2xx (a few times here), on the next worker each time."""
        body = {"event_type": event_type, "payload": payload}
        for attempt in range(_ATTEMPTS):
            try:
                client.post(next(self._urls), headers=self._headers, json=body).raise_for_status()
            except httpx.HTTPError as exc:
                log.warning("demo_feed.retry", event_type=event_type, error=type(exc).__name__)
                if self._stop_event.wait(0.5 * 2**attempt):
                    return
            else:
                self.sent += 1
                return
        self.failed += 1
