"""The periodic jobs of SPEC.md: each feature's job at the interval its section sets."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from smbridge.assembly.factory import idempotency_retention
from smbridge.assembly.service import purge_idempotency_keys
from smbridge.intake.acceptance import settle_waiting
from smbridge.intake.failures import AutoReplay, replay_due_failures
from smbridge.intake.service import intake_policy
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.unit_of_work import Database
from smbridge.monitoring.alerts import MonitoringAlertGate
from smbridge.monitoring.service import run_monitoring
from smbridge.sales.service import create_documents, write_export_files
from smbridge.scheduler.runner import Job, JobContext
from smbridge.settings import Settings
from smbridge.telegram.factory import telegram_sender

TELEGRAM, MONITORING, SALES = "telegram_sender", "monitoring", "sales_documents"
WEBHOOK_REPLAY = "webhook_replay"
HOUSEKEEPING = "housekeeping"
WAITING_ORDERS = "waiting_orders"


def build_jobs(settings: Settings, db: Database, clock: Clock) -> list[Job]:
    send = _telegram_job(settings, db, clock)
    return [
        Job(TELEGRAM, timedelta(seconds=settings.job_telegram_seconds), send),
        Job(
            MONITORING,
            timedelta(seconds=settings.job_monitoring_seconds),
            lambda ctx: run_monitoring(ctx.db, ctx.settings, ctx.now),
        ),
        Job(SALES, timedelta(seconds=settings.job_sales_seconds), _sales_documents),
        Job(
            WEBHOOK_REPLAY,
            timedelta(seconds=settings.job_webhook_replay_seconds),
            lambda ctx: replay_due_failures(
                ctx.db, intake_policy(settings), AutoReplay.from_settings(settings), ctx.clock
            ),
        ),
        Job(HOUSEKEEPING, timedelta(seconds=settings.job_housekeeping_seconds), _housekeeping),
        Job(
            WAITING_ORDERS,
            timedelta(seconds=settings.job_waiting_orders_seconds),
            lambda ctx: settle_waiting(ctx.db, intake_policy(ctx.settings), ctx.now),
        ),
    ]


def _telegram_job(settings: Settings, db: Database, clock: Clock) -> Any:
    # One sender, so one rate limiter, for the scheduler's life: Telegram's windows span runs.
    sender = telegram_sender(settings, db, clock, MonitoringAlertGate())
    if sender is None:
        return lambda _ctx: {"skipped": 1}  # no bot yet: messages wait in the queue
    return lambda _ctx: sender.run().as_dict()


def _housekeeping(ctx: JobContext) -> dict[str, Any]:
    retention = idempotency_retention(ctx.settings)
    return {"idempotency_keys_purged": purge_idempotency_keys(ctx.db, ctx.now, retention)}


def _sales_documents(ctx: JobContext) -> dict[str, Any]:
    counts: dict[str, Any] = create_documents(ctx.db, ctx.clock, stop=ctx.stop).as_dict()
    if ctx.settings.sales_export_dir:
        counts["files"] = write_export_files(ctx.db, Path(ctx.settings.sales_export_dir), ctx.clock)
    return counts
