"""The SM notification dispatcher on real databases, with a scripted SM."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from smbridge.domain.notification import Notification, RetryPolicy
from smbridge.emulators.sm import rules
from smbridge.emulators.sm.app import MarketConfig, MarketOrder, Marketplace, create_app
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.tables import sm_notifications, telegram_outbox
from smbridge.kernel.database.unit_of_work import Database
from smbridge.monitoring.service import run_monitoring
from smbridge.notifications.dispatcher import Dispatcher, DispatchPolicy, resend
from smbridge.notifications.factory import dispatch_policy, sm_client
from smbridge.notifications.link import LinkPolicy
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.notifications.sm_client import NotificationSender, SmAnswer, SmAnswerKind
from smbridge.orders.repository import OrderRepository
from tests.conftest import make_settings
from tests.factories import add_store, envelope, order_payload, ready_with_an_unweighed_substitute
from tests.support.clock import FrozenClock
from tests.support.servers import serving

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ScriptedSm:
    """Answers each send with the next answer kind of its script (then: delivered); while
    ``down`` is set, every send gets a 503 (an outage) and the script waits."""

    def __init__(self, *script: SmAnswerKind, delay: float = 0.0) -> None:
        self.script = list(script)
        self.delay = delay
        self.down = False
        self.received: list[tuple[str, str]] = []
        self.delivered: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def send(self, body: dict[str, Any]) -> SmAnswer:
        time.sleep(self.delay)
        sent = (body["event"]["payload"]["order_id"], body["event"]["type"])
        with self._lock:
            self.received.append(sent)
            if self.down:
                kind = SmAnswerKind.RETRY
            else:
                kind = self.script.pop(0) if self.script else SmAnswerKind.DELIVERED
            if kind is SmAnswerKind.DELIVERED:
                self.delivered.append(sent)
        status = {
            SmAnswerKind.DELIVERED: 200,
            SmAnswerKind.RETRY: 503,
            SmAnswerKind.REFUSED: 422,
        }[kind]
        return SmAnswer(kind, status, f"status {status}")


def make_orders(db: Database, *sm_ids: str) -> dict[str, int]:
    add_store(db)
    ids = {}
    for sm_id in sm_ids:
        ingest_webhook(
            db,
            parse_webhook(envelope("order.created", order_payload(sm_id))),
            IntakePolicy(notify_accepted=False),
            FrozenClock(),
        )
        with db.unit_of_work() as uow:
            order = uow.repo(OrderRepository).by_sm_id(sm_id)
            assert order is not None
            assert order.id is not None
            ids[sm_id] = order.id
    return ids


def queue(db: Database, order_id: int, sm_id: str, *types: str) -> None:
    with db.unit_of_work() as uow:
        for kind in types:
            uow.repo(NotificationOutbox).add(
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
        max_delay=timedelta(seconds=policy.pop("max_delay", 8)),
        max_attempts=policy.pop("max_attempts", 5),
    )
    return Dispatcher(db, sm, DispatchPolicy(retry=retry, **policy), clock)


def drain(d: Dispatcher) -> None:
    while d.run_once().total:
        pass


def test_one_orders_notifications_leave_in_the_order_they_were_made(db: Database) -> None:
    ids = make_orders(db, "H1", "H2")
    queue(db, ids["H1"], "H1", "order.in_work", "order.assembled", "order.ready_for_delivery")
    queue(db, ids["H2"], "H2", "order.in_work", "order.canceled")
    sm = ScriptedSm()
    first = dispatcher(db, sm, Clock()).run_once()
    # One head per order is claimed; each order's next ones follow it as they are recorded.
    assert first.delivered == 5
    drain(dispatcher(db, sm, Clock()))
    assert [t for o, t in sm.received if o == "H1"] == [
        "order.in_work",
        "order.assembled",
        "order.ready_for_delivery",
    ]
    assert [t for o, t in sm.received if o == "H2"] == ["order.in_work", "order.canceled"]
    assert {s for _, s, _ in states(db)} == {"delivered"}


def test_an_orders_run_costs_one_claim_and_one_record(db: Database) -> None:
    """The head and the rows behind it are claimed together and sent one after another;
    one transaction records all the answers (and would claim what queued meanwhile)."""
    ids = make_orders(db, "H1")
    queue(db, ids["H1"], "H1", "order.in_work", "order.assembled", "order.ready_for_delivery")
    sm = ScriptedSm()
    d = dispatcher(db, sm, Clock())
    commits: list[None] = []

    def commit(_connection: Any) -> None:
        commits.append(None)

    event.listen(db.engine, "commit", commit)
    try:
        counts = d.drain_order(ids["H1"])
    finally:
        event.remove(db.engine, "commit", commit)
    assert counts.delivered == 3
    assert [t for _, t in sm.received] == [
        "order.in_work",
        "order.assembled",
        "order.ready_for_delivery",
    ]
    assert len(commits) == 2  # the claim of the run, then the record of its answers
    assert {s for _, s, _ in states(db)} == {"delivered"}


def test_a_retry_inside_a_run_puts_the_rest_back_unsent(db: Database) -> None:
    ids = make_orders(db, "H1")
    queue(db, ids["H1"], "H1", "order.in_work", "order.assembled", "order.ready_for_delivery")
    sm = ScriptedSm(SmAnswerKind.DELIVERED, SmAnswerKind.RETRY)
    clock = Clock()
    d = dispatcher(db, sm, clock)
    assert d.drain_order(ids["H1"]).retried == 1
    assert states(db) == [
        ("order.in_work", "delivered", 1),
        ("order.assembled", "pending", 1),
        ("order.ready_for_delivery", "pending", 0),  # never sent: as if never claimed
    ]
    clock.advance(2)  # past the first backoff (at most 1 s)
    drain(d)
    assert [t for _, t in sm.received] == [
        "order.in_work",
        "order.assembled",
        "order.assembled",
        "order.ready_for_delivery",
    ]
    assert [s for _, s, _ in states(db)] == ["delivered"] * 3


def test_a_run_cut_short_by_a_crash_is_sent_again_in_order(db: Database) -> None:
    ids = make_orders(db, "H1")
    queue(db, ids["H1"], "H1", "order.assembled", "order.ready_for_delivery")
    clock = Clock()
    crashed = dispatcher(db, ScriptedSm(), clock, lease=timedelta(seconds=30))
    assert len(crashed._claim(None)[0]) == 2  # claimed both, then the process died
    sm = ScriptedSm()
    survivor = dispatcher(db, sm, clock, lease=timedelta(seconds=30))
    assert survivor.run_once().total == 0  # the leases still hold
    clock.advance(31)
    assert survivor.run_once().delivered == 2
    assert [t for _, t in sm.received] == ["order.assembled", "order.ready_for_delivery"]
    assert states(db) == [
        ("order.assembled", "delivered", 2),
        ("order.ready_for_delivery", "delivered", 2),
    ]


def test_a_retry_stops_the_orders_run_and_a_refusal_does_not(db: Database) -> None:
    ids = make_orders(db, "H1", "H2")
    queue(db, ids["H1"], "H1", "order.in_work", "order.assembled")
    queue(db, ids["H2"], "H2", "order.in_work", "order.assembled")
    sm = ScriptedSm(SmAnswerKind.RETRY, SmAnswerKind.REFUSED)
    d = dispatcher(db, sm, Clock())
    assert d.drain_order(ids["H1"]).retried == 1  # its head waits out its backoff
    assert [t for o, t in sm.received if o == "H1"] == ["order.in_work"]
    counts = d.drain_order(ids["H2"])  # the head is a dead letter; the next one still leaves
    assert (counts.dead, counts.delivered) == (1, 1)
    assert [t for o, t in sm.received if o == "H2"] == ["order.in_work", "order.assembled"]


def test_a_failing_head_holds_back_its_order_but_not_others(db: Database) -> None:
    ids = make_orders(db, "H1", "H2")
    queue(db, ids["H1"], "H1", "order.in_work", "order.ready_for_delivery")
    queue(db, ids["H2"], "H2", "order.in_work")
    sm = ScriptedSm(SmAnswerKind.RETRY)
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


def test_the_wait_sm_asks_for_is_kept_up_to_the_longest_backoff() -> None:
    policy = RetryPolicy(
        first_delay=timedelta(seconds=1), max_delay=timedelta(seconds=300), max_attempts=10
    )
    assert policy.next_attempt(1, T0, timedelta(seconds=30)) == T0 + timedelta(seconds=30)
    assert policy.next_attempt(1, T0, timedelta(hours=5)) == T0 + timedelta(seconds=300)
    later = policy.next_attempt(9, T0, timedelta(seconds=2))  # its own backoff is longer
    assert later is not None
    assert later - T0 >= timedelta(seconds=128)  # half of the ninth ceiling, 256 s
    assert policy.next_attempt(10, T0, timedelta(seconds=30)) is None


@pytest.mark.parametrize(
    ("status", "header", "wait"),
    [
        (429, "30", timedelta(seconds=30)),
        (503, " 5 ", timedelta(seconds=5)),
        (429, "Wed, 21 Oct 2026 07:28:00 GMT", None),  # the date form: our own backoff
        (429, "-1", None),
        (429, "9999999", None),
        (500, "30", None),  # only 429 and 503 say "come back then"
    ],
)
def test_sms_retry_after_is_read_from_a_429_or_503(
    status: int, header: str, wait: timedelta | None
) -> None:
    answer = SmAnswer.from_response(httpx.Response(status, headers={"Retry-After": header}))
    assert answer.kind is SmAnswerKind.RETRY
    assert answer.retry_after == wait


def test_a_notification_sm_throttled_waits_as_long_as_sm_asked(db: Database) -> None:
    class Throttling:
        def send(self, body: dict[str, Any]) -> SmAnswer:
            return SmAnswer(SmAnswerKind.RETRY, 429, "slow down", timedelta(seconds=60))

    ids = make_orders(db, "H1")
    queue(db, ids["H1"], "H1", "order.accepted")
    dispatcher(db, Throttling(), Clock(), max_delay=120).run_once()
    with db.engine.connect() as c:
        due = c.execute(select(sm_notifications.c.next_attempt_at)).scalar_one()
    assert due.replace(tzinfo=due.tzinfo or UTC) == T0 + timedelta(seconds=60)


def test_refused_notification_is_a_dead_letter_with_one_alert_and_can_be_resent(
    db: Database, database_url: str
) -> None:
    ids = make_orders(db, "H1")
    queue(db, ids["H1"], "H1", "order.in_work", "order.ready_for_delivery")
    sm = ScriptedSm(SmAnswerKind.REFUSED)
    d = dispatcher(db, sm, Clock())
    drain(d)
    assert states(db) == [
        ("order.in_work", "dead", 1),
        ("order.ready_for_delivery", "delivered", 1),
    ]
    # The dead letter is one monitoring problem: one alert, however often monitoring looks.
    monitoring = make_settings(database_url, operations_chat_id="-100")
    run_monitoring(db, monitoring, T0)
    run_monitoring(db, monitoring, T0 + timedelta(minutes=1))
    with db.engine.connect() as c:
        queued = c.execute(select(telegram_outbox.c.chat_id, telegram_outbox.c.text)).all()
    [(chat, text)] = [row for row in queued if "resend" in row.text]  # other rules speak too
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

    def send(self, body: dict[str, Any]) -> SmAnswer:
        self.received.append(body)
        try:
            kind, payload = rules.parse(body)
            rules.check_fields(kind, payload, self.weighed)
        except rules.Refused as refused:
            return SmAnswer(SmAnswerKind.REFUSED, 422, str(refused))
        return SmAnswer(SmAnswerKind.DELIVERED, 200, "ok")


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
        order = uow.repo(OrderRepository).get(order_id)
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
    sm = ScriptedSm(*[SmAnswerKind.RETRY] * 10)
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
    ingest_webhook(
        db, parse_webhook(envelope(kind, {"originalOrderId": "H1"})), IntakePolicy(), FrozenClock()
    )
    sm = ScriptedSm()
    drain(dispatcher(db, sm, Clock()))
    assert sm.received == []
    assert states(db) == [("order.in_work", "superseded", 0)]


# --- catching up after an SM outage (issue 16 §4) ---------------------------------------------

KINDS = ("order.in_work", "order.assembled", "order.ready_for_delivery")
#: Retries as in production (up to 5 minutes apart); no "SM is down" probing, so every
#: order's head keeps retrying and piles up backoff through the outage.
RETRYING_THROUGH = {
    "max_delay": 300,
    "max_attempts": 30,
    "link": LinkPolicy(down_after=10**6),
}
PROBING = LinkPolicy(down_after=5, probe_every=timedelta(seconds=5))


def kinds_of(order_id: int) -> tuple[str, ...]:
    return KINDS[: 2 + order_id % 2]  # two or three notifications per order


def live_through_an_outage(
    db: Database, d: Dispatcher, clock: Clock, orders: list[tuple[str, int]]
) -> None:
    """SM answers 503 for five minutes while every 30 s another tenth of the orders queue
    their notifications and the dispatcher retries whatever is due: the first orders' heads
    end up minutes apart, the last ones seconds."""
    group = len(orders) // 10
    for start in range(0, len(orders), group):
        for sm_id, order_id in orders[start : start + group]:
            queue(db, order_id, sm_id, *kinds_of(order_id))
        for _ in range(6):
            drain(d)
            clock.advance(5)
    drain(d)


def waiting_out_a_backoff(db: Database, now: datetime) -> list[timedelta]:
    n = sm_notifications.c
    with db.engine.connect() as c:
        times = c.execute(
            select(n.next_attempt_at).where(n.state == "pending", n.next_attempt_at > now)
        ).scalars()
        return [at - now for at in times]


def assert_all_delivered_in_order(db: Database, sm: ScriptedSm, orders: dict[str, int]) -> None:
    assert {s for _, s, _ in states(db)} == {"delivered"}
    for sm_id, order_id in orders.items():
        assert [t for o, t in sm.delivered if o == sm_id] == list(kinds_of(order_id))


@contextmanager
def sql_statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def log(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()))  # the statement, on one line

    event.listen(db.engine, "before_cursor_execute", log)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", log)


def mass_updates(statements: list[str]) -> list[str]:
    """Updates of the outbox that are not the ORM's row-by-row ones (the pull-forward)."""
    return [
        s
        for s in statements
        if s.startswith("UPDATE sm_notifications") and "WHERE sm_notifications.id = " not in s
    ]


