"""Fault scenario 4 (docs/reliability.md): SQLite's disk fills up under load, then space
returns.

The whole stand (``smbridge run`` with nginx, the SM emulator, the simulated pickers, the
scheduler and the dispatcher) keeps its SQLite database on a small tmpfs of its own; a
file then takes every byte left, which is a real ENOSPC for SQLite (its WAL cannot grow,
its checkpoints cannot grow the database). Webhooks meanwhile must get 503 with
Retry-After (SM delivers them again), no process may die or hang, nothing answered 200 may
be lost, and service must come back once the file is removed.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from smbridge.kernel.database import migrations
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from tests.support.faults import (
    assert_fast_refusals_and_return,
    assert_nothing_lost,
    child_processes,
    fill,
    loaded_stand,
    outage,
    scale,
    small_filesystem,
    stored,
    wait_for_answer,
    wait_for_every_order,
    workers,
)
from tests.support.stack import RunningStack

pytestmark = [pytest.mark.slow, pytest.mark.timed]  # the short form runs in the suite

ORDERS = scale(20, 80)
FULL_SECONDS = scale(3.0, 30.0)  # how long the disk stays full once writes fail
SLOWEST_ANSWER = 3.0  # SM waits for an answer: "come back later" must come fast
BACK_WITHIN = 5.0  # seconds from space returning to the first stored webhook


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting the small tmpfs needs root (CI is root)")
def test_sqlite_disk_full_under_load_answers_503_loses_nothing_and_recovers(
    tmp_path: Path,
) -> None:
    with small_filesystem(tmp_path / "disk", 48) as disk:
        url = f"sqlite:///{disk / 'smbridge.db'}"
        db = Database.from_settings(Settings(database_url=url))
        migrations.upgrade(db.engine)
        try:
            with loaded_stand(url, ORDERS, seed=11) as (stack, probe, processes):
                time.sleep(2)
                down = time.monotonic()
                filler = fill(disk)
                refused = wait_for_answer(probe, 503, down, 60)
                time.sleep(FULL_SECONDS)
                filler.unlink()
                up = time.monotonic()
                wait_for_answer(probe, 200, up, 30)
                assert stack.process.poll() is None, "smbridge run died with the disk"
                report = wait_for_every_order(stack, ORDERS)
                answers = every_answer(stack)
                assert workers(child_processes(stack.process.pid)) == processes, "a worker died"
            kept = stored(db)
        finally:
            db.dispose()

    figures = outage(probe.answers, down, up)
    print(  # shown with -s: the figures of docs/reliability.md
        f"\nSQLite disk full: nginx answered {dict(answers)}, SM retried "
        f"{report['webhookRetries']}, journal {kept.journal}, orders {kept.orders}, "
        f"probes {dict(probe.statuses())} ({kept.probes} stored)\n"
        f"{figures.line(f'disk full, {FULL_SECONDS:.0f} s after the first refusal')}, "
        f"first refusal {refusal_delay(probe.answers, down)} after the disk filled"
    )
    assert refused, f"the full disk never refused a webhook: {figures}"
    assert_fast_refusals_and_return([figures], SLOWEST_ANSWER, BACK_WITHIN)
    assert answers[500] == 0, answers
    assert_nothing_lost(report, kept, ORDERS, probe)


def refusal_delay(answers: list[Any], down: float) -> str:
    refused = [a.sent for a in answers if a.sent >= down and a.status == 503]
    return f"{min(refused) - down:.1f} s" if refused else "never"


def every_answer(stack: RunningStack) -> Counter[int]:
    """The status codes of every request nginx passed on (webhooks and the pickers' API)."""
    log = stack.state_dir / "nginx" / "logs" / "access.log"
    return Counter(int(orjson.loads(line)["status"]) for line in log.read_text().splitlines())
