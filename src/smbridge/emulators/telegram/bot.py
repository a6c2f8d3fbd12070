"""Telegram's side of one bot: ``sendMessage`` answered as the real Bot API answers it.

It checks the bot token, the chat, the text (empty, too long, HTML that does not parse) and
the flood limits, answering with the real Bot API's status codes and bodies, 429 with
``parameters.retry_after`` included. Tests switch on failures: a chat that is not found or
has blocked the bot, and for a while 502s, slow answers or dropped connections.

Log lines carry chat ids and reasons, never message texts or the token.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import structlog

from smbridge.emulators.telegram.html import HtmlError, visible_text
from smbridge.emulators.telegram.limits import BotLimits, FloodWindows
from smbridge.emulators.telegram.state import (
    ChatId,
    ChatState,
    Delivered,
    DeliveredLog,
    is_private,
    normalize_chat_id,
)

log = structlog.get_logger(__name__)

Clock = Callable[[], float]

TEXT_LIMIT = 4096

#: Why a ``sendMessage`` was refused; every key is always present in the stats.
REJECT_REASONS = (
    "429",
    "not_found",
    "blocked",
    "too_long",
    "empty",
    "parse",
    "bad_request",
    "unauthorized",
    "5xx",
    "drop",
)


class FailMode(StrEnum):
    NONE = "none"
    BAD_GATEWAY = "5xx"  # every sendMessage answers 502 (nginx's HTML page, like Telegram's)
    SLOW = "slow"  # wait ``delay`` seconds, then answer normally
    DROP = "drop"  # start the answer, then close the connection: the client gets no reply


@dataclass(frozen=True)
class FailureWindow:
    """A failure mode switched on until a moment of the monotonic clock."""

    mode: FailMode = FailMode.NONE
    until: float = 0.0
    delay: float = 0.0


@dataclass(frozen=True)
class BotApiAnswer:
    """The HTTP status and JSON body the Bot API answers with."""

    status: int
    body: dict[str, Any]


def api_error(status: int, description: str, **parameters: int) -> BotApiAnswer:
    """A Bot API error body: ``ok: false``, the code, Telegram's wording, any parameters."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return BotApiAnswer(status, body)


