"""Benchmark: Telegram sender throughput against the Bot API emulator, Telegram's limits
enforced on both sides (30 msg/s per bot, 1/s per private chat, 20/min per group).

    .venv/bin/python -m bench.telegram_throughput [--messages 900] [--chats 60]

Prints one table. Target: 30 msg/s sustained, 0 answers 429.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import uvicorn
from rich.console import Console
from rich.table import Table
from tests.support.environment import free_port, throwaway_database, wait_until_up

from smbridge.domain.telegram import OutgoingMessage
from smbridge.emulators.telegram.app import create_app
from smbridge.emulators.telegram.bot import TelegramEmulator
from smbridge.kernel.clock import utc_now
from smbridge.kernel.database import migrations
from smbridge.kernel.database.unit_of_work import Database
from smbridge.monitoring.alerts import MonitoringAlertGate
from smbridge.settings import Settings
from smbridge.telegram.bot_client import TelegramClient
from smbridge.telegram.limits import RateLimiter, TelegramLimits
from smbridge.telegram.outbox import TelegramOutbox
from smbridge.telegram.sender import SendCounts, SenderPolicy, TelegramSender


@contextmanager
def emulator() -> Iterator[tuple[TelegramEmulator, str]]:
    bot = TelegramEmulator("BENCH")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(bot), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/healthz")
    try:
        yield bot, url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def measure(kind: str, messages: int, chats: int) -> dict[str, float]:
    with throwaway_database(kind) as url, emulator() as (bot, api):
        db = Database.from_settings(Settings(database_url=url))
        migrations.upgrade(db.engine)
        with db.unit_of_work() as uow:
            for n in range(messages):
                uow.repo(TelegramOutbox).add(
                    OutgoingMessage(
                        text=f"Заказ №{n}: проверка очереди",
                        created_at=datetime.now(UTC),
                        chat_id=str(10_000 + n % chats),
                    )
                )
            uow.commit()
        client = TelegramClient(api, "BENCH")
        sender = TelegramSender(
            db,
            client,
            RateLimiter(TelegramLimits()),
            SenderPolicy(budget=timedelta(seconds=8)),
            alerts=MonitoringAlertGate(),
            clock=utc_now,
        )
        total = SendCounts()
        started = time.perf_counter()
        while total.sent < messages:  # the scheduler would call it every 10 s; back to back
            counts = sender.run()
            total.sent += counts.sent
            total.waited_429 += counts.waited_429
        elapsed = time.perf_counter() - started
        client.close()
        db.dispose()
        stats = bot.stats()
    return {
        "elapsed": elapsed,
        "rate": messages / elapsed,
        "ours_429": total.waited_429,
        "emulator_429": stats["rejected"].get("429", 0),
        "max_per_second": stats["max_per_second"],
        "max_per_chat": stats["max_per_second_any_chat"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=900)
    parser.add_argument("--chats", type=int, default=60)
    args = parser.parse_args()
    table = Table(
        title=f"Telegram sender: {args.messages} messages to {args.chats} private "
        "chats, limits 30/s per bot and 1/s per chat"
    )
    for column in (
        "database",
        "seconds",
        "msg/s sustained",
        "429 answers",
        "max msg/s seen",
        "max msg/s one chat",
        "target",
    ):
        table.add_column(column)
    for kind in ("sqlite", "postgresql"):
        r = measure(kind, args.messages, args.chats)
        table.add_row(
            kind,
            f"{r['elapsed']:.1f}",
            f"{r['rate']:.1f}",
            f"{int(r['emulator_429'])}",
            f"{r['max_per_second']}",
            f"{r['max_per_chat']}",
            "30 msg/s, 0 × 429",
        )
    Console(width=130).print(table)


if __name__ == "__main__":
    main()
