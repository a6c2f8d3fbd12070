"""Prometheus metrics of the web services, served at ``/metrics``.

HTTP traffic is counted in the worker process by a plain ASGI middleware. With
``PROMETHEUS_MULTIPROC_DIR`` set (the launcher gives every machine one directory, shared by
all workers of both pools) the values live in files there, and any worker's ``/metrics``
reports the sum over all of them; the ``service`` label tells the pools apart. Queue depths,
dead letters and job runs are read from the database at scrape time, so every worker on
every machine reports the same, current numbers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import structlog
from fastapi import FastAPI
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smbridge.domain.notification import DeliveryState
from smbridge.domain.telegram import MessageStatus
from smbridge.domain.webhook import JournalStatus
from smbridge.kernel.database.errors import DatabaseUnavailable, WriteConflict
from smbridge.kernel.database.unit_of_work import Database
from smbridge.metrics import multiprocess_files
from smbridge.metrics.queries import MetricsQueries, StatusCounts

log = structlog.get_logger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
OTHER = "other"  # the route of a path no route matched; also an unusual HTTP method
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "smbridge_http_requests",
    "HTTP requests answered, by service, method, route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "smbridge_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

# The states that wait or need someone; delivered, superseded, applied and ignored rows
# are history and are not counted (their tables only grow).
_NOTIFICATION_STATES = (DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.DEAD)
_JOURNAL_STATES = (JournalStatus.PARKED, JournalStatus.FAILED)
_WAITING_STATES = (DeliveryState.PENDING, DeliveryState.SENDING)  # the outbox's age


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class HttpMetricsMiddleware:
    """Count and time every HTTP request; ``route`` is the matched route's template."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self._app = app
        self._service = service
        # Bound children by label values: a dict lookup per request instead of labels().
        self._counters: dict[tuple[str, str, str], Counter] = {}
        self._timers: dict[tuple[str, str], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_noting_status)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else OTHER
        route = scope.get("route")
        template = route.path if isinstance(route, Route) else OTHER
        key = (method, template, str(status))
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = HTTP_REQUESTS.labels(self._service, *key)
        counter.inc()
        timer = self._timers.get(key[:2])
        if timer is None:
            timer = self._timers[key[:2]] = HTTP_DURATION.labels(self._service, *key[:2])
        timer.observe(seconds)


class DatabaseCollector:
    """Queue depths and ages, dead letters and job runs, read in the database at scrape time.

    Counts only the indexed, small sets (what waits or failed), in one read-only
    transaction that takes no SQLite write lock.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "smbridge_database_up", "1 when the database answered this scrape's queries."
        )
        try:
            metrics = self._read()
        except (SQLAlchemyError, DatabaseUnavailable, WriteConflict) as exc:
            log.warning("metrics.database_unavailable", error=type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _read(self) -> list[Metric]:
        notifications = GaugeMetricFamily(
            "smbridge_sm_notifications",
            "Notifications to SM in the outbox by state: pending (waiting for their turn or "
            "next attempt), sending (claimed by a dispatcher), dead (dead letters).",
            labels=["state"],
        )
        telegram = GaugeMetricFamily(
            "smbridge_telegram_outbox_messages",
            "Telegram messages in the outgoing queue by status.",
            labels=["status"],
        )
        journal = GaugeMetricFamily(
            "smbridge_webhook_journal_entries",
            "Journaled SM webhooks waiting for their order (parked) or not applied (failed).",
            labels=["status"],
        )
        runs = CounterMetricFamily(
            "smbridge_job_runs",
            "Finished runs of each scheduled job by outcome (ok, failed).",
            labels=["job", "outcome"],
        )
        unfinished = GaugeMetricFamily(
            "smbridge_job_runs_unfinished",
            "Runs of each job without an end: running now, or cut off by a crash.",
            labels=["job"],
        )
        last_ok = GaugeMetricFamily(
            "smbridge_job_last_success_timestamp_seconds",
            "When each job last finished without an error (Unix time).",
            labels=["job"],
        )
        oldest_notification = GaugeMetricFamily(
            "smbridge_sm_notification_oldest_waiting_timestamp_seconds",
            "When the oldest notification to SM not yet delivered (pending or sending) was "
            "made (Unix time); absent when none waits.",
        )
        oldest_telegram = GaugeMetricFamily(
            "smbridge_telegram_outbox_oldest_queued_timestamp_seconds",
            "When the oldest Telegram message still queued was queued (Unix time); absent "
            "when none waits.",
        )
        with self._db.unit_of_work(read_only=True) as uow:
            statuses, figures = uow.repo(StatusCounts), uow.repo(MetricsQueries)
            by_state = statuses.notifications(only=_NOTIFICATION_STATES)
            by_status = statuses.telegram_queue()
            journaled = statuses.webhooks(only=_JOURNAL_STATES)
            job_rows = figures.job_runs()
            waiting_since = figures.oldest_waiting_notification(_WAITING_STATES)
            queued_since = figures.oldest_queued_telegram()
        # Timestamps, not ages: the scrape reads no clock, Prometheus has one (time() - x).
        if waiting_since is not None:
            oldest_notification.add_metric([], waiting_since.timestamp())
        if queued_since is not None:
            oldest_telegram.add_metric([], queued_since.timestamp())
        for state in _NOTIFICATION_STATES:
            notifications.add_metric([state.value], by_state.pop(state.value, 0))
        by_status.setdefault(MessageStatus.QUEUED.value, 0)
        for status, count in sorted(by_status.items()):
            telegram.add_metric([status], count)
        for status in _JOURNAL_STATES:
            journal.add_metric([status.value], journaled.get(status.value, 0))
        jobs: dict[str, dict[str, int]] = {}
        for row in job_rows:
            jobs.setdefault(row.job, {"ok": 0, "failed": 0, "unfinished": 0})[row.outcome] = (
                row.count
            )
            if row.outcome == "ok" and row.last_finished_at is not None:
                last_ok.add_metric([row.job], row.last_finished_at.timestamp())
        for job, counts in jobs.items():
            runs.add_metric([job, "ok"], counts["ok"])
            runs.add_metric([job, "failed"], counts["failed"])
            unfinished.add_metric([job], counts["unfinished"])
        return [
            notifications,
            telegram,
            journal,
            runs,
            unfinished,
            last_ok,
            oldest_notification,
            oldest_telegram,
        ]


class _ProcessMetrics:
    """This process's own registry (HTTP metrics, process and GC stats)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(db: Database) -> bytes:
    """The text of one scrape (blocking: reads files and the database)."""
    registry = CollectorRegistry()
    path = multiprocess_dir()
    if path:
        multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ProcessMetrics())
    registry.register(DatabaseCollector(db))
    if not path:
        return generate_latest(registry)
    with multiprocess_files.locked(path, exclusive=False):  # no process is retired meanwhile
        return generate_latest(registry)


def install_metrics(app: FastAPI, service: str, db: Database) -> None:
    """Count the app's requests and serve ``GET /metrics`` (not part of the API schema)."""
    path = multiprocess_dir()
    if path:  # a missing directory would fail every request's count: make it
        os.makedirs(path, exist_ok=True)
        # the files of processes that died without retiring (killed, crashed)
        multiprocess_files.retire_dead(path)
    app.add_middleware(HttpMetricsMiddleware, service=service)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body = await run_in_threadpool(exposition, db)
        return Response(body, media_type=CONTENT_TYPE)


def worker_exiting() -> None:
    """At a worker's shutdown: remove its files, its counts added to the archive (they stay
    in the sums)."""
    path = multiprocess_dir()
    if path:
        multiprocess_files.retire_process(path, os.getpid())
