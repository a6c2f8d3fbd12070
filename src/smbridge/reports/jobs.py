"""The reports' scheduled job: roll up the settled days of the all-stores reports."""

from __future__ import annotations

from datetime import timedelta

from smbridge.reports.rollup import roll_up
from smbridge.reports.settings import ReportSettings
from smbridge.scheduler.runner import Job

REPORT_ROLLUP = "report_rollup"


def report_rollup_job(settings: ReportSettings) -> Job:
    return Job(
        REPORT_ROLLUP,
        timedelta(seconds=settings.job_report_rollup_seconds),
        lambda ctx: roll_up(ctx.db, ctx.now, stop=ctx.stop),
    )
