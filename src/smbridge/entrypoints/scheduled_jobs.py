"""The scheduler process's jobs (SPEC.md): each feature's job, built from its section."""

from __future__ import annotations

from smbridge.assembly.jobs import housekeeping_job
from smbridge.intake.jobs import waiting_orders_job, webhook_replay_job
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.unit_of_work import Database
from smbridge.lifecycle.jobs import retention_job
from smbridge.monitoring.alerts import MonitoringAlertGate
from smbridge.monitoring.jobs import monitoring_job
from smbridge.reports.jobs import report_rollup_job
from smbridge.sales.jobs import sales_documents_job
from smbridge.scheduler.runner import Job
from smbridge.settings import Settings
from smbridge.telegram.jobs import telegram_job


def build_jobs(settings: Settings, db: Database, clock: Clock) -> list[Job]:
    return [
        telegram_job(settings, db, clock, MonitoringAlertGate()),
        monitoring_job(settings),
        sales_documents_job(settings),
        webhook_replay_job(settings),
        housekeeping_job(settings),
        waiting_orders_job(settings),
        report_rollup_job(settings),
        retention_job(settings),
    ]