def test_the_first_answer_after_an_outage_makes_the_whole_backlog_due_at_once(
    db: Database,
) -> None:
    ids = make_orders(db, *[f"H{i}" for i in range(200)])
    orders = list(ids.items())
    sm, clock = ScriptedSm(), Clock()
    d = dispatcher(db, sm, clock, max_delay=300, max_attempts=30, link=PROBING)
    sm.down = True
    for start in range(0, len(orders), 20):  # five minutes: 20 more orders every 30 s
        for sm_id, order_id in orders[start : start + 20]:
            queue(db, order_id, sm_id, *kinds_of(order_id))
        for _ in range(30):  # the dispatcher polls every second
            d.run_once()
            clock.advance(1)
    # The first batch of 20, then one probe every 5 s (t = 5..295), not every head's retries.
    assert len(sm.received) == 20 + 59
    assert max(waiting_out_a_backoff(db, clock.now)) > timedelta(minutes=1)  # probed heads

    sm.down = False
    clock.advance(5)
    with sql_statements(db) as statements:
        assert d.run_once().delivered == 1  # the next probe gets through
    assert len(mass_updates(statements)) == 1  # one bounded UPDATE
    assert waiting_out_a_backoff(db, clock.now) == []

    with sql_statements(db) as statements:
        drain(d)  # at the same instant: none of the old backoffs has run out
    assert mass_updates(statements) == []  # one recovery, one pull-forward
    assert_all_delivered_in_order(db, sm, ids)


