"""The assembly API's scheduled job: forget old requestId answers (housekeeping)."""

from __future__ import annotations

from datetime import timedelta

from smbridge.assembly.factory import idempotency_retention
from smbridge.assembly.service import purge_idempotency_keys
from smbridge.assembly.settings import AssemblySettings
from smbridge.scheduler.runner import Job

HOUSEKEEPING = "housekeeping"


def housekeeping_job(settings: AssemblySettings) -> Job:
    retention = idempotency_retention(settings)
    return Job(
        HOUSEKEEPING,
        timedelta(seconds=settings.job_housekeeping_seconds),
        lambda ctx: {"idempotency_keys_purged": purge_idempotency_keys(ctx.db, ctx.now, retention)},
    )
