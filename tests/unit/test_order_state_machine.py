"""Random days of a few orders: SM's webhooks, the pickers' calls and the sales job, mixed.

A hypothesis state machine sends SM's events as the hook takes them (any order, repeated,
before their order exists), makes the picking app's calls through the assembly API's use
cases (refused ones included), and runs the scheduler's sales-document job, all on the
in-memory fakes and a frozen clock that only the steps move. After every step it checks
what must hold whatever happened:

- no order's status goes backwards (the domain's transitions, status.py);
- no webhook we sent was journaled as failed (all of them are valid SM events);
- the notifications queued for SM follow SM's order per order (SM-API.md §2) and each
  ready_for_delivery carries final contents SM accepts;
- every sales document adds up (Decimal) to the order's final positions, and there is one
  per delivered order, never two, however often the job runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from smbridge.assembly.errors import AssemblyRefused
from smbridge.assembly.methods import METHODS
from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.assembly.service import AssemblyPolicy, Call, execute, token_hash
from smbridge.domain.notification import DeliveryState
from smbridge.domain.order import Order
from smbridge.domain.picker import Picker
from smbridge.domain.status import FINAL, OrderStatus, allowed_targets
from smbridge.domain.webhook import JournalStatus
from smbridge.emulators.sm import rules as sm_rules
from smbridge.intake.acceptance import settle_waiting
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.sales.jobs import sales_documents_job
from smbridge.sales.settings import SalesSettings
from smbridge.scheduler.runner import JobContext
from tests.factories import TOKEN, add_store, envelope, order_payload, position
from tests.support.clock import FrozenClock
from tests.support.fakes import FakeDatabase

pytestmark = pytest.mark.fuzz

SM_ORDERS = ("H0000000001", "H0000000002", "H0000000003")
MAPPED, UNMAPPED = "101", "999"  # SM's store ids: ours, and one not mapped (orders wait)
KOPECK = Decimal("0.01")

#: The lines SM's orders are made of: pieces (with and without a discount) and weighed goods.
LINES: tuple[dict[str, Any], ...] = (
    position("100500", quantity=2, originalQuantity=2, price="89.90", discountPrice="79.90"),
    position("100501", quantity=1, originalQuantity=1, price="45.00", discountPrice=None),
    position(
        "200300",
        name="Бананы весовые",
        quantity=1,
        originalQuantity=1,
        price="119.00",
        discountPrice="119.00",
        weight="1250",
    ),
    position(
        "200301",
        name="Сыр весовой",
        quantity=1,
        originalQuantity=1,
        price="899.00",
        discountPrice="799.00",
        weight="350",
    ),
)
#: Now and then an order without lines (we cancel it at once); mostly one to three lines.
line_lists = st.tuples(
    st.integers(min_value=0, max_value=7), st.lists(st.sampled_from(LINES), min_size=1, max_size=3)
).map(lambda drawn: drawn[1] if drawn[0] else [])
quantities = st.sampled_from(["0", "1", "2", "3", "0.5"])
weights = st.sampled_from([None, "0", "350", "1250.5"])
substitutes = st.fixed_dictionaries(
    {
        "sku": st.sampled_from(["300100", "300200"]),
        "name": st.just("Замена"),
        "quantity": st.sampled_from(["0", "1", "2"]),
        "price": st.sampled_from(["99.00", "0.99"]),
    },
    optional={"weightGrams": st.sampled_from(["500", "0"]), "weighed": st.booleans()},
)

#: SM's order of notifications (SM-API.md §2); order.canceled may close any prefix of it.
SM_ORDER = ("order.accepted", "order.in_work", "order.assembled", "order.ready_for_delivery")
CANCELED = "order.canceled"


def reachable(status: OrderStatus) -> set[OrderStatus]:
    """Every status the domain's transitions lead to from ``status``, itself included."""
    seen, todo = {status}, [status]
    while todo:
        for target in allowed_targets(todo.pop()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def amount(price: Decimal, quantity: Decimal, grams: Decimal | None) -> Decimal:
    """What a line costs, worked out here independently of domain/sales.py."""
    raw = price * grams / 1000 if grams is not None else price * quantity
    return raw.quantize(KOPECK, rounding=ROUND_HALF_UP)


def expected_bill(order: Order) -> list[tuple[str, Decimal, Decimal]]:
    """(sku, amount, discount) of each line that left the store, in the order's line order."""
    bill = []
    for pos in order.positions:
        quantity = pos.pick.quantity
        if not quantity:
            continue
        price = pos.line.price if pos.line.price is not None else Decimal(0)
        discounted = pos.line.discount_price if pos.line.discount_price is not None else price
        grams = pos.pick.weight_grams if pos.is_weighed else None
        paid = amount(discounted, quantity, grams)
        bill.append((pos.line.sku, paid, amount(price, quantity, grams) - paid))
    return bill


class OrderDay(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.db = FakeDatabase()
        self.clock = FrozenClock()
        self.sent: list[bytes] = []  # every webhook body sent, for redeliveries
        self.answers: list[tuple[Call, dict[str, Any]]] = []  # keyed calls and their answers
        self.events = 0
        self.seen: dict[str, OrderStatus] = {}

    @initialize()
    def open_the_store(self) -> None:
        store = add_store(self.db, MAPPED)
        assert store.id is not None
        with self.db.unit_of_work() as uow:
            pickers = uow.repo(PickerRepository)
            for name in ("Анна", "Борис"):
                pickers.add(Picker(store_id=store.id, name=name))
            uow.repo(ApiTokenRepository).add(store.id, token_hash(TOKEN), "test", self.clock())
            uow.commit()
        for picker_id in (1, 2):
            self.call("openShift", pickerId=picker_id)

    # --- the means ---------------------------------------------------------------------------

    def webhook(self, event_type: str, payload: dict[str, Any]) -> None:
        self.events += 1  # SM's timestamp: a new event, never a redelivery of an earlier one
        body = envelope(event_type, payload, timestamp=f"event-{self.events}")
        self.sent.append(body)
        self.deliver(body)

    def deliver(self, body: bytes) -> None:
        self.clock.advance(timedelta(seconds=1))
        reply = ingest_webhook(self.db, parse_webhook(body), IntakePolicy(), self.clock)
        assert reply.status_code in (200, 202), reply

    def call(self, method: str, request_id: str | None = None, **data: Any) -> None:
        self.clock.advance(timedelta(seconds=1))
        spec = METHODS[method]
        call = Call(TOKEN, spec, request_id, spec.request.model_validate(data))
        try:
            answer = execute(self.db, call, AssemblyPolicy(), self.clock).result
        except AssemblyRefused:
            return  # the wrong moment or data for this call: refused, nothing changed
        if call.keyed:
            self.answers.append((call, answer))

    def number(self, sm_order_id: str) -> str:
        """Our number of the order; one no order has while SM has not created it."""
        order = self.order(sm_order_id)
        return order.number if order is not None and order.number else "SM99999999"

    def order(self, sm_order_id: str) -> Order | None:
        orders = self.db.committed.orders
        return next((o for o in orders if o.sm_order_id == sm_order_id), None)

    def orders(self) -> Iterator[Order]:
        return iter(self.db.committed.orders)

    # --- SM's webhooks -----------------------------------------------------------------------

    @rule(
        sm_order_id=st.sampled_from(SM_ORDERS),
        lines=line_lists,
        store=st.sampled_from([MAPPED] * 7 + [UNMAPPED]),
    )
    def sm_creates(self, sm_order_id: str, lines: list[dict[str, Any]], store: str) -> None:
        self.webhook("order.created", order_payload(sm_order_id, storeID=store, positions=lines))

    @rule(
        sm_order_id=st.sampled_from(SM_ORDERS),
        lines=line_lists,
        spelling=st.sampled_from(["order.updated", "order.changed"]),
    )
    def sm_changes(self, sm_order_id: str, lines: list[dict[str, Any]], spelling: str) -> None:
        self.webhook(spelling, order_payload(sm_order_id, positions=lines))

    @rule(sm_order_id=st.sampled_from(SM_ORDERS), total=st.sampled_from(["308.55", "0.01"]))
    def sm_paid(self, sm_order_id: str, total: str) -> None:
        payload = {
            "originalOrderId": sm_order_id,
            "storeID": MAPPED,
            "paymentState": "paid",
            "total": {"totalPrice": total, "discountTotalPrice": total},
        }
        self.webhook("order.paid", payload)

    @rule(
        sm_order_id=st.sampled_from(SM_ORDERS),
        spelling=st.sampled_from(["order.canceled", "order.cancelled"]),
    )
    def sm_cancels(self, sm_order_id: str, spelling: str) -> None:
        payload = {"originalOrderId": sm_order_id, "cancellation": {"slug": "customer_request"}}
        self.webhook(spelling, payload)

    @rule(
        sm_order_id=st.sampled_from(SM_ORDERS),
        kind=st.sampled_from(
            ["courier.assigned", "courier.arrived", "order.received", "order.delivering"]
        ),
    )
    def sm_courier(self, sm_order_id: str, kind: str) -> None:
        self.webhook(kind, {"originalOrderId": sm_order_id, "state": "shipping"})

    @rule(sm_order_id=st.sampled_from(SM_ORDERS))
    def sm_delivered(self, sm_order_id: str) -> None:
        self.webhook("order.delivered", {"originalOrderId": sm_order_id, "state": "shipped"})

    @precondition(lambda self: bool(self.sent))
    @rule(pick=st.integers(min_value=0))
    def sm_delivers_again(self, pick: int) -> None:
        """SM retries: an event it sent before, byte for byte."""
        self.deliver(self.sent[pick % len(self.sent)])

    @rule(sm_order_id=st.sampled_from(SM_ORDERS), handed_over=st.booleans())
    def sm_moves_on(self, sm_order_id: str, handed_over: bool) -> None:
        """SM's next event on the happy path (random sequences alone seldom reach delivery)."""
        order = self.order(sm_order_id)
        if order is None:
            self.webhook("order.created", order_payload(sm_order_id, positions=list(LINES[:3])))
        elif order.status is OrderStatus.READY and handed_over:
            self.webhook("order.received", {"originalOrderId": sm_order_id})
        elif order.status in (OrderStatus.READY, OrderStatus.HANDED_OVER):
            self.sm_delivered(sm_order_id)

    # --- the pickers' calls ------------------------------------------------------------------

    @rule(sm_order_id=st.sampled_from(SM_ORDERS), picker=st.sampled_from([1, 2]))
    def picker_takes(self, sm_order_id: str, picker: int) -> None:
        self.call(
            "takeOrder", self.request_id(), orderNumber=self.number(sm_order_id), pickerId=picker
        )

    @rule(sm_order_id=st.sampled_from(SM_ORDERS), picker=st.sampled_from([1, 2]))
    def picker_moves_on(self, sm_order_id: str, picker: int) -> None:
        """The picker's next calls on the happy path: take, pick the lines as ordered, finish."""
        order = self.order(sm_order_id)
        if order is None or order.number is None:
            return
        number, status = order.number, order.status
        unpicked = [p for p in order.positions if not p.pick.is_picked]
        if status is OrderStatus.NEW:
            self.call("takeOrder", self.request_id(), orderNumber=number, pickerId=picker)
        elif status is OrderStatus.IN_ASSEMBLY and unpicked:
            for unpicked_position in unpicked:
                line = unpicked_position.line
                weighed = {"quantity": "1", "weightGrams": str(line.weight_grams)}
                data = weighed if line.is_weighed else {"quantity": str(line.quantity)}
                self.call(
                    "recordPick", orderNumber=number, lineNo=unpicked_position.line_no, **data
                )
        elif status is OrderStatus.IN_ASSEMBLY:
            self.call("finishAssembly", orderNumber=number, bags=1)
        elif status is OrderStatus.ASSEMBLED:
            self.call("markReady", orderNumber=number)

    @rule(
        sm_order_id=st.sampled_from(SM_ORDERS),
        line=st.integers(min_value=1, max_value=5),
        quantity=quantities,
        grams=weights,
    )
    def picker_picks(self, sm_order_id: str, line: int, quantity: str, grams: str | None) -> None:
        number = self.number(sm_order_id)
        self.call(
            "recordPick", self.request_id(), orderNumber=number, lineNo=line, quantity=quantity,
            weightGrams=grams,
        )  # fmt: skip

    @rule(sm_order_id=st.sampled_from(SM_ORDERS), line=st.integers(min_value=1, max_value=5))
    def picker_finds_none(self, sm_order_id: str, line: int) -> None:
        """A shortage: the line is picked with nothing."""
        number = self.number(sm_order_id)
        self.call("recordPick", self.request_id(), orderNumber=number, lineNo=line, quantity="0")

    @rule(
        sm_order_id=st.sampled_from(SM_ORDERS),
        line=st.integers(min_value=1, max_value=5),
        substitute=substitutes,
    )
    def picker_replaces(self, sm_order_id: str, line: int, substitute: dict[str, Any]) -> None:
        number = self.number(sm_order_id)
        self.call(
            "replacePosition", self.request_id(), orderNumber=number, lineNo=line,
            substitute=substitute,
        )  # fmt: skip

    @rule(sm_order_id=st.sampled_from(SM_ORDERS), ready=st.booleans())
    def picker_finishes(self, sm_order_id: str, ready: bool) -> None:
        number = self.number(sm_order_id)
        self.call("finishAssembly", self.request_id(), orderNumber=number, bags=2, ready=ready)

    @rule(sm_order_id=st.sampled_from(SM_ORDERS))
    def picker_marks_ready(self, sm_order_id: str) -> None:
        self.call("markReady", self.request_id(), orderNumber=self.number(sm_order_id))

    @rule(sm_order_id=st.sampled_from(SM_ORDERS), picker=st.sampled_from([None, 1, 2]))
    def store_assigns(self, sm_order_id: str, picker: int | None) -> None:
        number = self.number(sm_order_id)
        self.call("assignCollector", self.request_id(), orderNumber=number, pickerId=picker)

    @rule(
        sm_order_id=st.sampled_from(SM_ORDERS),
        reason=st.sampled_from(["out_of_stock", "store_closed"]),
    )
    def store_cancels(self, sm_order_id: str, reason: str) -> None:
        number = self.number(sm_order_id)
        self.call("cancelOrder", self.request_id(), orderNumber=number, reason=reason)

    @precondition(lambda self: bool(self.answers))
    @rule(pick=st.integers(min_value=0))
    def app_sends_again(self, pick: int) -> None:
        """The app resends a call that succeeded: the first answer again, nothing done twice."""
        call, first = self.answers[pick % len(self.answers)]
        queued = len(self.db.committed.notifications)
        again = execute(self.db, call, AssemblyPolicy(), self.clock).result
        assert again == first
        assert len(self.db.committed.notifications) == queued

    def request_id(self) -> str:
        return f"req-{self.clock().timestamp():.0f}"

    # --- time and the scheduler's jobs -------------------------------------------------------

    @rule(minutes=st.sampled_from([1, 5, 10, 45]))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @rule()
    def waiting_orders_job(self) -> None:
        settle_waiting(self.db, IntakePolicy(), self.clock())

    @rule(runs=st.integers(min_value=1, max_value=2))
    def sales_job(self, runs: int) -> None:
        job = sales_documents_job(SalesSettings(sales_export_dir=""))
        for _ in range(runs):
            job.run(JobContext(self.db, self.clock(), self.clock, threading.Event()))
        delivered = [o.id or 0 for o in self.orders() if o.status is OrderStatus.DELIVERED]
        documented = [d.order_id for d in self.db.committed.sales_documents]
        assert sorted(documented) == sorted(delivered)

    # --- what always holds -------------------------------------------------------------------

    @invariant()
    def no_status_goes_backwards(self) -> None:
        for order in self.orders():
            before = self.seen.get(order.sm_order_id, OrderStatus.NEW)
            assert order.status in reachable(before), (order.sm_order_id, before, order.status)
            if before in FINAL:
                assert order.status is before
            self.seen[order.sm_order_id] = order.status

    @invariant()
    def no_webhook_failed(self) -> None:
        failed = [e.detail for e in self.db.committed.journal if e.status is JournalStatus.FAILED]
        assert not failed

    @invariant()
    def notifications_follow_sms_order(self) -> None:
        for order in self.orders():
            assert order.id is not None
            queued = [n for n in self.db.committed.notifications if n.order_id == order.id]
            kinds = [n.type for n in queued]
            if CANCELED in kinds:
                assert kinds.count(CANCELED) == 1, kinds
                assert kinds[-1] == CANCELED, kinds
                assert order.status is OrderStatus.CANCELLED, kinds
                kinds = kinds[:-1]
            assert kinds == sorted(set(kinds), key=SM_ORDER.index), kinds
            assert not kinds or kinds[0] == "order.accepted", kinds
            times = [n.created_at for n in queued]
            assert times == sorted(times)
            weighed = {p.line.sku for p in order.positions if p.is_weighed}
            for notification in queued:
                sm_rules.check_fields(notification.type, notification.payload, weighed)
            if order.cancelled_by == "sm":  # nothing pending is sent to SM after its cancel
                assert all(n.state is not DeliveryState.PENDING for n in queued), kinds

    @invariant()
    def sales_documents_add_up(self) -> None:
        documents = self.db.committed.sales_documents
        assert len({d.order_id for d in documents}) == len(documents)
        assert len({d.number for d in documents}) == len(documents)
        for document in documents:
            order = next(o for o in self.orders() if o.id == document.order_id)
            assert order.status is OrderStatus.DELIVERED
            assert order.sales_document_id == document.id
            lines = document.lines
            values = [document.total, document.discount]
            values += [v for line in lines for v in (line.amount, line.discount, line.quantity)]
            assert all(isinstance(value, Decimal) for value in values)
            assert document.total == sum((line.amount for line in lines), Decimal(0))
            assert document.discount == sum((line.discount for line in lines), Decimal(0))
            bill = [(line.sku, line.amount, line.discount) for line in lines]
            assert bill == expected_bill(order)
            if document.paid_amount is not None:
                assert document.difference == document.paid_amount - document.total


# Rules are drawn alike, and most of them are noise for an order (refused calls, events out of
# turn, cancellations): the happy-path steps and the sales job appear five times each, so that
# orders do reach delivery and their documents within a day of ~60 steps.
for _name in ("sm_moves_on", "picker_moves_on", "sales_job"):
    for _copy in range(2, 6):
        setattr(OrderDay, f"{_name}_{_copy}", getattr(OrderDay, _name))

OrderDay.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=60,
    deadline=None,
    derandomize=True,  # CI sees the same days every run: a failure found once is found again
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_a_day_of_orders = OrderDay.TestCase


def test_the_webhooks_are_valid_sm_events() -> None:
    """The machine's events must be ones the hook takes, or its 'no failure' proves nothing."""
    for lines in ([], list(LINES)):
        hook = parse_webhook(envelope("order.created", order_payload(positions=lines)))
        assert hook.data is not None
        assert len(hook.data.lines or ()) == len(lines)
