"""The SM notification dispatcher on real databases, with a scripted SM."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from smbridge.adapters.sm_client import NotificationSender, SendResult, Verdict
from smbridge.adapters.tables import sm_notifications, telegram_outbox
from smbridge.domain.notification import Notification, RetryPolicy
from smbridge.emulators import sm_rules
from smbridge.notifications.service import Dispatcher, DispatchPolicy, resend
from smbridge.orders.schemas import parse_webhook
from smbridge.orders.service import IntakePolicy, ingest_webhook
from smbridge.service_layer.unit_of_work import Database
from tests.factories import add_store, envelope, order_payload, ready_with_an_unweighed_substitute

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ScriptedSm:
    """Answers each send with the next verdict of its script (then: delivered)."""

    def __init__(self, *script: Verdict, delay: float = 0.0) -> None:
        self.script = list(script)
        self.delay = delay
        self.received: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def send(self, body: dict[str, Any]) -> SendResult:
        time.sleep(self.delay)
        event = body["event"]
        with self._lock:
            self.received.append((event["payload"]["order_id"], event["type"]))
            verdict = self.script.pop(0) if self.script else Verdict.DELIVERED
        status = {Verdict.DELIVERED: 200, Verdict.RETRY: 503, Verdict.REFUSED: 422}[verdict]
        return SendResult(verdict, status, f"status {status}")


def make_orders(db: Database, *sm_ids: str) -> dict[str, int]:
    add_store(db)
    ids = {}
    for sm_id in sm_ids:
        ingest_webhook(
            db,
            parse_webhook(envelope("order.created", order_payload(sm_id))),
            IntakePolicy(notify_accepted=False),
        )
        with db.unit_of_work() as uow:
            order = uow.orders.by_sm_id(sm_id)
            assert order is not None
            assert order.id is not None
            ids[sm_id] = order.id
    return ids


def queue(db: Database, order_id: int, sm_id: str, *types: str) -> None:
    with db.unit_of_work() as uow:
        for kind in types:
            uow.notifications.add(
                Notification(
                    order_id=order_id,
                    sm_order_id=sm_id,
                    type=kind,
                    payload={"order_id": sm_id},
                    created_at=T0,
                )
            )
        uow.commit()


def states(db: Database) -> list[tuple[str, str, int]]:
    with db.engine.connect() as c:
        rows = c.execute(
            select(
                sm_notifications.c.type, sm_notifications.c.state, sm_notifications.c.attempts
            ).order_by(sm_notifications.c.id)
        )
        return [tuple(r) for r in rows]


def dispatcher(db: Database, sm: NotificationSender, clock: Clock, **policy: Any) -> Dispatcher:
    retry = RetryPolicy(
        first_delay=timedelta(seconds=1),
        max_delay=timedelta(seconds=8),
        max_attempts=policy.pop("max_attempts", 5),
    )
    return Dispatcher(
        db, sm, DispatchPolicy(retry=retry, operations_chat_id="-100", **policy), clock
    )


def drain(d: Dispatcher) -> None:
    while d.run_once().total:
        pass


def test_one_orders_notifications_leave_in_the_order_they_were_made(db: Database) -> None:
    ids = make_orders(db, "H1", "H2")
    queue(db, ids["H1"], "H1", "order.in_work", "order.assembled", "order.ready_for_delivery")
    queue(db, ids["H2"], "H2", "order.in_work", "order.canceled")
    sm = ScriptedSm()
    first = dispatcher(db, sm, Clock()).run_once()
    assert first.delivered == 2  # one head per order per round: the orders go in parallel
    drain(dispatcher(db, sm, Clock()))
    assert [t for o, t in sm.received if o == "H1"] == [
        "order.in_work",
        "order.assembled",
        "order.ready_for_delivery",
    ]
    assert [t for o, t in sm.received if o == "H2"] == ["order.in_work", "order.canceled"]
    assert {s for _, s, _ in states(db)} == {"delivered"}


def test_a_failing_head_holds_back_its_order_but_not_others(db: Database) -> None:
    ids = make_orders(db, "H1", "H2")
    queue(db, ids["H1"], "H1", "order.in_work", "order.ready_for_delivery")
    queue(db, ids["H2"], "H2", "order.in_work")
    sm = ScriptedSm(Verdict.RETRY)
    clock = Clock()
    d = dispatcher(db, sm, clock)
    drain(d)
    assert states(db) == [
        ("order.in_work", "pending", 1),
        ("order.ready_for_delivery", "pending", 0),
        ("order.in_work", "delivered", 1),
    ]
    clock.advance(2)  # past the first backoff (at most 1 s)
    drain(d)
    assert [t for o, t in sm.received if o == "H1"] == [
        "order.in_work",
        "order.in_work",
        "order.ready_for_delivery",
    ]
    assert [s for _, s, _ in states(db)] == ["delivered"] * 3


def test_backoff_grows_and_stays_bounded(db: Database) -> None:
    policy = RetryPolicy(
        first_delay=timedelta(seconds=1), max_delay=timedelta(seconds=8), max_attempts=10
    )
    delays = [(policy.next_attempt(n, T0) or T0) - T0 for n in range(1, 10)]
    ceilings = [min(2 ** (n - 1), 8) for n in range(1, 10)]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert timedelta(seconds=ceiling / 2) <= delay <= timedelta(seconds=ceiling)
    assert policy.next_attempt(10, T0) is None


def test_refused_notification_is_a_dead_letter_with_an_alert_and_can_be_resent(
    db: Database,
) -> None:
    ids = make_orders(db, "H1")
    queue(db, ids["H1"], "H1", "order.in_work", "order.ready_for_delivery")
    sm = ScriptedSm(Verdict.REFUSED)
    d = dispatcher(db, sm, Clock())
    drain(d)
    assert states(db) == [
        ("order.in_work", "dead", 1),
        ("order.ready_for_delivery", "delivered", 1),
    ]
    with db.engine.connect() as c:
        chat, text = c.execute(select(telegram_outbox.c.chat_id, telegram_outbox.c.text)).one()
    assert chat == "-100"
    assert "order.in_work" in text
    assert "ответ 422" in text
    assert "smbridge notifications resend --id" in text

    with db.engine.connect() as c:
        dead_id = c.execute(
            select(sm_notifications.c.id).where(sm_notifications.c.state == "dead")
        ).scalar_one()
    assert resend(db, [dead_id, dead_id + 100]) == [dead_id]
    drain(d)
    assert states(db)[0] == ("order.in_work", "delivered", 1)


class StrictSm:
    """SM's own checks of a notification (the emulator's rules): weighed goods need weight."""

    def __init__(self, weighed: set[str]) -> None:
        self.weighed = weighed
        self.received: list[dict[str, Any]] = []

    def send(self, body: dict[str, Any]) -> SendResult:
        self.received.append(body)
        try:
            kind, payload = sm_rules.parse(body)
            sm_rules.check_fields(kind, payload, self.weighed)
        except sm_rules.Refused as refused:
            return SendResult(Verdict.REFUSED, 422, str(refused))
        return SendResult(Verdict.DELIVERED, 200, "ok")


def test_a_resent_dead_letter_is_rebuilt_from_the_corrected_order(db: Database) -> None:
    order_id = make_orders(db, "H1")["H1"]
    ready_with_an_unweighed_substitute(db, order_id, T0)
    sm = StrictSm(weighed={"200300", "200301"})
    d = dispatcher(db, sm, Clock())
    drain(d)
    assert states(db) == [("order.ready_for_delivery", "dead", 1)]
    with db.engine.connect() as c:
        dead_id, error = c.execute(
            select(sm_notifications.c.id, sm_notifications.c.last_error)
        ).one()
    assert "weight is required" in error

    with db.unit_of_work() as uow:  # the operator weighs the apples: smbridge orders set-weight
        order = uow.orders.get(order_id)
        assert order is not None
        order.correct_weight(3, Decimal(1302), T0)
        uow.commit()
    assert resend(db, [dead_id]) == [dead_id]
    drain(d)

    assert states(db) == [("order.ready_for_delivery", "delivered", 1)]
    final = sm.received[-1]["event"]["payload"]["order"]["positions"]
    assert final[-1] == {"id": "200301", "quantity": 1, "weight": "1302"}


def test_retries_run_out_into_a_dead_letter(db: Database) -> None:
    ids = make_orders(db, "H1")
    queue(db, ids["H1"], "H1", "order.in_work")
    sm = ScriptedSm(*[Verdict.RETRY] * 10)
    clock = Clock()
    d = dispatcher(db, sm, clock, max_attempts=3)
    for _ in range(5):
        drain(d)
        clock.advance(60)
    assert states(db) == [("order.in_work", "dead", 3)]
    assert len(sm.received) == 3


def test_a_crashed_dispatchers_claim_is_taken_over_after_its_lease(db: Database) -> None:
    ids = make_orders(db, "H1")
    queue(db, ids["H1"], "H1", "order.in_work")
    clock = Clock()
    crashed = dispatcher(db, ScriptedSm(), clock, lease=timedelta(seconds=30))
    crashed._claim(None)  # claimed, then the process died before sending
    sm = ScriptedSm()
    survivor = dispatcher(db, sm, clock, lease=timedelta(seconds=30))
    assert survivor.run_once().total == 0  # the lease still holds
    clock.advance(31)
    assert survivor.run_once().delivered == 1
    assert states(db) == [("order.in_work", "delivered", 2)]


def test_concurrent_dispatchers_send_each_notification_once(db: Database) -> None:
    sm_ids = [f"H{i}" for i in range(30)]
    ids = make_orders(db, *sm_ids)
    for sm_id in sm_ids:
        queue(db, ids[sm_id], sm_id, "order.in_work", "order.assembled", "order.ready_for_delivery")
    sm = ScriptedSm(delay=0.002)
    dispatchers = [dispatcher(db, sm, Clock(), batch=4) for _ in range(4)]

    def work(d: Dispatcher) -> None:
        with ThreadPoolExecutor(4) as pool:
            idle = 0
            while idle < 3:
                idle = 0 if d.run_once(pool).total else idle + 1

    threads = [threading.Thread(target=work, args=(d,)) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert Counter(Counter(sm.received).values()) == {1: 90}  # each exactly once
    for sm_id in sm_ids:
        assert [t for o, t in sm.received if o == sm_id] == [
            "order.in_work",
            "order.assembled",
            "order.ready_for_delivery",
        ]
    assert {s for _, s, _ in states(db)} == {"delivered"}


@pytest.mark.parametrize("kind", ["order.canceled", "order.cancelled"])
def test_sm_cancelling_an_order_supersedes_its_unsent_notifications(
    db: Database, kind: str
) -> None:
    ids = make_orders(db, "H1")
    queue(db, ids["H1"], "H1", "order.in_work")
    ingest_webhook(db, parse_webhook(envelope(kind, {"originalOrderId": "H1"})), IntakePolicy())
    sm = ScriptedSm()
    drain(dispatcher(db, sm, Clock()))
    assert sm.received == []
    assert states(db) == [("order.in_work", "superseded", 0)]
