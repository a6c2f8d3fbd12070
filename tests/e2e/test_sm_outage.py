"""Scenario 2 of issue 13 over real processes (``smbridge run`` with nginx and the
emulators), on each database: SM's notification endpoint is down, then slow, then answers
5xx, then 429 with Retry-After. Afterwards every notification has arrived, each order's in
the order they were made; the backlog drained (its rate is printed); operations got the
alert and its resolution in Telegram.

The clock is compressed by ``speed``: every duration of the dispatcher (retry backoff,
probe interval, lease, timeout) and of the faults is divided by it, so the outage is the
same story told faster. Monitoring runs every 10 s on a demo stand (not compressed).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from smbridge.entrypoints.stack import DEMO_OPERATIONS_CHAT
from smbridge.kernel.database.tables import monitoring_problems, orders, sm_notifications
from smbridge.kernel.database.unit_of_work import Database
from tests.support.faults import scale
from tests.support.stack import RunningStack, running_stack

STUCK = "Уведомления не доходят до СберМаркета"


@dataclass(frozen=True)
class OutageStory:
    """Real-world seconds of each phase; ``speed`` compresses all of them."""

    speed: float
    orders: int = 20
    down: float = 600.0  # SM answers 503
    slow: float = 120.0  # SM answers normally after ``slow_answer`` seconds
    slow_answer: float = 5.0
    errors: float = 60.0  # 500
    throttled: float = 60.0  # 429 with Retry-After
    retry_after: float = 30.0

    def phases(self) -> list[dict[str, float]]:
        k = self.speed
        return [
            {"seconds": self.down / k, "status": 503},
            {"seconds": self.slow / k, "delay": self.slow_answer / k},
            {"seconds": self.errors / k, "status": 500},
            {
                "seconds": self.throttled / k,
                "status": 429,
                "retry_after": max(1, math.ceil(self.retry_after / k)),
            },
        ]

    @property
    def seconds(self) -> float:
        return sum(phase["seconds"] for phase in self.phases())

    def environment(self) -> dict[str, str]:
        """The production defaults of the dispatcher and the alert, divided by ``speed``."""
        k = self.speed
        return {
            "SMBRIDGE_DISPATCH_FIRST_RETRY_SECONDS": str(1.0 / k),
            "SMBRIDGE_DISPATCH_MAX_RETRY_SECONDS": str(300.0 / k),
            "SMBRIDGE_DISPATCH_PROBE_SECONDS": str(2.0 / k),
            "SMBRIDGE_DISPATCH_LEASE_SECONDS": str(60.0 / k),
            "SMBRIDGE_SM_TIMEOUT_SECONDS": str(10.0 / k),
            "SMBRIDGE_DISPATCH_POLL_SECONDS": str(min(0.5, 5.0 / k)),
            # the alert: undelivered for 10 min; monitoring must see it while SM is down
            "SMBRIDGE_MONITOR_NOTIFICATION_STUCK_MINUTES": str(10.0 / k),
        }


@dataclass(frozen=True)
class OutageFigures:
    notifications: int
    backlog: int  # made before the last fault phase ended, delivered after it
    drain_seconds: float  # from that end to the delivery of the backlog's last one
    fault_answers: dict[str, int]
    dead: int
    alerts: list[str]  # the operations chat's texts, in order
    problems: list[tuple[Any, ...]]  # monitoring's record of the incident, to explain a miss

    @property
    def drain_rate(self) -> float:
        return self.backlog / self.drain_seconds if self.drain_seconds > 0 else math.inf


def live_through(db: Database, database_url: str, story: OutageStory) -> OutageFigures:
    # orders keep coming through every phase, so each phase has notifications to meet
    rate = f"{story.orders / story.seconds:.3f}"
    args = ("--orders", str(story.orders), "--rate", rate, "--speed", "600", "--seed", "5")
    with running_stack(
        database_url, *args, "--pick-seconds", "0.02", env=story.environment()
    ) as stack:
        answer = httpx.post(f"{stack.sm_url}/admin/outage", json={"phases": story.phases()})
        assert answer.status_code == 200, answer.text
        # the processes' clocks are this machine's (under libfaketime the figure may be off)
        faults_end = datetime.now(UTC) + timedelta(seconds=story.seconds)
        report = stack.wait_until(lambda r: _finished(r) == story.orders, 120 + story.seconds)
        assert _finished(report) == story.orders, report["orders"]
        alerts = _wait_for_resolution(stack, 90)
        views = [_view(stack, sm_id) for sm_id in _sm_ids(db)]
    assert report["rejected"] == 0, report["rejections"]
    _assert_sm_got_every_notification_in_order(db, views)
    received = [n["receivedAt"] for view in views for n in view["notifications"]]
    with db.engine.connect() as c:
        dead = len(c.execute(select(sm_notifications.c.id).where(_dead())).all())
        problems = [
            tuple(row)
            for row in c.execute(
                select(
                    monitoring_problems.c.first_seen_at,
                    monitoring_problems.c.resolved_at,
                    monitoring_problems.c.announced_at,
                ).where(monitoring_problems.c.rule == "notifications_stuck")
            )
        ]
        backlog = c.execute(
            select(func.count(), func.max(sm_notifications.c.delivered_at)).where(
                sm_notifications.c.created_at < faults_end,
                sm_notifications.c.delivered_at >= faults_end,
            )
        ).one()
    return OutageFigures(
        notifications=len(received),
        backlog=int(backlog[0]),
        drain_seconds=((backlog[1] or faults_end) - faults_end).total_seconds(),
        fault_answers=report.get("faultAnswers", {}),
        dead=dead,
        alerts=alerts,
        problems=problems,
    )


def _dead() -> Any:
    return sm_notifications.c.state.in_(["dead", "pending", "sending"])


def _finished(report: dict[str, Any]) -> int:
    states = report["orders"]
    return int(states.get("delivered", 0)) + int(states.get("cancelled", 0))


def _operations_texts(stack: RunningStack) -> list[str]:
    host, sm_port = stack.sm_url.rsplit(":", 1)
    url = f"{host}:{int(sm_port) + 1}/admin/messages"  # running_stack: Telegram next to SM
    sent = httpx.get(url, params={"chat_id": DEMO_OPERATIONS_CHAT}, timeout=5).json()
    return [str(message["text"]) for message in sent]


def _wait_for_resolution(stack: RunningStack, seconds: float) -> list[str]:
    """The operations chat's texts once the stuck-notifications alert is resolved."""
    deadline = time.monotonic() + seconds
    while True:
        texts = _operations_texts(stack)
        if any(t.startswith("Решено") and STUCK in t for t in texts):
            return texts
        if time.monotonic() > deadline:
            return texts
        time.sleep(0.5)


