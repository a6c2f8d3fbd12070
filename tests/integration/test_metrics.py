"""``/metrics`` of both web services: HTTP counters by route template, queue depths read
from the database, and one pool's worker processes adding up in multiprocess mode."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter as Tally
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from starlette.testclient import TestClient

from smbridge.domain.notification import DeliveryState, Notification
from smbridge.entrypoints.assembly_app import create_assembly_app
from smbridge.entrypoints.hook_app import create_hook_app
from smbridge.entrypoints.supervisor import stop_processes
from smbridge.kernel.database.tables import sm_notifications, telegram_outbox, webhook_journal
from smbridge.kernel.database.unit_of_work import Database
from smbridge.metrics.prometheus import MULTIPROC_ENV
from smbridge.notifications.dispatcher import Dispatcher, DispatchPolicy
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.notifications.sm_client import SmAnswer, SmAnswerKind
from smbridge.orders.repository import OrderRepository
from smbridge.scheduler.job_store import JobStore
from smbridge.settings import Settings
from tests.factories import HEADERS, TOKEN, add_store, envelope, order_payload
from tests.support.clock import FROZEN_NOW, FrozenClock
from tests.support.servers import free_port, wait_until_up

HOOK = "/sbermarket/orders/hook/"
API = "/sbermarket/orders/api/"
REQUESTS = "smbridge_http_requests_total"
DURATIONS = "smbridge_http_request_duration_seconds_count"

Key = tuple[str, frozenset[tuple[str, str]]]


def parse(text: str) -> dict[Key, float]:
    """Every sample of a scrape, by sample name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def key(name: str, **labels: str) -> Key:
    return name, frozenset(labels.items())


def scrape(client: TestClient | httpx.Client, base: str = "") -> dict[Key, float]:
    response = client.get(base + "/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


def created(sm_order_id: str, store: str = "101") -> bytes:
    return envelope("order.created", order_payload(sm_order_id, storeID=store))


@pytest.fixture
def single_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)


# --- HTTP counters ------------------------------------------------------------------------


@pytest.mark.usefixtures("single_process")
def test_requests_to_both_services_are_counted_by_route_template(
    db: Database, settings: Settings
) -> None:
    add_store(db)
    with (
        TestClient(create_hook_app(settings, db, clock=FrozenClock())) as hook,
        TestClient(create_assembly_app(settings, db, clock=FrozenClock())) as assembly,
    ):
        before = scrape(hook)
        assert hook.post(HOOK, content=created("H1"), headers=HEADERS).status_code == 200
        wrong = {**HEADERS, "Client-Token": "wrong"}
        assert hook.post(HOOK, content=created("H2"), headers=wrong).status_code == 403
        no_slash_answer = hook.post(HOOK.rstrip("/"), content=created("H3"), headers=HEADERS)
        assert no_slash_answer.status_code == 200
        assert hook.get("/sbermarket/orders/hook/H1234567890/x").status_code == 404
        assert hook.get(HOOK).status_code == 405
        assert hook.request("PROPFIND", "/healthz").status_code == 405
        answer = assembly.post(
            API + "getActiveOrders", json={"requestData": {}}, headers={"Client-Token": "nobody"}
        )
        assert answer.status_code == 403
        after = scrape(assembly)  # one process: either service's scrape shows both

    def delta(name: str, **labels: str) -> float:
        k = key(name, **labels)
        return after.get(k, 0.0) - before.get(k, 0.0)

    hook_post = {"service": "hook", "method": "POST", "route": HOOK}
    assert delta(REQUESTS, **hook_post, status="200") == 1
    assert delta(REQUESTS, **hook_post, status="403") == 1
    assert delta(DURATIONS, **hook_post) == 2
    no_slash = {"service": "hook", "method": "POST", "route": HOOK.rstrip("/")}
    assert delta(REQUESTS, **no_slash, status="200") == 1
    assert delta(REQUESTS, service="hook", method="GET", route="other", status="404") == 1
    assert delta(REQUESTS, service="hook", method="GET", route=HOOK, status="405") == 1
    assert delta(REQUESTS, service="hook", method="other", route="/healthz", status="405") == 1
    # The first scrape, recorded once it was answered; the second is not in its own count.
    assert delta(REQUESTS, service="hook", method="GET", route="/metrics", status="200") == 1
    assert delta(REQUESTS, service="assembly", method="GET", route="/metrics", status="200") == 0
    api_call = {"service": "assembly", "method": "POST", "route": API + "getActiveOrders"}
    assert delta(REQUESTS, **api_call, status="403") == 1
    assert delta(DURATIONS, **api_call) == 1
    # Raw paths never become label values; the assembly API did not count the hook's calls.
    routes = {dict(labels).get("route") for _, labels in after}
    assert not any("H1234567890" in r for r in routes if r)
    assert delta(REQUESTS, service="assembly", method="POST", route=HOOK, status="200") == 0
    assert after[key("smbridge_database_up")] == 1


