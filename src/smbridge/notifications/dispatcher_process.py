"""``smbridge dispatcher``: drains the SM notification outbox until stopped."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import structlog

from smbridge.kernel.clock import utc_now
from smbridge.kernel.database.unit_of_work import Database
from smbridge.notifications.factory import dispatcher
from smbridge.notifications.settings import NotificationSettings

log = structlog.get_logger(__name__)


def run_dispatcher(settings: NotificationSettings, db: Database, stop: threading.Event) -> None:
    """Send whatever is due; when nothing is, look again after the poll interval."""
    worker = dispatcher(settings, db, utc_now)
    if worker is None:
        log.warning("dispatcher.no_sm_address", hint="set SMBRIDGE_SM_BASE_URL")
        stop.wait()
        return
    log.info("dispatcher.started", owner=worker.owner)
    with ThreadPoolExecutor(settings.dispatch_threads, thread_name_prefix="notify") as pool:
        while not stop.is_set():
            try:
                counts = worker.run_once(pool)
            except Exception as exc:
                log.error("dispatcher.run_failed", error=f"{type(exc).__name__}: {exc}")
                counts = None
            if counts is None or counts.total == 0:
                stop.wait(settings.dispatch_poll_seconds)
