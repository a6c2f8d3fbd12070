"""Monitoring's scheduled job: look at the orders and queues, alert in Telegram."""

from __future__ import annotations

from datetime import timedelta

from smbridge.monitoring.service import run_monitoring
from smbridge.monitoring.settings import MonitoringSettings
from smbridge.scheduler.runner import Job

MONITORING = "monitoring"


def monitoring_job(settings: MonitoringSettings) -> Job:
    return Job(
        MONITORING,
        timedelta(seconds=settings.job_monitoring_seconds),
        lambda ctx: run_monitoring(ctx.db, settings, ctx.now),
    )