# --- queues read from the database --------------------------------------------------------


class RefusingSm:
    def send(self, body: dict[str, Any]) -> SmAnswer:
        return SmAnswer(SmAnswerKind.REFUSED, 422, "invalid transition")


def _count(db: Database, query: Any) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def _notifications(db: Database, state: str) -> int:
    n = sm_notifications
    return _count(db, select(func.count()).select_from(n).where(n.c.state == state))


def _telegram_queued(db: Database) -> int:
    t = telegram_outbox
    return _count(db, select(func.count()).select_from(t).where(t.c.status == "queued"))


def _journal(db: Database, status: str) -> int:
    w = webhook_journal
    return _count(db, select(func.count()).select_from(w).where(w.c.status == status))


@pytest.mark.usefixtures("single_process")
def test_queue_gauges_are_the_numbers_in_the_database(db: Database, settings: Settings) -> None:
    add_store(db)
    t0 = FROZEN_NOW
    with TestClient(create_hook_app(settings, db, clock=FrozenClock())) as hook:
        for sm_id in ("H1", "H2", "H3"):  # each queues an order.accepted for SM
            assert hook.post(HOOK, content=created(sm_id), headers=HEADERS).status_code == 200
        paid = envelope("order.paid", order_payload("H9", paymentState="paid"))
        assert hook.post(HOOK, content=paid, headers=HEADERS).status_code == 202  # parked
        # An unknown store: the order waits for it and operations get a Telegram message.
        assert hook.post(HOOK, content=created("H7", "999"), headers=HEADERS).status_code == 200
        # A store whose time zone is misspelt: the event fails, kept for a replay.
        add_store(db, "998", timezone="Europe/Moskow")
        assert hook.post(HOOK, content=created("H8", "998"), headers=HEADERS).status_code == 202

        with db.unit_of_work() as uow:
            h1, h2 = (
                uow.repo(OrderRepository).by_sm_id("H1"),
                uow.repo(OrderRepository).by_sm_id("H2"),
            )
            assert h1 is not None
            assert h1.id is not None
            assert h2 is not None
            assert h2.id is not None
            h1_id = h1.id
            uow.repo(
                NotificationOutbox
            ).add(  # claimed by a dispatcher that is sending it right now
                Notification(
                    order_id=h2.id,
                    sm_order_id="H2",
                    type="order.in_work",
                    payload={},
                    created_at=t0,
                    state=DeliveryState.SENDING,
                    lease_owner="dispatcher-elsewhere",
                    lease_until=t0 + timedelta(minutes=5),
                )
            )
            # The scheduler's record: two good runs and a failed one, one run going on.
            for minute, error in ((1, None), (2, "ERP timed out"), (3, None)):
                run = uow.repo(JobStore).start_run(
                    "sales_documents", "s1", t0 + timedelta(minutes=minute)
                )
                uow.repo(JobStore).finish_run(
                    run, t0 + timedelta(minutes=minute, seconds=9), {}, error
                )
            uow.repo(JobStore).start_run("monitoring", "s1", t0)
            uow.commit()
        # SM refuses H1's order.accepted: a dead letter (monitoring alerts about it later).
        policy = DispatchPolicy()
        assert (
            Dispatcher(db, RefusingSm(), policy, FrozenClock()).run_once(order_id=h1_id).dead == 1
        )

        first = scrape(hook)
        assert hook.post(HOOK, content=created("H4"), headers=HEADERS).status_code == 200
        second = scrape(hook)

    def gauge(sample: dict[Key, float], name: str, **labels: str) -> float:
        return sample[key(name, **labels)]

    notifications = "smbridge_sm_notifications"
    assert gauge(first, notifications, state="pending") == _notifications(db, "pending") - 1 == 2
    assert gauge(first, notifications, state="sending") == _notifications(db, "sending") == 1
    assert gauge(first, notifications, state="dead") == _notifications(db, "dead") == 1
    assert gauge(second, notifications, state="pending") == 3  # H4's, read at scrape time
    queued = gauge(first, "smbridge_telegram_outbox_messages", status="queued")
    assert queued == _telegram_queued(db) >= 1  # unknown store
    assert gauge(first, "smbridge_webhook_journal_entries", status="parked") == 1
    assert gauge(first, "smbridge_webhook_journal_entries", status="failed") == 1
    assert _journal(db, "parked") == _journal(db, "failed") == 1
    runs = "smbridge_job_runs_total"
    assert gauge(first, runs, job="sales_documents", outcome="ok") == 2
    assert gauge(first, runs, job="sales_documents", outcome="failed") == 1
    assert gauge(first, runs, job="monitoring", outcome="ok") == 0
    assert gauge(first, "smbridge_job_runs_unfinished", job="sales_documents") == 0
    assert gauge(first, "smbridge_job_runs_unfinished", job="monitoring") == 1
    last_ok = "smbridge_job_last_success_timestamp_seconds"
    last = (t0 + timedelta(minutes=3, seconds=9)).timestamp()
    assert gauge(first, last_ok, job="sales_documents") == last
    assert key(last_ok, job="monitoring") not in first


