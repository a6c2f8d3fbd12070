"""The SM emulator («тестовый контур»): behaves like SberMarket towards smbridge.

It generates orders and posts their webhooks (retrying until a 2xx, like SM), accepts our
notifications on both API generations and checks each strictly (rules.py), plays the
courier after ``order.ready_for_delivery``, and reports what it saw.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import secrets
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any

import httpx
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from smbridge.deploy.certificate import trusting
from smbridge.emulators.sm import baskets, rules
from smbridge.emulators.sm.rules import ORDERED_TYPES, Refused

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class MarketConfig:
    hook_urls: tuple[str, ...]
    hook_token: str
    notify_token: str
    stores: tuple[str, ...] = ("101",)
    ca_file: str | None = None  # trust this certificate (nginx's on a stand)
    client_id: str = "smbridge"
    client_secret: str = "secret"  # noqa: S105 - the test stand's default credential
    token_ttl: float = 3600.0
    rate: float = 1.0  # new orders per second
    orders: int = 0  # 0: no limit
    speed: float = 60.0  # real-world seconds pass this many times faster
    chaos: bool = False
    duplicate_share: float = 0.2
    cancel_share: float = 0.1
    change_share: float = 0.15
    pickup_share: float = 0.0  # orders the customer collects at the store (shipmentMethod)
    no_show_share: float = 0.1  # pickup customers who never come
    wrong_code_share: float = 0.2  # pickup customers who first show a wrong code
    seed: int | None = None


@dataclass(frozen=True)
class Fault:
    """One phase of SM's notification endpoint misbehaving (``/admin/outage``): down (a
    status), slow (answers after ``delay`` seconds) or throttling (429 with Retry-After)."""

    seconds: float
    status: int | None = 503  # None: SM's normal answer, only late
    delay: float = 0.0  # seconds before SM answers
    retry_after: int | None = None  # sent as Retry-After with the status

    @classmethod
    def parse(cls, body: object) -> Fault:
        """From the admin endpoint's JSON; ValueError/TypeError on a bad phase."""
        if not isinstance(body, dict):
            raise TypeError("a phase is an object")
        status = body.get("status", 503 if not body.get("delay") else None)
        retry_after = body.get("retry_after")
        fault = cls(
            seconds=float(body.get("seconds", 10)),
            status=None if status is None else int(status),
            delay=float(body.get("delay", 0)),
            retry_after=None if retry_after is None else int(retry_after),
        )
        if fault.seconds < 0 or fault.delay < 0 or (fault.status or 200) not in range(200, 600):
            raise ValueError("seconds and delay >= 0, status an HTTP status")
        return fault

    def answer(self) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """The answer instead of SM's own, or None: SM answers (after the delay)."""
        if self.status is None:
            return None
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        return self.status, {"error": "SM is unavailable (emulated outage)"}, headers

    @property
    def label(self) -> str:
        return "slow" if self.status is None else str(self.status)


# What a finished order keeps of its basket: one of each, shared by every such order.
_GONE: Mapping[str, Any] = MappingProxyType({})
_NONE_WEIGHED: AbstractSet[str] = frozenset()


@dataclass(slots=True)
class MarketOrder:
    sm_id: str
    payload: Mapping[str, Any]
    weighed: AbstractSet[str]
    prices: Mapping[str, Decimal]  # discounted price per piece or per kilogram
    received: list[tuple[str, float]] = field(default_factory=list)  # type, unix time
    number: str | None = None
    state: str = "open"  # open | ready | delivered | cancelled
    final: Sequence[dict[str, Any]] = ()
    pickup: bool = False
    code: str | None = None  # the handout code smbridge told SM (pickup_code_created)
    store: str = ""  # SM's storeID, where a pickup customer comes

    def __post_init__(self) -> None:
        # The customer collects it at the store: SM's order says so (SM-API.md §1).
        self.pickup = self.pickup or self.payload.get("shipmentMethod") == "pickup"
        self.store = str(self.payload.get("storeID"))

    def close(self, state: str) -> None:
        """Delivered or cancelled: SM keeps what it answers repeats with (number, state,
        the notifications it took, the code); the basket, its prices and the final contents
        go. Kept whole, they were 5.6 KB an order: a day of 20,000 grew the emulator by
        115 MB."""
        self.state = state
        self.payload, self.prices, self.weighed, self.final = _GONE, _GONE, _NONE_WEIGHED, ()


