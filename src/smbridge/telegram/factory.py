"""Building the Telegram sender from its settings (the scheduler runs it as a job)."""

from __future__ import annotations

from datetime import timedelta

from smbridge.kernel.clock import Clock
from smbridge.kernel.database.unit_of_work import Database
from smbridge.telegram.bot_client import TelegramClient
from smbridge.telegram.limits import RateLimiter, TelegramLimits
from smbridge.telegram.sender import AlertGate, SenderPolicy, TelegramSender
from smbridge.telegram.settings import TelegramSettings


def telegram_limits(settings: TelegramSettings) -> TelegramLimits:
    return TelegramLimits(
        settings.telegram_per_second,
        settings.telegram_private_per_second,
        settings.telegram_group_per_minute,
    )


def sender_policy(settings: TelegramSettings) -> SenderPolicy:
    return SenderPolicy(
        operations_chat_id=settings.operations_chat_id or None,
        # a run ends before the next one is due
        budget=timedelta(seconds=max(1.0, settings.job_telegram_seconds - 2)),
    )


def telegram_sender(
    settings: TelegramSettings, db: Database, clock: Clock, alerts: AlertGate
) -> TelegramSender | None:
    """None while the bot has no token: messages then wait in the queue."""
    token = settings.telegram_bot_token.get_secret_value()
    if not token:
        return None
    return TelegramSender(
        db,
        TelegramClient(settings.telegram_api_url, token),
        RateLimiter(telegram_limits(settings)),
        sender_policy(settings),
        alerts=alerts,
        clock=clock,
    )
