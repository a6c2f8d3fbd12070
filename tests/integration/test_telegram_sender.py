"""The Telegram sender on real databases, against a scripted Bot API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from smbridge.domain.telegram import OutgoingMessage
from smbridge.kernel.database.tables import telegram_archive, telegram_outbox
from smbridge.kernel.database.unit_of_work import Database
from smbridge.monitoring.alerts import MonitoringAlertGate
from smbridge.telegram.bot_client import TelegramClient
from smbridge.telegram.limits import RateLimiter, TelegramLimits
from smbridge.telegram.outbox import TelegramOutbox
from smbridge.telegram.sender import NO_CHAT_PREFIX, SenderPolicy, TelegramSender

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class Bot:
    """A scripted Bot API: answers by chat (default: ok), records what it accepted."""

    def __init__(self) -> None:
        self.accepted: list[tuple[str, str]] = []
        self.script: dict[str, list[tuple[int, dict[str, object]]]] = {}
        self.calls = 0

    def answer(self, chat: str, status: int, body: dict[str, object]) -> None:
        self.script.setdefault(chat, []).append((status, body))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        assert request.url.path == "/botBOT-TOKEN/sendMessage"
        sent = json.loads(request.content)
        assert sent["parse_mode"] == "HTML"
        chat = str(sent["chat_id"])
        if self.script.get(chat):
            status, body = self.script[chat].pop(0)
            return httpx.Response(status, json=body)
        self.accepted.append((chat, sent["text"]))
        return httpx.Response(200, json={"ok": True, "result": {"message_id": len(self.accepted)}})


class Clock:
    def __init__(self) -> None:
        self.wall = T0
        self.mono = 1000.0
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


def sender(
    db: Database, bot: Bot, clock: Clock, limits: TelegramLimits | None = None
) -> TelegramSender:
    client = TelegramClient(
        "https://tg.test",
        "BOT-TOKEN",
        http=httpx.Client(base_url="https://tg.test", transport=httpx.MockTransport(bot)),
    )
    limiter = RateLimiter(limits or TelegramLimits(), clock=clock.monotonic)
    return TelegramSender(
        db,
        client,
        limiter,
        SenderPolicy(operations_chat_id="-900"),
        alerts=MonitoringAlertGate(),
        clock=clock.now,
        sleep=clock.sleep,
    )


def queue(db: Database, *messages: tuple[str | None, str]) -> None:
    with db.unit_of_work() as uow:
        for chat, text in messages:
            uow.repo(TelegramOutbox).add(OutgoingMessage(text=text, created_at=T0, chat_id=chat))
        uow.commit()


def archive(db: Database) -> list[tuple[str | None, str, str]]:
    with db.engine.connect() as c:
        rows = c.execute(
            select(
                telegram_archive.c.chat_id, telegram_archive.c.status, telegram_archive.c.text
            ).order_by(telegram_archive.c.id)
        )
        return [(r.chat_id, r.status, r.text) for r in rows]


def queued(db: Database) -> list[str]:
    with db.engine.connect() as c:
        return list(
            c.execute(select(telegram_outbox.c.text).order_by(telegram_outbox.c.id)).scalars()
        )


def test_messages_go_oldest_first_and_move_to_the_archive(db: Database) -> None:
    bot, clock = Bot(), Clock()
    queue(db, ("-1", "первое"), ("-2", "второе <b> & co"), ("-1", "третье"))
    counts = sender(db, bot, clock).run()
    assert (counts.sent, counts.failed, counts.left) == (3, 0, 0)
    assert bot.accepted == [("-1", "первое"), ("-2", "второе &lt;b&gt; &amp; co"), ("-1", "третье")]
    assert [s for _, s, _ in archive(db)] == ["sent"] * 3
    assert queued(db) == []


def test_429_waits_retry_after_outside_the_run_and_keeps_the_chats_order(db: Database) -> None:
    bot, clock = Bot(), Clock()
    bot.answer("-1", 429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 30}})
    queue(db, ("-1", "старое"), ("-2", "другой чат"), ("-1", "новое"))
    counts = sender(db, bot, clock).run()
    assert (counts.sent, counts.waited_429) == (1, 1)
    assert bot.accepted == [("-2", "другой чат")]  # "новое" did not jump the queue
    assert clock.slept == []  # nobody slept through the 30 s
    assert queued(db) == ["старое", "новое"]

    clock.advance(31)
    sender(db, bot, clock).run()
    assert bot.accepted[1:] == [("-1", "старое"), ("-1", "новое")]
    assert queued(db) == []


def test_server_errors_are_retried_later(db: Database) -> None:
    bot, clock = Bot(), Clock()
    bot.answer("5", 502, {"ok": False, "description": "Bad Gateway"})
    queue(db, ("5", "привет"))
    assert sender(db, bot, clock).run().retried == 1
    assert queued(db) == ["привет"]
    assert sender(db, bot, clock).run().sent == 0  # still in its backoff
    clock.advance(15)
    assert sender(db, bot, clock).run().sent == 1


@pytest.mark.parametrize(
    ("status", "description"),
    [(400, "Bad Request: chat not found"), (403, "Forbidden: bot was blocked by the user")],
)
def test_permanent_errors_are_archived_and_raised_to_operations(
    db: Database, status: int, description: str
) -> None:
    bot, clock = Bot(), Clock()
    bot.answer("77", status, {"ok": False, "description": description})
    queue(db, ("77", "сборщику"))
    assert sender(db, bot, clock).run().failed == 1
    assert archive(db)[0][:2] == ("77", "failed")
    (alert,) = queued(db)
    assert "77" in alert
    assert description in alert
    sender(db, bot, clock).run()
    assert bot.accepted[-1][0] == "-900"


def test_a_message_without_a_chat_goes_to_operations(db: Database) -> None:
    bot, clock = Bot(), Clock()
    queue(db, (None, "магазин без чата"))
    sender(db, bot, clock).run()
    assert bot.accepted == [("-900", NO_CHAT_PREFIX.replace("\n", "\n") + "магазин без чата")]


def test_long_texts_go_in_parts_and_a_crash_resumes_after_the_last_part(db: Database) -> None:
    bot, clock = Bot(), Clock()
    text = "\n".join(f"строка {n} " + "х" * 90 for n in range(120))  # ~12,000 characters
    queue(db, ("9", text))
    original: Callable[[httpx.Request], httpx.Response] = bot.__call__

    def dies_on_second_part(request: httpx.Request) -> httpx.Response:
        if len(bot.accepted) == 1:
            raise RuntimeError("power cut")
        return original(request)

    crashing = sender(db, bot, clock)
    crashing._client._http._transport = httpx.MockTransport(dies_on_second_part)
    with pytest.raises(RuntimeError):
        crashing.run()
    assert len(bot.accepted) == 1

    clock.advance(2)
    sender(db, bot, clock).run()
    parts = [t for _, t in bot.accepted]
    assert len(parts) == 3
    assert all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text  # nothing lost, nothing sent twice
    assert queued(db) == []


def test_limits_are_kept_per_private_chat_and_per_group(db: Database) -> None:
    bot, clock = Bot(), Clock()
    queue(db, *[("5", f"л{n}") for n in range(3)])
    sender(db, bot, clock).run()
    assert len(bot.accepted) == 3
    assert clock.slept == [1.0, 1.0]  # 1 message a second to one private chat

    queue(db, *[("-5", f"г{n}") for n in range(21)])
    counts = sender(db, bot, clock, TelegramLimits(group_per_minute=20)).run()
    assert (counts.sent, counts.left) == (20, 1)  # the 21st waits for the next minute
