"""The Telegram sender: outgoing queue → Bot API → archive, oldest first, within limits.

A message is archived in the same transaction that records its last part as sent. If the
process dies after Telegram accepted a part but before that commit, the part is sent again
on the next run: a crash costs at most one duplicate part per message in flight (one
message at a time is in flight), never a lost message.

A monitoring alert is checked just before it is sent: one about a problem that has
cleared meanwhile is archived as dropped instead. Whether an alert is still news is
monitoring's knowledge; the sender asks it through the ``AlertGate`` it is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from smbridge.domain.notification import RetryPolicy
from smbridge.domain.telegram import MessageStatus, OutgoingMessage
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork
from smbridge.telegram.bot_client import TelegramAnswer, TelegramAnswerKind, TelegramClient
from smbridge.telegram.formatting import split_for_telegram, to_html
from smbridge.telegram.limits import RateLimiter
from smbridge.telegram.outbox import TelegramOutbox

log = structlog.get_logger(__name__)

NO_CHAT_PREFIX = "Чат для этого сообщения не настроен, пересылаю операторам.\n\n"


@dataclass
class SendCounts:
    sent: int = 0
    parts: int = 0
    waited_429: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0  # monitoring alerts stale by their turn
    left: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class AlertGate(Protocol):
    """What the sender asks about an alert-carrying message, inside its transaction."""

    def still_relevant(self, uow: UnitOfWork, message: OutgoingMessage) -> bool: ...

    def announced(self, uow: UnitOfWork, message: OutgoingMessage, now: datetime) -> None: ...


@dataclass
class SendingRun:
    """One run's state: what it did, and chats whose older message must go first."""

    counts: SendCounts = field(default_factory=SendCounts)
    held: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class SenderPolicy:
    operations_chat_id: str | None = None
    budget: timedelta = timedelta(seconds=8)  # a run ends before the next is due
    max_pause: float = 1.0  # longer waits end the pass: the message goes next run
    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(
            first_delay=timedelta(seconds=5), max_delay=timedelta(minutes=10), max_attempts=50
        )
    )


class TelegramSender:
    def __init__(
        self,
        db: Database,
        client: TelegramClient,
        limiter: RateLimiter,
        policy: SenderPolicy,
        *,
        alerts: AlertGate,
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._db = db
        self._client = client
        self._limiter = limiter
        self._policy = policy
        self._alerts = alerts
        self._clock = clock
        self._sleep = sleep

    def run(self) -> SendCounts:
        run = SendingRun()
        deadline = time.monotonic() + self._policy.budget.total_seconds()
        for message_id in self._queued_ids():
            if time.monotonic() > deadline:
                run.counts.left += 1
                continue
            self._send_one(message_id, run)
        return run.counts

    def _queued_ids(self) -> list[int]:
        with self._db.unit_of_work() as uow:
            return [
                message.id
                for message in uow.repo(TelegramOutbox).queued(limit=1000)
                if message.id is not None
            ]

    def _send_one(self, message_id: int, run: SendingRun) -> None:
        counts, held = run.counts, run.held
        with self._db.unit_of_work() as uow:
            outbox = uow.repo(TelegramOutbox)
            message = outbox.get(message_id)
            if message is None or message.status != MessageStatus.QUEUED.value:
                return
            if not self._alerts.still_relevant(uow, message):
                self._archive(uow, message, MessageStatus.DROPPED, "stale alert")
                counts.dropped += 1
                return
            chat, text = self._address(message)
            if chat is None:
                self._archive(uow, message, MessageStatus.FAILED, "no chat configured")
                counts.failed += 1
                return
            if chat in held or (message.not_before and message.not_before > self._clock()):
                held.add(chat)  # keep this chat's order: nothing newer jumps the queue
                counts.left += 1
                return
            parts = split_for_telegram(text)
            for index in range(message.parts_sent, len(parts)):
                answer = self._paced_send(chat, parts[index])
                if answer is None:  # would wait too long: next run
                    held.add(chat)
                    counts.left += 1
                    return
                if not self._record(uow, message, answer, chat, run):
                    return
                counts.parts += 1
            self._alerts.announced(uow, message, self._clock())
            self._archive(uow, message, MessageStatus.SENT, None)
            counts.sent += 1

    def _paced_send(self, chat: str, part: str) -> TelegramAnswer | None:
        wait = self._limiter.wait(chat)
        if wait > self._policy.max_pause:
            return None
        if wait > 0:
            self._sleep(wait)
        answer = self._client.send_message(chat, to_html(part))
        if answer.kind is TelegramAnswerKind.SENT:
            self._limiter.sent(chat)
        return answer

    def _record(
        self,
        uow: UnitOfWork,
        message: OutgoingMessage,
        answer: TelegramAnswer,
        chat: str,
        run: SendingRun,
    ) -> bool:
        """Commit the answer to one part; True when the next part may follow."""
        now, counts = self._clock(), run.counts
        if answer.kind is TelegramAnswerKind.SENT:
            message.parts_sent += 1
            message.telegram_message_id = answer.message_id
            uow.commit()
            return True
        run.held.add(chat)
        message.attempts += 1
        if answer.kind is TelegramAnswerKind.WAIT:
            self._limiter.told_to_wait(chat, answer.retry_after)
            message.not_before = now + timedelta(seconds=answer.retry_after)
            counts.waited_429 += 1
        elif answer.kind is TelegramAnswerKind.RETRY:
            message.not_before = self._policy.retry.next_attempt(message.attempts, now) or now
            message.error = answer.description
            counts.retried += 1
        else:
            # The alert is added first: the archive commits both in one transaction.
            self._alert_operations(uow, message, chat, answer.description)
            self._archive(uow, message, MessageStatus.FAILED, answer.description)
            counts.failed += 1
            return False
        uow.commit()
        return False

    def _address(self, message: OutgoingMessage) -> tuple[str | None, str]:
        if message.chat_id:
            return message.chat_id, message.text
        return self._policy.operations_chat_id, NO_CHAT_PREFIX + message.text

    def _archive(
        self, uow: UnitOfWork, message: OutgoingMessage, status: MessageStatus, error: str | None
    ) -> None:
        """Move the message out of the queue, in the same transaction as its last answer."""
        uow.repo(TelegramOutbox).archive(message, status, error, self._clock())
        uow.commit()
        log.info("telegram.archived", id=message.id, status=status.value, error=error)

    def _alert_operations(
        self, uow: UnitOfWork, message: OutgoingMessage, chat: str, reason: str
    ) -> None:
        operations = self._policy.operations_chat_id
        if not operations or chat == operations:
            log.error("telegram.operations_chat_unreachable", reason=reason)
            return
        uow.repo(TelegramOutbox).add(
            OutgoingMessage(
                text=(
                    f"Не удалось доставить сообщение в Telegram-чат {chat}: {reason}. "
                    "Проверьте настройки чата (smbridge chats)."
                ),
                created_at=self._clock(),
                chat_id=operations,
                order_id=message.order_id,
            )
        )
