"""The data lifecycle's scheduled job: the retention purge."""

from __future__ import annotations

from datetime import timedelta

from smbridge.lifecycle.service import Retention, purge
from smbridge.lifecycle.settings import RetentionSettings
from smbridge.scheduler.runner import Job

RETENTION = "retention"


def retention_job(settings: RetentionSettings) -> Job:
    retention = Retention.from_settings(settings)
    return Job(
        RETENTION,
        timedelta(seconds=settings.job_retention_seconds),
        lambda ctx: dict(purge(ctx.db, ctx.now, retention, ctx.stop)),
    )
