"""Telegram's flood limits: per bot per second, per private chat per second, per group per
minute, kept as sliding windows of accepted sends on the monotonic clock.

The windows also record the highest rates they saw, so a test or a benchmark can prove from
Telegram's side that nothing was sent too fast.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from smbridge.emulators.telegram.state import ChatId, is_private

SECOND = 1.0
MINUTE = 60.0


@dataclass(frozen=True)
class BotLimits:
    global_per_second: int = 30
    private_per_second: int = 1
    group_per_minute: int = 20


def window_wait(sends: Iterable[float], window: float, allowed: int, now: float) -> float:
    """Seconds until one more send fits ``allowed`` per ``window`` (0: it fits now).

    A send at ``t`` counts while ``t > now - window``, as in the sender's own limiter.
    """
    recent = [moment for moment in sends if moment > now - window]
    if len(recent) < allowed:
        return 0.0
    return recent[len(recent) - allowed] + window - now


@dataclass
class FloodWindows:
    """Accepted sends on the monotonic clock: the limit windows and the observed maxima."""

    limits: BotLimits
    overall: deque[float] = field(default_factory=deque)  # the last second
    chats: dict[ChatId, deque[float]] = field(default_factory=dict)  # the last minute
    max_per_second: int = 0
    max_per_second_per_chat: Counter[str] = field(default_factory=Counter)
    max_per_minute_per_chat: Counter[str] = field(default_factory=Counter)

    def wait(self, chat_id: ChatId, now: float) -> float:
        """Seconds until a send to ``chat_id`` fits every limit (0: it fits now)."""
        limits = self.limits
        overall = window_wait(self.overall, SECOND, limits.global_per_second, now)
        chat_sends = self.chats.get(chat_id, ())
        if is_private(chat_id):
            per_chat = window_wait(chat_sends, SECOND, limits.private_per_second, now)
        else:
            per_chat = window_wait(chat_sends, MINUTE, limits.group_per_minute, now)
        return max(overall, per_chat)

    def record(self, chat_id: ChatId, now: float) -> None:
        """Count an accepted send, and raise the observed maxima it reaches."""
        while self.overall and self.overall[0] <= now - SECOND:
            self.overall.popleft()
        self.overall.append(now)
        self.max_per_second = max(self.max_per_second, len(self.overall))
        sends = self.chats.setdefault(chat_id, deque())
        while sends and sends[0] <= now - MINUTE:
            sends.popleft()
        sends.append(now)
        key = str(chat_id)
        per_second = _count_since(sends, now - SECOND)
        self.max_per_second_per_chat[key] = max(self.max_per_second_per_chat[key], per_second)
        self.max_per_minute_per_chat[key] = max(self.max_per_minute_per_chat[key], len(sends))

    def observed(self) -> dict[str, Any]:
        """The highest rates seen since start (or reset), over sliding windows."""
        return {
            "max_per_second": self.max_per_second,
            "max_per_second_any_chat": max(self.max_per_second_per_chat.values(), default=0),
            "max_per_second_per_chat": dict(self.max_per_second_per_chat),
            "max_per_minute_per_chat": dict(self.max_per_minute_per_chat),
        }


def _count_since(sends: deque[float], since: float) -> int:
    count = 0
    for moment in reversed(sends):
        if moment <= since:
            break
        count += 1
    return count
