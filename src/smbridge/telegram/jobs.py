"""The Telegram sender's scheduled job."""

from __future__ import annotations

from datetime import timedelta

from smbridge.kernel.clock import Clock
from smbridge.kernel.database.unit_of_work import Database
from smbridge.scheduler.runner import Job
from smbridge.telegram.factory import telegram_sender
from smbridge.telegram.sender import AlertGate
from smbridge.telegram.settings import TelegramSettings

TELEGRAM = "telegram_sender"


def telegram_job(settings: TelegramSettings, db: Database, clock: Clock, alerts: AlertGate) -> Job:
    interval = timedelta(seconds=settings.job_telegram_seconds)
    # One sender, so one rate limiter, for the scheduler's life: Telegram's windows span runs.
    sender = telegram_sender(settings, db, clock, alerts)
    if sender is None:  # no bot yet: messages wait in the queue
        return Job(TELEGRAM, interval, lambda _ctx: {"skipped": 1})
    return Job(TELEGRAM, interval, lambda _ctx: sender.run().as_dict())