class AcceptingSm:
    def send(self, body: dict[str, Any]) -> SmAnswer:
        return SmAnswer(SmAnswerKind.DELIVERED, 200, "")


OLDEST_NOTIFICATION = "smbridge_sm_notification_oldest_waiting_timestamp_seconds"
OLDEST_TELEGRAM = "smbridge_telegram_outbox_oldest_queued_timestamp_seconds"
DELIVERY = "smbridge_sm_notification_delivery_seconds"


@pytest.mark.usefixtures("single_process")
def test_the_ages_of_the_outbox_and_the_telegram_queue_are_their_oldest_waiting_rows(
    db: Database, settings: Settings
) -> None:
    add_store(db)
    clock = FrozenClock()
    t0 = clock.now
    with TestClient(create_hook_app(settings, db, clock=clock)) as hook:
        empty = scrape(hook)
        assert key(OLDEST_NOTIFICATION) not in empty  # nothing waits: no age at all
        assert key(OLDEST_TELEGRAM) not in empty
        # H1's order.accepted waits from t0; a dead letter, older still, does not count:
        # it waits for a person, not for the dispatcher (smbridge_sm_notifications{dead}).
        assert hook.post(HOOK, content=created("H1"), headers=HEADERS).status_code == 200
        with db.unit_of_work() as uow:
            order = uow.repo(OrderRepository).by_sm_id("H1")
            assert order is not None
            assert order.id is not None
            uow.repo(NotificationOutbox).add(
                Notification(
                    order_id=order.id,
                    sm_order_id="H1",
                    type="order.in_work",
                    payload={},
                    created_at=t0 - timedelta(hours=2),
                    state=DeliveryState.DEAD,
                )
            )
            uow.commit()
        clock.advance(timedelta(minutes=3))  # the unknown store's message is queued later
        assert hook.post(HOOK, content=created("H7", "999"), headers=HEADERS).status_code == 200
        clock.advance(timedelta(minutes=1))
        assert hook.post(HOOK, content=created("H2"), headers=HEADERS).status_code == 200
        waiting = scrape(hook)
    assert _notifications(db, "pending") == 2
    assert waiting[key(OLDEST_NOTIFICATION)] == t0.timestamp()
    assert _telegram_queued(db) >= 1
    assert waiting[key(OLDEST_TELEGRAM)] == (t0 + timedelta(minutes=3)).timestamp()


@pytest.mark.usefixtures("single_process")
def test_the_delivery_time_of_each_notification_is_observed_once_it_is_recorded(
    db: Database, settings: Settings
) -> None:
    add_store(db)
    clock = FrozenClock()
    with TestClient(create_hook_app(settings, db, clock=clock)) as hook:
        assert hook.post(HOOK, content=created("H1"), headers=HEADERS).status_code == 200
        before = scrape(hook)
        clock.advance(timedelta(seconds=42))  # SM took it 42 s after the webhook's commit
        dispatcher = Dispatcher(db, AcceptingSm(), DispatchPolicy(), clock)
        assert dispatcher.run_once().delivered == 1
        after = scrape(hook)

    def delta(name: str, **labels: str) -> float:
        return after[key(name, **labels)] - before.get(key(name, **labels), 0.0)

    assert delta(f"{DELIVERY}_count") == 1
    assert delta(f"{DELIVERY}_sum") == pytest.approx(42)
    assert delta(f"{DELIVERY}_bucket", le="30.0") == 0
    assert delta(f"{DELIVERY}_bucket", le="60.0") == 1
    assert _notifications(db, "delivered") == 1