def _view(stack: RunningStack, sm_id: str) -> dict[str, Any]:
    view: dict[str, Any] = httpx.get(f"{stack.sm_url}/report/orders/{sm_id}", timeout=5).json()
    return view


def _sm_ids(db: Database) -> list[str]:
    with db.engine.connect() as c:
        return list(c.execute(select(orders.c.sm_order_id)).scalars())


def _assert_sm_got_every_notification_in_order(db: Database, views: list[dict[str, Any]]) -> None:
    """SM received each order's notifications exactly in the order our outbox made them."""
    with db.engine.connect() as c:
        rows = c.execute(
            select(sm_notifications.c.sm_order_id, sm_notifications.c.type).order_by(
                sm_notifications.c.id
            )
        ).all()
    made: dict[str, list[str]] = {}
    for sm_order_id, kind in rows:
        made.setdefault(sm_order_id, []).append(kind)
    for view in views:
        got = [n["type"] for n in view["notifications"]]
        assert got == made.get(view["smOrderId"], []), view


def _assert_story(figures: OutageFigures, story: OutageStory) -> None:
    print(
        f"\nSM outage x{story.speed:g}: {figures.notifications} notifications, "
        f"a backlog of {figures.backlog} drained after the faults in "
        f"{figures.drain_seconds:.2f} s ({figures.drain_rate:.0f}/s); "
        f"fault answers {figures.fault_answers}; "
        f"operations chat: {figures.alerts}"
    )
    assert figures.dead == 0  # every notification was delivered: none dead or waiting
    assert figures.notifications >= 4 * story.orders
    # every phase really got in the way
    assert set(figures.fault_answers) == {"503", "slow", "500", "429"}, figures.fault_answers
    opened = [n for n, t in enumerate(figures.alerts) if t.startswith(STUCK)]
    resolved = [n for n, t in enumerate(figures.alerts) if t.startswith("Решено") and STUCK in t]
    assert opened, (figures.alerts, figures.problems)
    assert resolved, (figures.alerts, figures.problems)
    assert opened[0] < resolved[-1], figures.alerts


@pytest.mark.slow  # multi-process; the short form still runs in the suite
@pytest.mark.timed
def test_sm_down_slow_then_failing_every_notification_arrives_and_operations_hear_of_it(
    db: Database, database_url: str
) -> None:
    """Short form (the suite): the story compressed 40 times (10 min down = 15 s). Not more:
    monitoring (every 10 s) and the Telegram sender (every 2 s) keep their real pace on
    the stand, and an alert resolved before the sender's turn is dropped as stale. Long form
    (``SMBRIDGE_FAULTS=long``): compressed 20 times, 100 orders."""
    story = scale(OutageStory(speed=40), OutageStory(speed=20, orders=100))
    _assert_story(live_through(db, database_url, story), story)