def test_a_dispatcher_that_did_not_see_the_outage_catches_up_all_the_same(
    db: Database,
) -> None:
    ids = make_orders(db, *[f"H{i}" for i in range(50)])
    sm, clock = ScriptedSm(), Clock()
    sm.down = True
    live_through_an_outage(
        db, dispatcher(db, sm, clock, **RETRYING_THROUGH), clock, list(ids.items())
    )
    backoffs = waiting_out_a_backoff(db, clock.now)
    assert len(backoffs) == 50  # every order's head waits; the rest wait behind it
    assert max(backoffs) > timedelta(minutes=2)

    sm.down = False
    recovered_at = clock.now
    scheduler = dispatcher(db, sm, clock, max_delay=300, link=PROBING)  # e.g. restarted
    while waiting_out_a_backoff(db, clock.now):  # it polls every second
        drain(scheduler)
        clock.advance(1)
    # The first row that had failed five times (its backoff at most 16 s) got through and
    # made the rest due: minutes of backoff did not have to run out.
    assert clock.now - recovered_at <= timedelta(seconds=17)
    drain(scheduler)
    assert_all_delivered_in_order(db, sm, ids)


def test_a_delivery_without_earlier_failures_pulls_nothing_forward(db: Database) -> None:
    ids = make_orders(db, "H1", "H2")
    queue(db, ids["H1"], "H1", "order.in_work")
    clock = Clock()
    dispatcher(db, ScriptedSm(SmAnswerKind.RETRY), clock).run_once()  # another sender's failure
    backoff = waiting_out_a_backoff(db, clock.now)
    assert len(backoff) == 1
    queue(db, ids["H2"], "H2", "order.in_work")
    with sql_statements(db) as statements:
        assert dispatcher(db, ScriptedSm(), clock).run_once().delivered == 1
    assert mass_updates(statements) == []
    assert any(s.startswith("UPDATE sm_notifications") for s in statements)  # the log works
    assert waiting_out_a_backoff(db, clock.now) == backoff


