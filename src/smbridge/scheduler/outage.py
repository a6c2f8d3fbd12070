"""How the job loops wait and speak while the database is down.

A loop that fails (the database cannot be reached, so it cannot even tell whether its job
is due) waits longer after each failure, up to a cap, so an outage costs a connection
attempt now and then rather than one a second per job. The outage is logged once when it
starts, then at most once a minute while it lasts, and once when it ends: a log line a
second per job would bury everything else in the logs and say nothing new.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from smbridge.kernel.clock import Clock

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Backoff:
    """The wait after the n-th failure in a row: the tick doubled each time, up to a cap.

    The cap bounds how long jobs stay idle after the database is back."""

    tick: float
    cap: float = 30.0

    def after(self, failures: int) -> float:
        if failures <= 0:
            return self.tick
        return min(self.tick * 2.0 ** (failures - 1), max(self.cap, self.tick))


class Outage:
    """The outage the job loops see together: one account of it, whichever loops fail.

    It starts when a first loop fails and ends when every failing loop has succeeded again.
    """

    def __init__(self, clock: Clock, every: timedelta = timedelta(minutes=1)) -> None:
        self._clock = clock
        self._every = every
        self._lock = threading.Lock()
        self._failing: set[str] = set()
        self._failures = 0
        self._since: datetime | None = None
        self._said: datetime | None = None

    def failed(self, job: str, error: str) -> None:
        with self._lock:
            now = self._clock()
            self._failing.add(job)
            self._failures += 1
            if self._since is None:
                self._since = self._said = now
                log.error("scheduler.loop_failed", job=job, error=error)
            elif self._said is not None and now - self._said >= self._every:
                self._said = now
                log.warning(
                    "scheduler.loop_still_failing",
                    failures=self._failures,
                    jobs=sorted(self._failing),
                    seconds=self._seconds(now),
                    error=error,
                )

    def succeeded(self, job: str) -> None:
        with self._lock:
            if job not in self._failing:
                return
            self._failing.discard(job)
            if self._failing:
                return
            log.info(
                "scheduler.loop_recovered",
                failures=self._failures,
                seconds=self._seconds(self._clock()),
            )
            self._failures, self._since, self._said = 0, None, None

    def _seconds(self, now: datetime) -> float:
        return round((now - self._since).total_seconds(), 1) if self._since else 0.0
