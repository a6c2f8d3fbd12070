"""``smbridge emulate telegram``: run the Telegram Bot API emulator as its own process."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import structlog
import typer
import uvicorn

from smbridge.emulators.telegram.app import create_app
from smbridge.emulators.telegram.bot import TelegramEmulator
from smbridge.emulators.telegram.limits import BotLimits
from smbridge.kernel.logs import configure_logging
from smbridge.settings import get_settings

log = structlog.get_logger(__name__)

#: How uvicorn reports an answer the app started and never finished (``fail drop``).
_DROPPED_ANSWER_LOG_LINE = "ASGI callable returned without completing response."


class _HideDeliberateDrops(logging.Filter):
    """uvicorn reports a deliberately dropped answer as an error; that is the point here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROPPED_ANSWER_LOG_LINE


def emulate_telegram(  # noqa: PLR0917 - one parameter per CLI option
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port of the emulated api.telegram.org")] = 9100,
    token: Annotated[
        str, typer.Option(help="the bot token it accepts", envvar="SMBRIDGE_TELEGRAM_BOT_TOKEN")
    ] = "test-bot-token",  # noqa: S107
    global_per_second: Annotated[
        int, typer.Option(help="messages per second for the bot overall")
    ] = 30,
    private_per_second: Annotated[
        int, typer.Option(help="messages per second to one private chat")
    ] = 1,
    group_per_minute: Annotated[int, typer.Option(help="messages per minute to one group")] = 20,
    state_file: Annotated[
        Path | None,
        typer.Option(help="JSON-lines file of accepted messages, loaded at start"),
    ] = None,
) -> None:
    """Behave like the Telegram Bot API (sendMessage): limits, errors, a record of messages."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    logging.getLogger("uvicorn.error").addFilter(_HideDeliberateDrops())
    emulator = TelegramEmulator(
        token,
        BotLimits(global_per_second, private_per_second, group_per_minute),
        state_file=state_file,
    )
    log.info("telegram_emulator.start", host=host, port=port, limits=asdict(emulator.limits))
    uvicorn.run(create_app(emulator), host=host, port=port, log_level="warning", access_log=False)
    stats = emulator.stats()
    log.info(
        "telegram_emulator.stop",
        accepted=stats["accepted"],
        rejected=stats["rejected_total"],
        max_per_second=stats["max_per_second"],
    )
