"""The Telegram sender's settings section."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr

from smbridge.kernel.settings import Duration, OperationsSettings, PositiveInt, secret, setting


class TelegramSettings(OperationsSettings):
    heading: ClassVar[str] = "Telegram: messages to stores, pickers and operations"

    telegram_api_url: str = setting(
        "https://api.telegram.org",
        "Telegram Bot API (the test stand points it at the emulator)",
    )
    telegram_bot_token: SecretStr = secret(
        "the bot's token from @BotFather; empty: messages wait in the queue"
    )
    telegram_per_second: PositiveInt = setting(
        30, "messages per second for the bot overall (Telegram's limit)"
    )
    telegram_private_per_second: PositiveInt = setting(1, "messages per second to one private chat")
    telegram_group_per_minute: PositiveInt = setting(20, "messages per minute to one group chat")
    job_telegram_seconds: Duration = setting(10, "how often the Telegram sender runs, seconds")
