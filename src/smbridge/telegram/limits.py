"""Telegram's sending limits: per bot per second, per private chat, per group per minute."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TelegramLimits:
    per_second: int = 30  # the whole bot
    private_per_second: int = 1  # one private chat
    group_per_minute: int = 20  # one group chat (negative chat id)


class RateLimiter:
    """Sliding windows over our own sends; ``wait`` says how long until the next may go."""

    def __init__(self, limits: TelegramLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._all: deque[float] = deque()
        self._chats: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}

    def wait(self, chat_id: str) -> float:
        now = self._clock()
        window, allowed = self._chat_rule(chat_id)
        waits = [
            self._blocked_until.get(chat_id, 0.0) - now,
            _window_wait(self._all, 1.0, self._limits.per_second, now),
            _window_wait(self._chats.setdefault(chat_id, deque()), window, allowed, now),
        ]
        return max(0.0, *waits)

    def sent(self, chat_id: str) -> None:
        now = self._clock()
        self._all.append(now)
        self._chats.setdefault(chat_id, deque()).append(now)

    def told_to_wait(self, chat_id: str, seconds: float) -> None:
        """Telegram answered 429: nothing more to that chat until ``retry_after`` passes."""
        self._blocked_until[chat_id] = self._clock() + seconds

    def _chat_rule(self, chat_id: str) -> tuple[float, int]:
        if chat_id.startswith("-"):
            return 60.0, self._limits.group_per_minute
        return 1.0, self._limits.private_per_second


def _window_wait(sends: deque[float], window: float, allowed: int, now: float) -> float:
    while sends and sends[0] <= now - window:
        sends.popleft()
    if len(sends) < allowed:
        return 0.0
    return sends[len(sends) - allowed] + window - now
