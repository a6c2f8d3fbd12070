"""Simulated pickers: they work orders through the assembly API like a store would.

Each picker is a thread with its own shift. They take new orders, pick every line (a
shortage now and then, weighed goods a little off the ordered weight, a marking code per
marked item), sometimes replace a line by a similar product, and finish with bags.
"""

from __future__ import annotations

import queue
import random
import signal
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import structlog

from smbridge.emulators.sm.baskets import CATALOG, CATALOG_BY_SKU, Product

log = structlog.get_logger(__name__)


class ApiRefused(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code


@dataclass(frozen=True)
class PickerHabits:
    shortage: float = 0.08  # a line short by one (or missing)
    replacement: float = 0.05  # a line replaced by a similar product
    seconds_per_line: float = 0.0  # how long picking a line takes


@dataclass
class PickerStats:
    finished: int = 0
    lost_to_cancellation: int = 0
    replacements: int = 0
    shortages: int = 0
    handed_out: int = 0  # pickup orders handed to their customers at the counter
    wrong_codes: int = 0  # customers turned away: a wrong code, or the handover locked
    errors: dict[str, int] = field(default_factory=dict)


_RETRIES = 40  # about a minute of a store's network or database trouble
_RETRYABLE = frozenset({502, 503, 504})


class AssemblyApi:
    """A thin client of the assembly API; every call carries a fresh requestId."""

    def __init__(self, base_url: str, token: str, verify: ssl.SSLContext | bool = True) -> None:
        self._http = httpx.Client(
            base_url=base_url, timeout=30, headers={"Client-Token": token}, verify=verify
        )

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, **data: Any) -> dict[str, Any]:
        """One action; "try again later" (503, a lost connection) is retried with the same
        requestId, as a picker's app does, so an action that did commit is not done twice."""
        body = {"requestId": uuid.uuid4().hex, "requestData": data}
        for attempt in range(_RETRIES):
            try:
                response = self._http.post(f"/sbermarket/orders/api/{method}", json=body)
            except httpx.TransportError:
                if attempt == _RETRIES - 1:
                    raise
                time.sleep(min(2.0, 0.05 * 2**attempt))
                continue
            if response.status_code not in _RETRYABLE or attempt == _RETRIES - 1:
                break
            time.sleep(min(float(response.headers.get("retry-after", 1)), 0.05 * 2**attempt))
        answer = response.json()
        if response.status_code != 200:
            raise ApiRefused(response.status_code, answer["error"]["code"])
        result: dict[str, Any] = answer["result"]
        return result


