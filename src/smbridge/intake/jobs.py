"""The hook's scheduled jobs: replay failed events, settle orders waiting for their store."""

from __future__ import annotations

from datetime import timedelta

from smbridge.intake.acceptance import settle_waiting
from smbridge.intake.failures import AutoReplay, replay_due_failures
from smbridge.intake.service import intake_policy
from smbridge.intake.settings import IntakeSettings
from smbridge.scheduler.runner import Job

WEBHOOK_REPLAY = "webhook_replay"
WAITING_ORDERS = "waiting_orders"


def webhook_replay_job(settings: IntakeSettings) -> Job:
    policy, retry = intake_policy(settings), AutoReplay.from_settings(settings)
    return Job(
        WEBHOOK_REPLAY,
        timedelta(seconds=settings.job_webhook_replay_seconds),
        lambda ctx: replay_due_failures(ctx.db, policy, retry, ctx.clock),
    )


def waiting_orders_job(settings: IntakeSettings) -> Job:
    policy = intake_policy(settings)
    return Job(
        WAITING_ORDERS,
        timedelta(seconds=settings.job_waiting_orders_seconds),
        lambda ctx: settle_waiting(ctx.db, policy, ctx.now),
    )