@pytest.mark.usefixtures("single_process")
def test_a_database_that_does_not_answer_leaves_the_http_metrics(settings: Settings) -> None:
    broken = Database.from_settings(Settings(database_url="sqlite:////nonexistent/dir/x.db"))
    try:
        with TestClient(create_hook_app(settings, broken, clock=FrozenClock())) as hook:
            sample = scrape(hook)
    finally:
        broken.dispose()
    assert sample[key("smbridge_database_up")] == 0
    assert key("smbridge_sm_notifications", state="pending") not in sample
    assert any(name == REQUESTS for name, _ in sample)


# --- multiprocess: one pool, many worker processes ------------------------------------------


@contextmanager
def workers(
    service: str, count: int, database_url: str, multiproc_dir: Path, log_dir: Path
) -> Iterator[tuple[list[str], list[subprocess.Popen[bytes]]]]:
    """``smbridge serve <service>`` processes sharing one multiprocess directory."""
    command = Path(sys.executable).with_name("smbridge")
    env = {
        **os.environ,
        "SMBRIDGE_DATABASE_URL": database_url,
        "SMBRIDGE_HOOK_TOKEN": TOKEN,
        "SMBRIDGE_LOG_LEVEL": "WARNING",
        "SMBRIDGE_SM_BASE_URL": "",  # notifications stay queued
        MULTIPROC_ENV: str(multiproc_dir),
    }
    urls: list[str] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(count):
            port = free_port()
            with (log_dir / f"{service}-{i}.log").open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        [str(command), "serve", service, "--port", str(port)],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            wait_until_up(url + "/healthz", seconds=60)
        yield urls, processes
    finally:
        stop_processes(processes, grace_seconds=30)


@pytest.mark.slow
def test_every_worker_reports_the_requests_of_all_workers(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    add_store(db)
    shared = tmp_path / "prometheus"
    shared.mkdir()
    n, m = 30, 7
    with (
        workers("hook", 3, database_url, shared, tmp_path) as (hook_urls, hook_processes),
        workers("assembly", 2, database_url, shared, tmp_path) as (api_urls, _),
        httpx.Client(timeout=30) as client,
    ):
        served: Tally[str] = Tally()
        for i in range(n):
            url = hook_urls[i % len(hook_urls)]
            answer = client.post(url + HOOK, content=created(f"H{i}"), headers=HEADERS)
            assert answer.status_code == 200, answer.text
            served[url] += 1
        for i in range(m):
            answer = client.post(
                api_urls[i % len(api_urls)] + API + "getActiveOrders",
                json={"requestData": {}},
                headers={"Client-Token": "nobody"},
            )
            assert answer.status_code == 403
        assert len(served) == 3
        assert max(served.values()) < n  # no single worker saw them all

        hook_posts = {"service": "hook", "method": "POST", "route": HOOK}
        api_calls = {"service": "assembly", "method": "POST", "route": API + "getActiveOrders"}
        for url in hook_urls + api_urls:
            sample = scrape(client, url)
            assert sample[key(REQUESTS, **hook_posts, status="200")] == n, url
            assert sample[key(DURATIONS, **hook_posts)] == n, url
            assert sample[key(REQUESTS, **api_calls, status="403")] == m, url
            assert sample[key("smbridge_sm_notifications", state="pending")] == n, url
        for process in hook_processes:  # each worker wrote its own counts
            assert (shared / f"counter_{process.pid}.db").exists()

        # A worker that leaves the pool (SIGTERM, as in a rolling restart) keeps its counts.
        stop_processes(hook_processes[:1])
        assert hook_processes[0].returncode in (0, -signal.SIGTERM)
        assert "Traceback" not in (tmp_path / "hook-0.log").read_text()  # lifespan ended cleanly
        sample = scrape(client, hook_urls[1])
        assert sample[key(REQUESTS, **hook_posts, status="200")] == n
