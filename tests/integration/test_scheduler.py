"""The scheduler's guarantees on real databases: recorded runs, no overlap, lease takeover."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from smbridge.kernel.database.errors import DatabaseUnavailable
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork
from smbridge.scheduler import outage
from smbridge.scheduler.job_store import JobStore
from smbridge.scheduler.runner import Job, JobContext, Scheduler
from smbridge.settings import Settings
from tests.support.clock import FrozenClock, RunningClock


def counting_job(name: str = "count", interval: float = 60.0) -> tuple[Job, list[int]]:
    calls: list[int] = []

    def run(_ctx: JobContext) -> dict[str, Any]:
        calls.append(1)
        return {"calls": len(calls)}

    return Job(name, timedelta(seconds=interval), run), calls


def test_a_run_is_recorded_with_its_counts_and_errors(db: Database, settings: Settings) -> None:
    def broken(_ctx: JobContext) -> dict[str, Any]:
        raise RuntimeError("boom")

    job, _ = counting_job()
    scheduler = Scheduler(db, [job, Job("broken", timedelta(seconds=1), broken)], FrozenClock())
    assert scheduler.run_once("count").counts == {"calls": 1}
    assert scheduler.run_once("broken").error == "RuntimeError: boom"
    with db.unit_of_work() as uow:
        runs = uow.repo(JobStore).recent_runs(None, 10)
    assert [(r.job, r.counts, r.error) for r in runs] == [
        ("broken", {}, "RuntimeError: boom"),
        ("count", {"calls": 1}, None),
    ]
    assert all(r.finished_at is not None and r.finished_at >= r.started_at for r in runs)


def test_a_job_is_due_after_its_interval_whoever_ran_it(db: Database, settings: Settings) -> None:
    clock = FrozenClock()
    job, _calls = counting_job(interval=60)
    first = Scheduler(db, [job], clock)
    second = Scheduler(db, [job], clock)
    assert second.is_due(job)
    first.run_once("count")
    assert not second.is_due(job)  # the other scheduler's run counts
    clock.now += timedelta(seconds=61)
    assert second.is_due(job)


def test_two_schedulers_never_run_a_job_at_the_same_time(db: Database, settings: Settings) -> None:
    running = threading.Semaphore(1)
    overlaps: list[int] = []
    runs: list[int] = []

    def slow(_ctx: JobContext) -> dict[str, Any]:
        if not running.acquire(blocking=False):
            overlaps.append(1)
            return {}
        time.sleep(0.05)
        runs.append(1)
        running.release()
        return {}

    job = Job("slow", timedelta(seconds=0), slow)
    schedulers = [Scheduler(db, [job], FrozenClock()) for _ in range(2)]
    outcomes: list[bool] = []
    threads = [
        threading.Thread(
            target=lambda s=s: outcomes.extend(s.run_once("slow").ran for _ in range(15))
        )
        for s in schedulers
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert overlaps == []
    # Each attempt either ran alone or found the other holding the job (how many of each
    # depends on the machine's pace, not on the rule).
    assert len(outcomes) == 30
    assert outcomes.count(True) == len(runs) >= 1


def test_a_dead_holders_lease_expires_and_another_takes_over(
    db: Database, settings: Settings
) -> None:
    clock = FrozenClock()
    job, calls = counting_job()
    dead = Scheduler(db, [job], clock, lease=timedelta(seconds=30))
    alive = Scheduler(db, [job], clock, lease=timedelta(seconds=30))
    assert dead._take_lease("count")  # took the job, then its VM died
    assert not alive.run_once("count").ran
    clock.now += timedelta(seconds=31)
    assert alive.run_once("count").ran
    assert calls == [1]


def test_serve_runs_due_jobs_and_stops_when_told(db: Database, settings: Settings) -> None:
    job, calls = counting_job(interval=0.05)
    scheduler = Scheduler(db, [job], RunningClock())  # intervals pass in real time
    thread = threading.Thread(target=scheduler.serve, kwargs={"tick": 0.01})
    thread.start()
    deadline = time.monotonic() + 20
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    scheduler.stop.set()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert len(calls) >= 3


class Logged:
    """Stands in for a module's logger: what was logged, at which level."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def error(self, event: str, **fields: Any) -> None:
        self.lines.append(("error", event, fields))

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append(("warning", event, fields))

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append(("info", event, fields))


def test_a_database_outage_backs_off_is_logged_sparingly_and_jobs_resume_at_once(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FrozenClock()
    job, calls = counting_job(interval=0)  # due at every turn: each turn asks the database
    down = True
    reachable = db.unit_of_work

    def unit_of_work(*, read_only: bool = False) -> UnitOfWork:
        if down:
            raise DatabaseUnavailable("connection refused")
        return reachable(read_only=read_only)

    monkeypatch.setattr(db, "unit_of_work", unit_of_work)
    logged = Logged()
    monkeypatch.setattr(outage, "log", logged)
    waits: list[float] = []

    def wait(seconds: float) -> None:  # the time passes on the test's clock, not the wall's
        nonlocal down
        waits.append(seconds)
        clock.advance(timedelta(seconds=seconds))
        if len(waits) == 20:
            down = False  # the database is back after about 7.5 minutes
        if len(waits) == 22:
            scheduler.stop.set()

    scheduler = Scheduler(db, [job], clock, wait=wait)
    scheduler.serve(tick=1.0)

    assert waits == [1, 2, 4, 8, 16] + [30] * 15 + [1, 1]  # the tick again once it is back
    assert calls == [1, 1]  # the first turn after the outage ran the job
    assert [(level, event) for level, event, _ in logged.lines] == [
        ("error", "scheduler.loop_failed"),
        *[("warning", "scheduler.loop_still_failing")] * 7,  # once a minute of its 7.5
        ("info", "scheduler.loop_recovered"),
    ]
    still = [fields for _, event, fields in logged.lines if event.endswith("still_failing")]
    assert [f["failures"] for f in still] == [7, 9, 11, 13, 15, 17, 19]
    assert [f["seconds"] for f in still] == [61, 121, 181, 241, 301, 361, 421]
    assert logged.lines[-1][2] == {"failures": 20, "seconds": 481}