def test_while_sm_is_down_a_dispatcher_only_probes_it(db: Database) -> None:
    sm_ids = [f"H{i}" for i in range(20)]
    ids = make_orders(db, *sm_ids)
    for sm_id in sm_ids:
        queue(db, ids[sm_id], sm_id, "order.in_work")
    sm, clock = ScriptedSm(), Clock()
    d = dispatcher(db, sm, clock, batch=4, max_attempts=20, link=PROBING)
    sm.down = True
    for _ in range(60):  # a minute of outage, the dispatcher polling every second
        d.run_once()
        clock.advance(1)
    # Two batches of 4 until five failures in a row, then one probe every 5 s (t = 6..56).
    assert len(sm.received) == 8 + 11
    with db.engine.connect() as c:
        untried = c.execute(
            select(func.count()).where(sm_notifications.c.attempts == 0)
        ).scalar_one()
    assert untried >= 20 - 8 - 11  # the rest kept their attempts for when SM is back

    sm.down = False
    clock.advance(5)
    assert d.run_once().delivered == 1  # the probe gets through: SM is back
    drain(d)  # everything at once, at the same instant
    assert {s for _, s, _ in states(db)} == {"delivered"}
    assert sorted(o for o, _ in sm.delivered) == sorted(sm_ids)


def test_a_long_outage_with_one_order_waiting_makes_no_dead_letter(db: Database) -> None:
    ids = make_orders(db, "H1")
    queue(db, ids["H1"], "H1", "order.in_work", "order.assembled")
    sm, clock = ScriptedSm(), Clock()
    # The production backoff (1 s doubling to 5 min, 12 attempts) and probe interval.
    d = dispatcher(db, sm, clock, max_delay=300, max_attempts=12, link=LinkPolicy())
    sm.down = True
    # Half an hour, polling every second: the 12 attempts take at most 1,111 s (jitter
    # halves each wait at most), and the next probe comes the longest backoff after.
    for _ in range(30 * 60):
        d.run_once()
        clock.advance(1)
    assert len(sm.received) > 12  # the head was probed past its attempts...
    assert {state for _, state, _ in states(db)} == {"pending"}  # ...and waits on
    sm.down = False
    clock.advance(300)
    drain(d)
    assert states(db)[0][:2] == ("order.in_work", "delivered")
    assert [kind for _, kind in sm.delivered] == ["order.in_work", "order.assembled"]


