"""bench/run_all.py runs every benchmark of bench/: a new script cannot be left out, and
the arguments it passes are options the script declares. Nothing heavy runs here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bench import run_all


def test_every_benchmark_script_is_planned() -> None:
    assert run_all.bench_modules()  # the directory was found
    assert run_all.uncovered() == set()


def test_a_new_script_would_be_found_uncovered(tmp_path: Path) -> None:
    for name in [*(bench.module for bench in run_all.PLAN), "load", "new_bench"]:
        (tmp_path / f"{name}.py").write_text("")
    assert run_all.uncovered(tmp_path) == {"new_bench"}


@pytest.mark.parametrize("bench", run_all.PLAN, ids=lambda bench: bench.module)
def test_each_planned_option_is_one_the_script_declares(bench: run_all.Bench) -> None:
    source = (run_all.BENCH / f"{bench.module}.py").read_text()
    declared = set(re.findall(r'add_argument\(\s*"(--[a-z-]+)"', source))
    for size in (bench.full, bench.quick):
        used = {word for word in size if word.startswith("--")}
        assert used <= declared, (bench.module, used - declared)


def test_the_issue_13_rows_are_all_planned() -> None:
    modules = [bench.module for bench in run_all.PLAN]
    for needed in (
        "hook_ingest",  # with the hello-world ratio
        "notify_latency",
        "scheduled_jobs",  # monitoring at 1 M orders, sales at 10 k
        "telegram_throughput",
        "worker_limits",  # memory per process (--stack)
        "simulated_day",
    ):
        assert needed in modules
    assert any(b.module == "worker_limits" and "--stack" in b.full for b in run_all.PLAN)


def test_quick_commands_run_the_module_with_its_small_sizes() -> None:
    day = next(bench for bench in run_all.PLAN if bench.module == "simulated_day")
    command = day.command(quick=True)
    assert command[1:3] == ["-m", "bench.simulated_day"]
    assert command[3:] == list(day.quick)
    assert run_all.selected("simulated_day") == [day]
    with pytest.raises(SystemExit):
        run_all.selected("no_such_bench")