@dataclass(frozen=True)
class CounterVisit:
    """A pickup customer at the store's counter, showing a code (not always the right one)."""

    sm_id: str
    number: str | None
    code: str


@dataclass
class Report:
    generated: int = 0
    webhooks: Counter[str] = field(default_factory=Counter)
    webhook_retries: int = 0
    notifications: Counter[str] = field(default_factory=Counter)
    generations: Counter[str] = field(default_factory=Counter)
    accepted: int = 0
    already_processed: int = 0
    after_cancellation: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    faulted: Counter[str] = field(default_factory=Counter)  # answers under a fault, by kind


class Marketplace:
    def __init__(self, config: MarketConfig, http: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.http = http or httpx.AsyncClient(timeout=10, verify=trusting(config.ca_file))
        self.orders: dict[str, MarketOrder] = {}
        self.report = Report()
        self.rng = random.Random(config.seed)
        self._urls = itertools.cycle(config.hook_urls)
        self._tokens: dict[str, float] = {}
        self._faults: list[tuple[float, Fault]] = []  # (until, phase), in order
        self._counter: dict[str, list[CounterVisit]] = {}  # by SM storeID
        self._tasks: set[asyncio.Task[None]] = set()

    # -- notifications from smbridge -------------------------------------------------------

    def notify(self, body: object, generation: str) -> tuple[int, dict[str, Any]]:
        """SM's answer now, ignoring a fault's delay (the endpoint waits it out)."""
        status, answer, _ = self.answer(body, generation, self.fault_now())
        return status, answer

    def answer(
        self, body: object, generation: str, fault: Fault | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """The answer, with headers, under ``fault`` (the phase when the request came)."""
        if fault is not None:
            self.report.faulted[fault.label] += 1
            if (faulted := fault.answer()) is not None:
                return faulted
        status, answer = self._check(body, generation)
        return status, answer, {}

    def _check(self, body: object, generation: str) -> tuple[int, dict[str, Any]]:
        try:
            kind, payload = rules.parse(body)
            order = self.orders.get(payload["order_id"])
            if order is None:
                raise Refused(f"unknown order {payload['order_id']!r}")
            rules.check_fields(kind, payload, order.weighed)
            return self._apply(order, kind, payload, generation)
        except Refused as refused:
            order_id = (
                body.get("event", {}).get("payload", {}).get("order_id", "?")
                if (
                    isinstance(body, dict)
                    and isinstance(body.get("event"), dict)
                    and isinstance(body["event"].get("payload"), dict)
                )
                else "?"
            )
            self.report.rejected.append({"order": str(order_id), "reason": str(refused)})
            log.warning("sm_emulator.rejected", order=order_id, reason=str(refused))
            return 422, {"error": str(refused)}

    def _apply(
        self, order: MarketOrder, kind: str, payload: dict[str, Any], generation: str
    ) -> tuple[int, dict[str, Any]]:
        seen = [received for received, _ in order.received]
        if kind in seen:
            self.report.already_processed += 1
            return 202, {"status": "already processed"}
        if order.state == "cancelled":
            # Nothing left to do for SM; counted apart so the report shows such races.
            self.report.after_cancellation += 1
            return 202, {"status": "order is cancelled"}
        if order.state == "delivered":
            raise Refused(f"{kind} after delivery")
        rules.check_delivery_type(kind, order.pickup, seen)
        if kind == "order.ready_for_delivery" and payload.get("handoutCode", order.code) != (
            order.code
        ):
            raise Refused("handoutCode differs from the code of pickup_code_created")
        if kind in ORDERED_TYPES:
            rank = ORDERED_TYPES.index(kind)
            if any(ORDERED_TYPES.index(later) > rank for later in seen if later in ORDERED_TYPES):
                raise Refused(f"{kind} out of order after {seen[-1]}")
        order.received.append((sys.intern(kind), time.time()))  # one copy of each type
        self.report.notifications[kind] += 1
        self.report.generations[generation] += 1
        self.report.accepted += 1
        if kind == "order.canceled":
            order.close("cancelled")
        elif kind == "order.pickup_code_created":
            order.code = payload["code"]
        elif kind == "order.ready_for_delivery":
            order.state, order.final = "ready", payload["order"]["positions"]
            self._spawn(self._customer(order) if order.pickup else self._courier(order))
        elif kind == "order.delivered":
            order.close("delivered")  # the store handed the pickup order out
        return 200, {"status": "ok"}

    def issue_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if (form.get("client_id"), form.get("client_secret"), form.get("grant_type")) != (
            self.config.client_id,
            self.config.client_secret,
            "client_credentials",
        ):
            return 401, {"error": "invalid_client"}
        token = secrets.token_urlsafe(16)
        self._tokens[token] = time.monotonic() + self.config.token_ttl
        return 200, {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.config.token_ttl,
        }

    def bearer_ok(self, header: str) -> bool:
        token = header.removeprefix("Bearer ").strip()
        return self._tokens.get(token, 0.0) > time.monotonic()

    def outage(self, seconds: float, status: int) -> None:
        self.misbehave([Fault(seconds, status)])

    def misbehave(self, phases: list[Fault]) -> None:
        """From now on, each phase in turn; then SM answers normally again."""
        until = time.monotonic()
        schedule = []
        for phase in phases:
            until += phase.seconds
            schedule.append((until, phase))
        self._faults = schedule

    def fault_now(self) -> Fault | None:
        now = time.monotonic()
        return next((phase for until, phase in self._faults if now < until), None)

    # -- orders and webhooks to smbridge ---------------------------------------------------

    async def generate(self) -> None:
        for serial in itertools.count(1):
            if self.config.orders and serial > self.config.orders:
                return
            self._spawn(self._life_of_an_order(serial))
            await asyncio.sleep(1 / self.config.rate)

    async def _life_of_an_order(self, serial: int) -> None:
        sm_id = f"H{int(time.time()) % 10**6:06d}{serial:05d}"
        store = self.config.stores[serial % len(self.config.stores)]
        payload = baskets.order(sm_id, store, datetime.now(UTC), self.rng)
        if self.rng.random() < self.config.pickup_share:
            payload["shipmentMethod"] = "pickup"
        order = MarketOrder(
            sm_id,
            payload,
            {line["id"] for line in payload["positions"] if "weight" in line},
            {line["id"]: Decimal(line["discountPrice"]) for line in payload["positions"]},
        )
        self.orders[sm_id] = order
        self.report.generated += 1
        answer = await self.webhook("order.created", payload)
        order.number = answer.get("number")
        if self.config.chaos:
            await self._chaos(order)

    async def _chaos(self, order: MarketOrder) -> None:
        roll = self.rng.random()
        await self._pause(self.rng.uniform(30, 240))  # a customer has second thoughts
        if order.state != "open":
            return
        if roll < self.config.cancel_share:
            await self.webhook(
                "order.canceled",
                {"originalOrderId": order.sm_id, "cancellation": {"slug": "customer_request"}},
            )
            order.close("cancelled")
        elif roll < self.config.cancel_share + self.config.change_share:
            changed = dict(order.payload)
            changed["positions"] = [dict(line) for line in order.payload["positions"]]
            changed["positions"][0]["quantity"] = changed["positions"][0]["quantity"] + 1
            await self.webhook("order.updated", changed)

    async def _courier(self, order: MarketOrder) -> None:
        paid = self._amount(order)
        steps = [
            (
                "order.paid",
                {
                    "paymentState": "paid",
                    "total": {"totalPrice": str(paid), "discountTotalPrice": str(paid)},
                },
            ),
            ("courier.assigned", {}),
            ("courier.arrived", {}),
            ("order.received", {}),
            ("order.delivered", {}),
        ]
        if self.config.chaos and self.rng.random() < 0.3:
            steps[3], steps[4] = steps[4], steps[3]  # SM reports delivery first: out of order
        for kind, extra in steps:
            await self._pause(self.rng.uniform(60, 300))
            await self.webhook(kind, {"originalOrderId": order.sm_id, **extra})
        order.close("delivered")

    async def _customer(self, order: MarketOrder) -> None:
        """A pickup order's customer: SM charges them, then they come to the counter with
        the code, sometimes showing a wrong one first, sometimes never."""
        paid = self._amount(order)
        total = {"totalPrice": str(paid), "discountTotalPrice": str(paid)}
        await self.webhook(
            "order.paid", {"originalOrderId": order.sm_id, "paymentState": "paid", "total": total}
        )
        if self.rng.random() < self.config.no_show_share or order.code is None:
            return  # stays ready: smbridge's uncollected rule and storage period take over
        await self._pause(self.rng.uniform(300, 1800))
        if self.rng.random() < self.config.wrong_code_share:
            self._visit(order, _misremembered(order.code))
            await self._pause(self.rng.uniform(30, 120))
        self._visit(order, order.code)

    def _visit(self, order: MarketOrder, code: str) -> None:
        visit = CounterVisit(order.sm_id, order.number, code)
        self._counter.setdefault(order.store, []).append(visit)

    def counter(self, store: str) -> list[CounterVisit]:
        """The customers now at a store's counter (each is served once: taken off the list)."""
        return self._counter.pop(store, [])

    def _amount(self, order: MarketOrder) -> Decimal:
        """What the customer paid: each line of the receipt in kopecks, then added up
        (rounding only the sum made a kopeck's difference, a false alert, now and then).

        A substitute is charged at the catalog price, even when the order has its SKU on
        a line of its own at SM's discount: the discount was that line's. (Pricing by SKU
        alone charged such a substitute 10 % less than the store's document, and
        ``paid_differs`` fired for 0.8 % of a simulated day's orders.)"""
        total = Decimal(0)
        for line, substitute in zip(order.final, _substitutes(order.final), strict=True):
            sm_price = None if substitute else order.prices.get(line["id"])
            price = sm_price or _catalog_price(line["id"])
            if "weight" in line:
                amount = price * Decimal(line["weight"]) / 1000
            else:
                amount = price * Decimal(str(line["quantity"]))
            total += amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return total

    async def webhook(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Post until a 2xx, like SM; with chaos, sometimes post it twice."""
        body = {"event_type": kind, "payload": payload, "timestamp": datetime.now(UTC).isoformat()}
        answer = await self._post_until_accepted(body)
        self.report.webhooks[kind] += 1
        if self.config.chaos and self.rng.random() < self.config.duplicate_share:
            self._spawn(self._post_again(body))
        return answer

    async def _post_again(self, body: dict[str, Any]) -> None:
        await self._pause(self.rng.uniform(0, 30))
        await self._post_until_accepted(body)
        self.report.webhooks["duplicate"] += 1

    async def _post_until_accepted(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Client-Token": self.config.hook_token}
        for attempt in range(60):
            try:
                response = await self.http.post(next(self._urls), json=body, headers=headers)
                if response.is_success:
                    answer: dict[str, Any] = response.json()
                    return answer
            except httpx.HTTPError:
                pass
            self.report.webhook_retries += 1
            await asyncio.sleep(min(5.0, 0.05 * 2**attempt) * self.rng.uniform(0.5, 1))
        log.error("sm_emulator.webhook_gave_up", event_type=body["event_type"])
        return {}

    async def _pause(self, real_world_seconds: float) -> None:
        await asyncio.sleep(real_world_seconds / self.config.speed)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- what it saw ------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        states = Counter(order.state for order in self.orders.values())
        report = self.report
        return {
            "orders": {"generated": report.generated, **dict(states)},
            "webhooks": dict(report.webhooks),
            "webhookRetries": report.webhook_retries,
            "notifications": dict(report.notifications),
            "generations": dict(report.generations),
            "accepted": report.accepted,
            "alreadyProcessed": report.already_processed,
            "afterCancellation": report.after_cancellation,
            "rejected": len(report.rejected),
            "rejections": report.rejected[:100],
            "faultAnswers": dict(report.faulted),
        }

    def order_view(self, sm_id: str) -> dict[str, Any] | None:
        order = self.orders.get(sm_id)
        if order is None:
            return None
        return {
            "smOrderId": sm_id,
            "number": order.number,
            "state": order.state,
            "notifications": [{"type": kind, "receivedAt": at} for kind, at in order.received],
        }


def _substitutes(final: Sequence[dict[str, Any]]) -> list[bool]:
    """Which positions of the final contents are substitutes: per ``replacedByID``, the
    last position of that SKU (a substitute follows the lines of the order)."""
    owed = Counter(line["replacedByID"] for line in final if line.get("replacedByID"))
    marks = []
    for line in reversed(final):
        marks.append(owed[line["id"]] > 0)
        owed[line["id"]] -= marks[-1]  # only a substitute pays its replacedByID off
    return marks[::-1]


def _misremembered(code: str) -> str:
    """The code with its last digit off by one: what a customer misreads."""
    return code[:-1] + str((int(code[-1]) + 1) % 10) if code[-1:].isdigit() else code + "0"


def _catalog_price(sku: str) -> Decimal:
    product = baskets.CATALOG_BY_SKU.get(sku)
    return product.price if product is not None else Decimal(0)


def create_app(market: Marketplace, generate: bool = True) -> Starlette:
    async def notified(request: Request, generation: str) -> JSONResponse:
        fault = market.fault_now()  # the phase the request came in decides its answer
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        status, body, headers = market.answer(await _json(request), generation, fault)
        return JSONResponse(body, status_code=status, headers=headers)

    async def classic(request: Request) -> JSONResponse:
        if request.headers.get("client-token") != market.config.notify_token:
            return JSONResponse({"error": "bad Client-Token"}, status_code=401)
        if request.headers.get("api-version") != "3.0":
            return JSONResponse({"error": "Api-Version: 3.0 required"}, status_code=400)
        return await notified(request, "classic")

    async def ofm(request: Request) -> JSONResponse:
        if not market.bearer_ok(request.headers.get("authorization", "")):
            return JSONResponse({"error": "invalid token"}, status_code=401)
        return await notified(request, "ofm")

    async def token(request: Request) -> JSONResponse:
        form = await request.form()
        return _answer(*market.issue_token({name: str(value) for name, value in form.items()}))

    async def outage(request: Request) -> JSONResponse:
        """One phase ``{"seconds", "status", "delay", "retry_after"}``, or several in turn
        as ``{"phases": [...]}``; ``delay`` without ``status``: slow, normal answers."""
        body = await _json(request)
        try:
            listed = body.get("phases", [body]) if isinstance(body, dict) else None
            if not isinstance(listed, list):
                raise TypeError("phases is a list")
            phases = [Fault.parse(phase) for phase in listed]
        except (TypeError, ValueError) as bad:
            return JSONResponse({"error": f"bad outage: {bad}"}, status_code=400)
        market.misbehave(phases)
        return JSONResponse({"status": "ok", "phases": len(phases)})

    async def report(_request: Request) -> JSONResponse:
        return JSONResponse(market.summary())

    async def one_order(request: Request) -> JSONResponse:
        view = market.order_view(request.path_params["sm_id"])
        return JSONResponse(view or {"error": "unknown order"}, status_code=200 if view else 404)

    async def counter(request: Request) -> JSONResponse:
        visits = market.counter(request.path_params["store"])
        return JSONResponse(
            {"visits": [{"smOrderId": v.sm_id, "number": v.number, "code": v.code} for v in visits]}
        )

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "service": "sm-emulator"})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        generator = asyncio.create_task(market.generate()) if generate else None
        yield
        if generator is not None:
            generator.cancel()
        log.info("sm_emulator.report", **market.summary())
        await market.http.aclose()

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/v1/notifications", classic, methods=["POST"]),
            Route("/v3/notifications", classic, methods=["POST"]),
            Route("/auth/token", token, methods=["POST"]),
            Route("/ofm/api/v1/notifications", ofm, methods=["POST"]),
            Route("/admin/outage", outage, methods=["POST"]),
            Route("/report", report),
            Route("/report/orders/{sm_id}", one_order),
            Route("/counter/{store}", counter),
            Route("/healthz", health),
        ],
    )


async def _json(request: Request) -> object:
    try:
        return await request.json()
    except ValueError:
        return None


def _answer(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status)
