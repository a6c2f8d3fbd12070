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
import time
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
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
    seed: int | None = None


@dataclass
class MarketOrder:
    sm_id: str
    payload: dict[str, Any]
    weighed: set[str]
    prices: dict[str, Decimal]  # discounted price per piece or per kilogram
    received: list[tuple[str, float]] = field(default_factory=list)  # type, unix time
    number: str | None = None
    state: str = "open"  # open | ready | delivered | cancelled
    final: list[dict[str, Any]] = field(default_factory=list)


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


class Marketplace:
    def __init__(self, config: MarketConfig, http: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.http = http or httpx.AsyncClient(timeout=10, verify=trusting(config.ca_file))
        self.orders: dict[str, MarketOrder] = {}
        self.report = Report()
        self.rng = random.Random(config.seed)
        self._urls = itertools.cycle(config.hook_urls)
        self._tokens: dict[str, float] = {}
        self._outage: tuple[float, int] = (0.0, 503)
        self._tasks: set[asyncio.Task[None]] = set()

    # -- notifications from smbridge -------------------------------------------------------

    def notify(self, body: object, generation: str) -> tuple[int, dict[str, Any]]:
        until, status = self._outage
        if time.monotonic() < until:
            return status, {"error": "SM is unavailable (emulated outage)"}
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
        if kind in ORDERED_TYPES:
            rank = ORDERED_TYPES.index(kind)
            if any(ORDERED_TYPES.index(later) > rank for later in seen if later in ORDERED_TYPES):
                raise Refused(f"{kind} out of order after {seen[-1]}")
        order.received.append((kind, time.time()))
        self.report.notifications[kind] += 1
        self.report.generations[generation] += 1
        self.report.accepted += 1
        if kind == "order.canceled":
            order.state = "cancelled"
        elif kind == "order.ready_for_delivery":
            order.state, order.final = "ready", payload["order"]["positions"]
            self._spawn(self._courier(order))
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
        self._outage = (time.monotonic() + seconds, status)

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
            order.state = "cancelled"
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
        order.state = "delivered"

    def _amount(self, order: MarketOrder) -> Decimal:
        total = Decimal(0)
        for line in order.final:
            price = order.prices.get(line["id"]) or _catalog_price(line["id"])
            if "weight" in line:
                total += price * Decimal(line["weight"]) / 1000
            else:
                total += price * Decimal(str(line["quantity"]))
        return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

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


def _catalog_price(sku: str) -> Decimal:
    product = baskets.CATALOG_BY_SKU.get(sku)
    return product.price if product is not None else Decimal(0)


def create_app(market: Marketplace, generate: bool = True) -> Starlette:
    async def classic(request: Request) -> JSONResponse:
        if request.headers.get("client-token") != market.config.notify_token:
            return JSONResponse({"error": "bad Client-Token"}, status_code=401)
        if request.headers.get("api-version") != "3.0":
            return JSONResponse({"error": "Api-Version: 3.0 required"}, status_code=400)
        return _answer(*market.notify(await _json(request), "classic"))

    async def ofm(request: Request) -> JSONResponse:
        if not market.bearer_ok(request.headers.get("authorization", "")):
            return JSONResponse({"error": "invalid token"}, status_code=401)
        return _answer(*market.notify(await _json(request), "ofm"))

    async def token(request: Request) -> JSONResponse:
        form = await request.form()
        return _answer(*market.issue_token({name: str(value) for name, value in form.items()}))

    async def outage(request: Request) -> JSONResponse:
        body = await request.json()
        market.outage(float(body.get("seconds", 10)), int(body.get("status", 503)))
        return JSONResponse({"status": "ok"})

    async def report(_request: Request) -> JSONResponse:
        return JSONResponse(market.summary())

    async def one_order(request: Request) -> JSONResponse:
        view = market.order_view(request.path_params["sm_id"])
        return JSONResponse(view or {"error": "unknown order"}, status_code=200 if view else 404)

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
