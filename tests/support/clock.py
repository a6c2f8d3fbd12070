"""The frozen clock every test runs on: the same instant whatever day the suite runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

#: Saturday 2026-11-28, 12:00 in Moscow: store hours, a delivery window tomorrow morning.
FROZEN_NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


class FrozenClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime = FROZEN_NOW) -> None:
        if now.tzinfo is None:
            raise ValueError("a clock tells timezone-aware time")
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


class RunningClock:
    """Starts at the frozen instant and then runs at the real pace (monotonic time).

    For tests whose subject waits in real time (backoffs, job intervals) yet must not
    depend on the calendar.
    """

    def __init__(self, start: datetime = FROZEN_NOW) -> None:
        self._start = start
        self._started = time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._started)
