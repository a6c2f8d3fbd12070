"""Runs periodic jobs: each at its interval, never twice at once across schedulers.

Every scheduler process may run every job; a lease in the database decides who runs it
now. The holder renews the lease while the run lasts; if the holder dies, the lease runs out
and another scheduler takes the job over. When a job is due is read from the runs table,
so all schedulers agree on it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from smbridge.kernel.clock import Clock
from smbridge.kernel.database.errors import DatabaseUnavailable, WriteConflict
from smbridge.kernel.database.unit_of_work import Database
from smbridge.scheduler.job_store import JobStore
from smbridge.scheduler.outage import Backoff, Outage

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class JobContext:
    db: Database
    now: datetime
    clock: Clock  # for the times a long run records as it goes
    stop: threading.Event  # long jobs check it between batches


@dataclass(frozen=True)
class Job:
    name: str
    interval: timedelta
    run: Callable[[JobContext], dict[str, Any]]  # returns counts for the run record


@dataclass
class JobRunResult:
    """One call of ``run_once``: whether this scheduler ran the job, its counts or error."""

    ran: bool
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class Scheduler:
    def __init__(
        self,
        db: Database,
        jobs: list[Job],
        clock: Clock,
        lease: timedelta = timedelta(seconds=60),
        wait: Callable[[float], object] | None = None,
    ) -> None:
        self._db = db
        self.jobs = {job.name: job for job in jobs}
        self._lease = lease
        self._clock = clock
        self.owner = f"scheduler-{uuid.uuid4().hex[:12]}"
        self.stop = threading.Event()
        # How a loop waits between turns; tests pass one that moves their clock instead.
        self._wait = wait or self.stop.wait
        self._outage = Outage(clock)

    def is_due(self, job: Job) -> bool:
        with self._db.unit_of_work() as uow:
            last = uow.repo(JobStore).last_start(job.name)
        return last is None or last + job.interval <= self._clock()

    def run_once(self, name: str) -> JobRunResult:
        """Run the job now if no other scheduler holds it; record the run."""
        job = self.jobs[name]
        if not self._take_lease(job.name):
            return JobRunResult(ran=False)
        renewing = threading.Event()
        heartbeat = threading.Thread(target=self._renew, args=(job.name, renewing), daemon=True)
        heartbeat.start()
        try:
            return self._record_run(job)
        finally:
            renewing.set()
            heartbeat.join()
            self._release(job.name)

    def serve(self, tick: float = 1.0) -> None:
        """Run every job at its interval until ``stop`` is set; then let runs finish."""
        threads = [
            threading.Thread(target=self._job_loop, args=(job, tick), name=job.name)
            for job in self.jobs.values()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # -- internals -------------------------------------------------------------------------

    def _job_loop(self, job: Job, tick: float) -> None:
        backoff, failures = Backoff(tick), 0
        while not self.stop.is_set():
            try:
                if self.is_due(job):
                    self.run_once(job.name)
            except Exception as exc:
                failures += 1
                self._outage.failed(job.name, _text(exc))
            else:
                failures = 0
                self._outage.succeeded(job.name)
            self._wait(backoff.after(failures))

    def _record_run(self, job: Job) -> JobRunResult:
        started = self._clock()
        with self._db.unit_of_work() as uow:
            run_id = uow.repo(JobStore).start_run(job.name, self.owner, started)
            uow.commit()
        result = JobRunResult(ran=True)
        try:
            result.counts = job.run(JobContext(self._db, started, self._clock, self.stop))
        except Exception as exc:
            result.error = _text(exc)
            log.error("scheduler.job_failed", job=job.name, error=result.error)
        with self._db.unit_of_work() as uow:
            uow.repo(JobStore).finish_run(run_id, self._clock(), result.counts, result.error)
            uow.commit()
        log.info("scheduler.job_ran", job=job.name, counts=result.counts, error=result.error)
        return result

    def _take_lease(self, name: str) -> bool:
        now = self._clock()
        with self._db.unit_of_work() as uow:
            taken = uow.repo(JobStore).try_lease(name, self.owner, now, now + self._lease)
            uow.commit()
        return taken

    def _renew(self, name: str, done: threading.Event) -> None:
        while not done.wait(self._lease.total_seconds() / 3):
            try:
                renewed = self._take_lease(name)
            except (DatabaseUnavailable, WriteConflict) as trouble:
                log.warning("scheduler.lease_renewal_failed", job=name, error=str(trouble))
                continue  # the lease still runs; the next beat tries again
            if not renewed:
                log.error("scheduler.lease_lost", job=name)  # the run was too slow to renew

    def _release(self, name: str) -> None:
        with self._db.unit_of_work() as uow:
            uow.repo(JobStore).release(name, self.owner)
            uow.commit()


def _text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]
