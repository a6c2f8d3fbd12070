"""``smbridge scheduler`` as a process: runs its jobs, and SIGTERM ends it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from smbridge.kernel.database.unit_of_work import Database
from smbridge.scheduler.job_store import JobStore


def test_sigterm_finishes_the_current_runs_and_exits(db: Database, database_url: str) -> None:
    env = {
        **os.environ,
        "SMBRIDGE_DATABASE_URL": database_url,
        "SMBRIDGE_LOG_LEVEL": "WARNING",
        "SMBRIDGE_JOB_MONITORING_SECONDS": "0.2",
        "SMBRIDGE_JOB_TELEGRAM_SECONDS": "0.2",
    }
    process = subprocess.Popen([sys.executable, "-m", "smbridge", "scheduler"], env=env)
    deadline = time.monotonic() + 60
    runs = 0
    while runs < 3 and time.monotonic() < deadline:  # wait until the jobs are running
        with db.unit_of_work() as uow:
            runs = len(uow.repo(JobStore).recent_runs("monitoring", 10))
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert runs >= 3
    with db.unit_of_work() as uow:
        recorded = uow.repo(JobStore).recent_runs(None, 100)
    assert recorded
    assert all(run.finished_at is not None for run in recorded)  # nothing left half-done
