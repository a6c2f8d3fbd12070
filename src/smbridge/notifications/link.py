"""What one dispatcher knows of SM right now: is it answering, and how fast may we send.

Down: ``down_after`` sends in a row failed with a retryable answer. While SM is down the
dispatcher sends one notification every ``probe_every`` (the probe) instead of retrying
every due one: the waiting rows keep their attempts and stay due, and a probed row that has
used up its attempts waits on instead of dying (an outage of any length makes no dead
letter; a row dies of its own failures while SM answers). SM is back when a send
gets an answer while this dispatcher has SM down, or for a row that had itself failed
``down_after`` times (another process saw the outage); the dispatcher then pulls the
notifications that wait out a backoff forward, so the backlog drains at once instead of
over the next minutes. A single failure among successes is not an outage: that row keeps
its backoff.

Pace: at most ``max_per_second`` sends (a token bucket holding one second's worth), so the
catch-up after an outage does not hit SM faster than it tolerates. The state is this
process's own; what other processes must see (the pull-forward) goes through the database.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from smbridge.kernel.clock import Clock

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class LinkPolicy:
    max_per_second: float | None = None  # None: as fast as the threads go
    down_after: int = 5  # retryable failures in a row that mean SM is down
    probe_every: timedelta = timedelta(seconds=2)  # also: at most one pull-forward per this


class SmLink:
    """Thread-safe: the dispatch threads of one process share it."""

    def __init__(self, policy: LinkPolicy, clock: Clock) -> None:
        self._policy = policy
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0  # retryable failures since SM last answered
        self._next_probe: datetime | None = None  # set while SM is down
        self._pulled_at: datetime | None = None
        self._capacity = max(1.0, policy.max_per_second or 0.0)
        self._tokens = self._capacity
        self._filled_at = clock()

    def allowance(self, wanted: int) -> int:
        """How many notifications to claim now (0 while SM is down and no probe is due)."""
        with self._lock:
            now = self._clock()
            if self._next_probe is not None:
                if now < self._next_probe:
                    return 0
                wanted = 1
            granted = self._take(wanted, now)
            if granted and self._next_probe is not None:
                self._next_probe = now + self._policy.probe_every
            return granted

    def is_down(self) -> bool:
        """SM is down for this dispatcher: what it sends now is a probe."""
        with self._lock:
            return self._next_probe is not None

    def give_back(self, unused: int) -> None:
        """Return the allowance a claim did not use (fewer rows were due)."""
        if self._policy.max_per_second is not None and unused > 0:
            with self._lock:
                self._tokens = min(self._capacity, self._tokens + unused)

    def failed(self) -> None:
        """A send got a retryable failure (5xx, 429, timeout, no connection)."""
        with self._lock:
            self._failures += 1
            if self._next_probe is None and self._failures >= self._policy.down_after:
                self._next_probe = self._clock() + self._policy.probe_every
                log.warning("sm_link.down", failures=self._failures)

    def answered(self, row_failures: int) -> bool:
        """SM answered a send (delivered or refused) of a row that had failed this many
        times before. True when the waiting notifications should be pulled forward now:
        SM was down, and no pull-forward ran within the probe interval (one per recovery
        is enough; the rows it makes due answer after failures too)."""
        with self._lock:
            now = self._clock()
            recovered = self._next_probe is not None or row_failures >= self._policy.down_after
            if self._next_probe is not None:
                log.info("sm_link.up", failures=self._failures)
            self._failures, self._next_probe = 0, None
            if not recovered:
                return False
            if self._pulled_at is not None and now < self._pulled_at + self._policy.probe_every:
                return False
            self._pulled_at = now
            return True

    def _take(self, wanted: int, now: datetime) -> int:
        rate = self._policy.max_per_second
        if rate is None:
            return wanted
        elapsed = max(0.0, (now - self._filled_at).total_seconds())
        self._tokens = min(self._capacity, self._tokens + elapsed * rate)
        self._filled_at = now
        granted = min(wanted, math.floor(self._tokens))
        self._tokens -= granted
        return granted
