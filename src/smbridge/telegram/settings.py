"""The Telegram sender's settings section."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from smbridge.kernel.settings import OperationsSettings


class TelegramSettings(OperationsSettings):
    heading: ClassVar[str] = "Telegram: messages to stores, pickers and operations"

    telegram_api_url: str = Field(
        default="https://api.telegram.org",
        description="Telegram Bot API (the test stand points it at the emulator)",
    )
    telegram_bot_token: SecretStr = Field(
        default=SecretStr(""),
        description="the bot's token from @BotFather; empty: messages wait in the queue",
    )
    telegram_per_second: int = Field(
        default=30, ge=1, description="messages per second for the bot overall (Telegram's limit)"
    )
    telegram_private_per_second: int = Field(
        default=1, ge=1, description="messages per second to one private chat"
    )
    telegram_group_per_minute: int = Field(
        default=20, ge=1, description="messages per minute to one group chat"
    )
    job_telegram_seconds: float = Field(
        default=10, gt=0, description="how often the Telegram sender runs, seconds"
    )