class PickerTeam:
    """Pickers of one store sharing a queue of new orders."""

    def __init__(
        self,
        api_urls: list[str],
        token: str,
        picker_ids: list[int],
        habits: PickerHabits | None = None,
        seed: int | None = None,
        *,
        verify: ssl.SSLContext | bool = True,  # nginx's certificate, on a stand
        counter: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        self._api_urls, self._token, self._verify = api_urls, token, verify
        # The pickup customers now at the counter (the SM emulator plays them), each
        # ``{"number", "code"}``; None: the store has no counter to serve.
        self._counter = counter
        self._picker_ids = picker_ids
        self._habits = habits or PickerHabits()
        self._rng = random.Random(seed)
        self._queue: queue.Queue[str] = queue.Queue()
        self._seen: set[str] = set()
        self.stop = threading.Event()
        self.stats = PickerStats()
        self._lock = threading.Lock()

    def run(self, poll_seconds: float = 0.2) -> None:
        """Open shifts, work until ``stop`` is set, close shifts."""
        board = AssemblyApi(self._api_urls[0], self._token, self._verify)
        threads = [  # each picker talks to its own worker of the pool
            threading.Thread(
                target=self._work,
                daemon=True,
                name=f"picker-{picker_id}",
                args=(picker_id, self._api_urls[index % len(self._api_urls)]),
            )
            for index, picker_id in enumerate(self._picker_ids)
        ]
        self._open_shifts(board)
        for thread in threads:
            thread.start()
        while not self.stop.wait(poll_seconds):
            self.tick(board)
        for thread in threads:
            thread.join(timeout=30)
        for picker_id in self._picker_ids:
            _quietly(board.call, "closeShift", pickerId=picker_id)
        board.close()

    def _open_shifts(self, board: AssemblyApi) -> None:
        """Open every picker's shift, waiting for the API to come up if it must."""
        waiting = list(self._picker_ids)
        while waiting and not self.stop.is_set():
            try:
                board.call("openShift", pickerId=waiting[0])
            except ApiRefused as refused:
                if refused.code != "shift_already_open":
                    raise
            except httpx.HTTPError:
                self.stop.wait(0.5)  # the assembly workers are still starting
                continue
            waiting.pop(0)

    def tick(self, board: AssemblyApi) -> None:
        """One look around the store: the board when the pickers are about to run out of
        work, then the counter. Why not the board every time: it lists every active order,
        so with thousands waiting each look costs the API and this process a
        thousand-order answer, five times a second, for no order it did not already have;
        that CPU came out of picking and the backlog fed itself (the 20,000-order day)."""
        if self._queue.qsize() < len(self._picker_ids):
            self._look_at_board(board)
        self._serve_counter(board)

    def _look_at_board(self, board: AssemblyApi) -> None:
        try:
            orders = board.call("getActiveOrders")["orders"]
        except (httpx.HTTPError, ApiRefused) as exc:
            log.warning("pickers.board_unavailable", error=str(exc))
            return
        for order in orders:
            if order["status"] == "new" and order["number"] not in self._seen:
                self._seen.add(order["number"])
                self._queue.put(order["number"])

    def _serve_counter(self, board: AssemblyApi) -> None:
        """Hand each waiting customer their order by the code they show."""
        if self._counter is None:
            return
        try:
            visits = self._counter()
        except httpx.HTTPError as exc:
            log.warning("pickers.counter_unavailable", error=str(exc))
            return
        for visit in visits:
            try:
                board.call("handOutOrder", orderNumber=visit["number"], code=visit["code"])
            except ApiRefused as refused:
                if refused.code in ("wrong_handout_code", "handover_locked"):
                    with self._lock:
                        self.stats.wrong_codes += 1
                else:
                    self._count_error(refused)
                continue
            with self._lock:
                self.stats.handed_out += 1

    def _work(self, picker_id: int, api_url: str) -> None:
        api = AssemblyApi(api_url, self._token, self._verify)
        while not self.stop.is_set():
            try:
                number = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._assemble(api, picker_id, number)
            except ApiRefused as refused:
                self._count_error(refused)
            except httpx.HTTPError as exc:
                self._count_error(ApiRefused(0, type(exc).__name__))
        api.close()

    def _assemble(self, api: AssemblyApi, picker_id: int, number: str) -> None:
        card = api.call("takeOrder", orderNumber=number, pickerId=picker_id)
        for _ in range(3):  # the customer may change the order while we pick
            for line in card["positions"]:
                if line["pickedQuantity"] is None and line["replacedBySku"] is None:
                    self._pick(api, number, line)
            try:
                bags = 1 + len(card["positions"]) // 5
                api.call("finishAssembly", orderNumber=number, bags=bags)
            except ApiRefused as refused:
                if refused.code != "not_all_picked":
                    raise
                card = api.call("getOrder", orderNumber=number)
                continue
            with self._lock:
                self.stats.finished += 1
            return

    def _pick(self, api: AssemblyApi, number: str, line: dict[str, Any]) -> None:
        self.stop.wait(self._habits.seconds_per_line)
        product = CATALOG_BY_SKU.get(line["sku"])
        if (
            line["source"] == "sm"
            and product is not None
            and self._rng.random() < self._habits.replacement
        ):
            substitute = self._similar(product)
            if substitute is not None:
                api.call(
                    "replacePosition",
                    orderNumber=number,
                    lineNo=line["lineNo"],
                    substitute=self._substitute(substitute, line),
                )
                with self._lock:
                    self.stats.replacements += 1
                return
        quantity = Decimal(line["quantity"])
        if quantity > 0 and self._rng.random() < self._habits.shortage:
            quantity -= 1
            with self._lock:
                self.stats.shortages += 1
        data: dict[str, Any] = {
            "orderNumber": number,
            "lineNo": line["lineNo"],
            "quantity": str(quantity),
        }
        if line["weightGrams"] is not None:
            data["weightGrams"] = str(self._weigh(Decimal(line["weightGrams"]), quantity))
        if product is not None and product.marked:
            data["markingCodes"] = [self._marking_code() for _ in range(int(quantity))]
        api.call("recordPick", **data)

    def _similar(self, product: Product) -> Product | None:
        options = [
            other
            for other in CATALOG
            if other.weighed == product.weighed and other.sku != product.sku
        ]
        return self._rng.choice(options) if options else None

    def _substitute(self, product: Product, line: dict[str, Any]) -> dict[str, Any]:
        substitute: dict[str, Any] = {
            "sku": product.sku,
            "name": product.name,
            "quantity": line["quantity"],
            "price": str(product.price),
        }
        if product.weighed:
            substitute["weightGrams"] = str(
                self._weigh(Decimal(line["weightGrams"] or 500), Decimal(1))
            )
        if product.marked:
            count = int(Decimal(line["quantity"]))
            substitute["markingCodes"] = [self._marking_code() for _ in range(count)]
        return substitute

    def _weigh(self, ordered: Decimal, quantity: Decimal) -> Decimal:
        if quantity == 0:
            return Decimal(0)
        factor = Decimal(self._rng.randint(950, 1050)) / 1000
        return (ordered * factor).quantize(Decimal(1))

    def _marking_code(self) -> str:
        return "0104600" + "".join(self._rng.choices("0123456789", k=24))

    def _count_error(self, refused: ApiRefused) -> None:
        with self._lock:
            if refused.code in ("wrong_status", "taken_by_other"):
                self.stats.lost_to_cancellation += 1  # cancelled or taken meanwhile
            else:
                self.stats.errors[refused.code] = self.stats.errors.get(refused.code, 0) + 1
                log.warning("pickers.refused", status=refused.status, code=refused.code)


def _quietly(call: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    try:
        call(*args, **kwargs)
    except (ApiRefused, httpx.HTTPError) as exc:
        log.info("pickers.setup_skipped", error=str(exc))


def run_team_until_signalled(team: PickerTeam) -> PickerStats:
    """Run the team in this process until SIGTERM/SIGINT; returns what it did."""
    signal.signal(signal.SIGTERM, lambda *_: team.stop.set())
    signal.signal(signal.SIGINT, lambda *_: team.stop.set())
    team.run()
    return team.stats


def counter_of(
    url: str, verify: ssl.SSLContext | bool = True
) -> Callable[[], list[dict[str, Any]]]:
    """The SM emulator's counter of one store (``GET <sm>/counter/<storeID>``) as a team's
    ``counter``."""

    def visits() -> list[dict[str, Any]]:
        response = httpx.get(url, timeout=10, verify=verify)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()["visits"]
        return found

    return visits
