"""No Telegram message is lost or duplicated through a 429 storm and an emulator restart."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import uvicorn
from sqlalchemy import func, select

from smbridge.domain.notification import RetryPolicy
from smbridge.domain.telegram import OutgoingMessage
from smbridge.emulators.telegram.app import create_app
from smbridge.emulators.telegram.bot import TelegramEmulator
from smbridge.emulators.telegram.limits import BotLimits
from smbridge.kernel.database.tables import telegram_archive, telegram_outbox
from smbridge.kernel.database.unit_of_work import Database
from smbridge.monitoring.alerts import MonitoringAlertGate
from smbridge.telegram.bot_client import TelegramClient
from smbridge.telegram.limits import RateLimiter, TelegramLimits
from smbridge.telegram.outbox import TelegramOutbox
from smbridge.telegram.sender import SenderPolicy, TelegramSender
from tests.support.clock import FROZEN_NOW, RunningClock
from tests.support.environment import free_port, wait_until_up

CHATS = ["101", "102", "103", "104", "105", "-200"]
PER_CHAT = 12  # at one a second per private chat, the test's floor is PER_CHAT seconds
# The chats take turns, but the first private chat's first two messages lead: at one a
# second to a private chat the second is refused with 429 unless a send took a second.
# (At 5 a second per chat with turns alone it needed 30 sends a second: a slow box missed it.)
LEAD = [(CHATS[0], 0), (CHATS[0], 1)]
QUEUE = LEAD + [(c, n) for n in range(PER_CHAT) for c in CHATS if (c, n) not in LEAD]


@contextmanager
def telegram(port: int, state: Path) -> Iterator[TelegramEmulator]:
    emulator = TelegramEmulator(
        "BOT",
        BotLimits(global_per_second=40, private_per_second=1, group_per_minute=60),
        state_file=state,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(emulator), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until_up(f"http://127.0.0.1:{port}/healthz")
    try:
        yield emulator
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_every_message_arrives_exactly_once(db: Database, tmp_path: Path) -> None:
    now = FROZEN_NOW
    with db.unit_of_work() as uow:
        for chat, n in QUEUE:
            uow.repo(TelegramOutbox).add(
                OutgoingMessage(text=f"{chat}:{n}", created_at=now, chat_id=chat)
            )
        uow.commit()
    port, state = free_port(), tmp_path / "telegram.jsonl"
    # Our own limiter is set far above the emulator's limits: it will answer 429, often.
    client = TelegramClient(f"http://127.0.0.1:{port}", "BOT", timeout=2)
    sender = TelegramSender(
        db,
        client,
        RateLimiter(
            TelegramLimits(per_second=1000, private_per_second=1000, group_per_minute=10_000)
        ),
        SenderPolicy(
            budget=timedelta(seconds=2),
            retry=RetryPolicy(
                first_delay=timedelta(milliseconds=200),
                max_delay=timedelta(seconds=1),
                max_attempts=100,
            ),
        ),
        alerts=MonitoringAlertGate(),
        clock=RunningClock(),  # its backoffs pass in real time
    )

    with telegram(port, state) as first:
        _send_until(sender, db, lambda: len(first.messages()) >= 40, seconds=60)
        storm = first.stats()["rejected"].get("429", 0)
    _send_until(sender, db, lambda: False, seconds=1.5)  # Telegram is down meanwhile
    with telegram(port, state) as second:
        _send_until(sender, db, lambda: _queued(db) == 0, seconds=120)
        received = [m["text"] for m in second.messages()]
    client.close()

    total = len(CHATS) * PER_CHAT
    assert storm > 0  # the 429 storm really happened
    assert Counter(received).most_common(1)[0][1] == 1  # nothing twice
    assert len(received) == total  # nothing lost (the first emulator's part from its file)
    with db.engine.connect() as c:
        archived = c.execute(
            select(func.count())
            .select_from(telegram_archive)
            .where(telegram_archive.c.status == "sent")
        ).scalar_one()
    assert archived == total
    for chat in CHATS:  # and each chat got its messages in order
        mine = [int(t.split(":")[1]) for t in received if t.startswith(f"{chat}:")]
        assert mine == sorted(mine)


def _send_until(sender: TelegramSender, db: Database, done: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not done() and _queued(db):  # type: ignore[operator]
        sender.run()
        time.sleep(0.05)


def _queued(db: Database) -> int:
    with db.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(telegram_outbox)).scalar_one())