class TelegramEmulator:
    """Telegram's side of one bot: limits, failure modes, and every accepted message."""

    def __init__(
        self,
        token: str = "test-bot-token",  # noqa: S107 - the test stand's default token
        limits: BotLimits | None = None,
        *,
        state_file: Path | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.token = token
        self.limits = limits or BotLimits()
        self._clock = clock
        self._wall_clock = wall_clock
        self.sleep = sleep  # slow mode's wait, replaceable so tests need not wait
        self._delivered = DeliveredLog(state_file)
        self._clear_rules()

    def _clear_rules(self) -> None:
        self._rejected: Counter[str] = Counter(dict.fromkeys(REJECT_REASONS, 0))
        self._chat_states: dict[ChatId, ChatState] = {}
        self._failure = FailureWindow()
        self._flood = FloodWindows(self.limits)

    # -- admin --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything: messages (the state file too), chat states, failures, stats."""
        self._delivered.clear()
        self._clear_rules()
        log.info("telegram_emulator.reset")

    def set_chat_state(self, chat_id: ChatId, state: ChatState) -> None:
        if state is ChatState.OK:
            self._chat_states.pop(chat_id, None)
        else:
            self._chat_states[chat_id] = state
        log.info("telegram_emulator.chat_state", chat_id=chat_id, state=state.value)

    def set_failure(self, mode: FailMode, seconds: float, delay: float = 0.0) -> None:
        if mode is FailMode.NONE:
            self._failure = FailureWindow()
        else:
            self._failure = FailureWindow(mode, self._clock() + seconds, delay)
        log.info("telegram_emulator.failure", mode=mode.value, seconds=seconds, delay=delay)

    def failure(self) -> tuple[FailMode, float]:
        """The failure mode in force now, and the delay for ``slow``."""
        current = self._failure
        if current.mode is FailMode.NONE or self._clock() >= current.until:
            return FailMode.NONE, 0.0
        return current.mode, current.delay

    def count_rejection(self, reason: str) -> None:
        self._rejected[reason] += 1

    # -- sendMessage ----------------------------------------------------------------------

    def send_message(self, token: str, params: Mapping[str, object]) -> BotApiAnswer:
        """Telegram's answer to ``sendMessage``; only an accepted message is recorded."""
        if self.failure()[0] is FailMode.BAD_GATEWAY:  # Telegram's nginx, before the API
            return self._reject("5xx", None, BotApiAnswer(502, {}))
        if token != self.token:
            return self._reject("unauthorized", None, api_error(401, "Unauthorized"))
        raw_chat = params.get("chat_id")
        if raw_chat is None or raw_chat == "":
            return self._reject(
                "bad_request", None, api_error(400, "Bad Request: chat_id is empty")
            )
        chat_id = normalize_chat_id(raw_chat)
        if chat_id is None:
            return self._reject("not_found", None, api_error(400, "Bad Request: chat not found"))
        text = params.get("text")
        text = text if isinstance(text, str) else ("" if text is None else str(text))
        parse_mode = params.get("parse_mode") or None
        refused = self._check_text(text, parse_mode, chat_id) or self._check_chat(chat_id)
        if refused is not None:
            return refused
        now = self._clock()
        wait = self._flood.wait(chat_id, now)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            description = f"Too Many Requests: retry after {retry_after}"
            return self._reject(
                "429", chat_id, api_error(429, description, retry_after=retry_after)
            )
        record = self._accept(chat_id, text, None if parse_mode is None else str(parse_mode), now)
        return BotApiAnswer(200, {"ok": True, "result": _sent_message(record)})

    def _check_text(self, text: str, parse_mode: object, chat_id: ChatId) -> BotApiAnswer | None:
        visible = text
        if parse_mode is not None:
            mode = str(parse_mode).lower()
            if mode == "html":
                try:
                    visible = visible_text(text)
                except HtmlError as exc:
                    description = f"Bad Request: can't parse entities: {exc}"
                    return self._reject("parse", chat_id, api_error(400, description))
            elif mode not in {"markdown", "markdownv2"}:
                return self._reject(
                    "bad_request", chat_id, api_error(400, "Bad Request: unsupported parse_mode")
                )
        if not visible.strip():
            return self._reject(
                "empty", chat_id, api_error(400, "Bad Request: message text is empty")
            )
        if len(visible) > TEXT_LIMIT:
            return self._reject(
                "too_long", chat_id, api_error(400, "Bad Request: message is too long")
            )
        return None

    def _check_chat(self, chat_id: ChatId) -> BotApiAnswer | None:
        state = self._chat_states.get(chat_id, ChatState.OK)
        if state is ChatState.NOT_FOUND:
            return self._reject("not_found", chat_id, api_error(400, "Bad Request: chat not found"))
        if state is ChatState.BLOCKED:
            return self._reject(
                "blocked", chat_id, api_error(403, "Forbidden: bot was blocked by the user")
            )
        return None

    def _accept(self, chat_id: ChatId, text: str, parse_mode: str | None, now: float) -> Delivered:
        record = Delivered(
            chat_id=chat_id,
            message_id=self._delivered.next_message_id(chat_id),
            text=text,
            parse_mode=parse_mode,
            time=self._wall_clock(),
        )
        self._delivered.append(record)
        self._flood.record(chat_id, now)
        log.debug("telegram_emulator.accepted", chat_id=chat_id, message_id=record.message_id)
        return record

    def _reject(self, reason: str, chat_id: ChatId | None, answer: BotApiAnswer) -> BotApiAnswer:
        self._rejected[reason] += 1
        log.info("telegram_emulator.rejected", reason=reason, chat_id=chat_id, status=answer.status)
        return answer

    # -- what it saw --------------------------------------------------------------------

    def messages(self, chat_id: ChatId | None = None) -> list[dict[str, Any]]:
        return [record.as_json() for record in self._delivered.of_chat(chat_id)]

    def stats(self) -> dict[str, Any]:
        return {
            "accepted": len(self._delivered.messages),
            "rejected": dict(self._rejected),
            "rejected_total": sum(self._rejected.values()),
            "accepted_per_chat": dict(self._delivered.per_chat),
            # Observed on the monotonic clock since start (or reset), over sliding windows.
            **self._flood.observed(),
            "limits": asdict(self.limits),
        }


def _sent_message(record: Delivered) -> dict[str, Any]:
    """The Bot API's ``Message`` for an accepted send."""
    return {
        "message_id": record.message_id,
        "from": {"id": 1, "is_bot": True, "first_name": "smbridge emulator"},
        "chat": {
            "id": record.chat_id,
            "type": "private" if is_private(record.chat_id) else "supergroup",
        },
        "date": int(record.time),
        "text": record.text,
    }
