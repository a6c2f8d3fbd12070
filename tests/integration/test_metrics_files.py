"""prometheus_client's multiprocess files do not pile up: a worker's files go when it exits,
a killed one's when the next worker starts, and the summed counts never drop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, multiprocess

from smbridge.metrics.multiprocess_files import retire_dead
from smbridge.metrics.prometheus import MULTIPROC_ENV

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import sys
from prometheus_client import Counter, Gauge, Histogram
Counter("t_requests", "requests", ["pool"]).labels("hook").inc(3)
Histogram("t_seconds", "time", buckets=(0.1, 1.0)).observe(0.5)
Gauge("t_live", "live", multiprocess_mode="livesum").set(1)
if sys.argv[1] == "exits":
    from smbridge.metrics.prometheus import worker_exiting
    worker_exiting()
"""


def run_worker(directory: Path, how: str) -> None:
    environment = {**os.environ, MULTIPROC_ENV: str(directory), "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-c", WORKER, how], env=environment, check=True)


def sums(directory: Path) -> dict[str, float]:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return {
        sample.name: sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name in {"t_requests_total", "t_seconds_count", "t_seconds_sum", "t_live"}
    }


def data_files(directory: Path) -> list[str]:
    return sorted(file.name for file in directory.glob("*.db"))


def test_an_exiting_worker_leaves_its_counts_and_no_file(tmp_path: Path) -> None:
    run_worker(tmp_path, "exits")
    run_worker(tmp_path, "exits")
    assert data_files(tmp_path) == ["counter_archive.db", "histogram_archive.db"]
    assert sums(tmp_path) == {"t_requests_total": 6.0, "t_seconds_count": 2.0, "t_seconds_sum": 1.0}


def test_a_killed_worker_s_files_go_when_the_next_starts_counts_kept(tmp_path: Path) -> None:
    run_worker(tmp_path, "exits")
    run_worker(tmp_path, "is killed")  # never retires itself
    before = sums(tmp_path)
    assert before["t_requests_total"] == 6.0
    assert len(data_files(tmp_path)) == 5  # its counter, histogram, gauge + the archives

    assert retire_dead(str(tmp_path), alive=lambda _pid: True) == 0  # a live one keeps its
    assert retire_dead(str(tmp_path)) == 3
    assert data_files(tmp_path) == ["counter_archive.db", "histogram_archive.db"]
    after = sums(tmp_path)
    assert after["t_requests_total"] == before["t_requests_total"]
    assert after["t_seconds_count"] == before["t_seconds_count"] == 2.0
    assert "t_live" not in after  # a dead process's gauge is gone, not summed