def test_the_catch_up_keeps_to_the_pace_set_for_sm(db: Database) -> None:
    sm_ids = [f"H{i}" for i in range(30)]
    ids = make_orders(db, *sm_ids)
    for sm_id in sm_ids:
        queue(db, ids[sm_id], sm_id, "order.in_work")
    clock = Clock()
    d = dispatcher(db, ScriptedSm(), clock, link=LinkPolicy(max_per_second=10))
    assert d.run_once().delivered == 10  # one second's worth
    assert d.run_once().total == 0  # the same instant: the pace is used up
    clock.advance(0.5)
    assert d.run_once().delivered == 5
    clock.advance(60)
    assert d.run_once().delivered == 10  # no more than one second's worth saved up
    clock.advance(1)
    assert d.run_once().delivered == 5  # the rest


def test_against_the_sm_emulator_the_backlog_drains_within_seconds_of_recovery(
    database_url: str, db: Database
) -> None:
    """The production wiring and defaults against the SM emulator (which refuses a
    notification out of order), on a compressed clock: one poll per simulated second."""
    market = Marketplace(
        MarketConfig(hook_urls=("http://127.0.0.1:9/",), hook_token="h", notify_token="sm-token")
    )
    sm_ids = [f"E{i}" for i in range(100)]
    for sm_id in sm_ids:
        market.orders[sm_id] = MarketOrder(sm_id, {}, set(), {})
    ids = make_orders(db, *sm_ids)
    clock = Clock()
    with serving(create_app(market, generate=False)) as sm_url:
        settings = make_settings(database_url, sm_base_url=sm_url, sm_token="sm-token")
        client = sm_client(settings)
        assert client is not None
        with closing(client):
            d = Dispatcher(db, client, dispatch_policy(settings), clock)
            market.outage(3600, 503)
            for second in range(600):  # ten minutes; in the first five, 10 orders per 30 s
                if second % 30 == 0:
                    for sm_id in sm_ids[second // 3 : second // 3 + 10]:
                        queue(db, ids[sm_id], sm_id, "order.in_work", "order.assembled")
                d.run_once()
                clock.advance(1)
            market.outage(0, 503)  # SM answers again
            recovered_at = clock.now
            while {s for _, s, _ in states(db)} != {"delivered"}:
                if not d.run_once().total:  # the dispatcher process polls again
                    clock.advance(1)
                assert clock.now - recovered_at < timedelta(minutes=1)
    # The next probe (at most 2 s) makes everything due; 200 sends at 100/s take 2 s more.
    assert clock.now - recovered_at <= timedelta(seconds=5)
    report = market.summary()
    assert (report["accepted"], report["rejected"]) == (200, 0)
    for sm_id in sm_ids:
        assert [t for t, _ in market.orders[sm_id].received] == [
            "order.in_work",
            "order.assembled",
        ]
    with db.engine.connect() as c:
        sends = c.execute(select(func.sum(sm_notifications.c.attempts))).scalar_one()
    # While SM was down: the first 10 heads, then one probe every 2 s (t = 2..598), instead
    # of every head's retries; then each notification once.
    assert sends == 10 + 299 + 200
