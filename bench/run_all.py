"""Every benchmark of bench/, one after the other, into one report (issue 13).

    .venv/bin/python -m bench.run_all                  # the sizes of docs/benchmarks.md (hours)
    .venv/bin/python -m bench.run_all --quick          # small sizes: a smoke run (minutes)
    .venv/bin/python -m bench.run_all --only hook_ingest,simulated_day --write report.md

Each script runs as ``python -m bench.<name> <args>`` in a process of its own and prints
its one table; this script prints (and with ``--write`` also writes, as markdown) the
table of every run — which row of
docs/benchmarks.md it gives, the command, its seconds and exit status — then each script's
own table. ``PLAN`` names every benchmark; ``uncovered()`` finds a script of bench/ that
is in neither ``PLAN`` nor ``HELPERS``, and the suite fails on it
(tests/unit/test_bench_run_all.py), so a new benchmark cannot be left out.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

#: Modules of bench/ that are not benchmarks: the libraries the benchmarks share.
HELPERS = frozenset({"__init__", "run_all", "hello_app", "load", "seed_orders"})


@dataclass(frozen=True)
class Bench:
    module: str  # bench/<module>.py
    row: str  # the row of docs/benchmarks.md's table it measures
    full: tuple[str, ...]  # the arguments of the documented run
    quick: tuple[str, ...]  # a small size, for a smoke run

    def command(self, quick: bool) -> list[str]:
        return [sys.executable, "-m", f"bench.{self.module}", *(self.quick if quick else self.full)]


PLAN: tuple[Bench, ...] = (
    Bench(
        "hook_ingest",
        "hook, durable webhooks/s, 4 workers, with the hello-world ratio; open loop",
        (
            "--targets",
            "hello,hook-sqlite,hook-postgresql,hook-sqlite@1,hook-postgresql@1",
            "--repeats",
            "3",
            "--duration",
            "5",
            "--rate",
            "500",
            "--open-duration",
            "10",
        ),
        (
            "--targets",
            "hello,hook-sqlite,hook-postgresql",
            "--repeats",
            "1",
            "--duration",
            "2",
            "--rate",
            "100",
            "--open-duration",
            "2",
        ),
    ),
    Bench("hook_cpu", "CPU per webhook in one process", (), ("--webhooks", "100")),
    Bench(
        "notify_latency",
        "finishAssembly → SM has ready_for_delivery, p50 / p99",
        ("--orders", "300"),
        ("--orders", "20"),
    ),
    Bench(
        "backlog_drain",
        "catch-up after an SM outage: drain rate",
        ("--notifications", "1500", "--outage", "60", "--compare"),
        ("--notifications", "150", "--outage", "5"),
    ),
    Bench(
        "assembly_api",
        "getActiveOrders p99; takeOrder, recordPick calls/s",
        (),
        ("--orders", "50", "--duration", "1", "--repeats", "1"),
    ),
    Bench("assembly_cpu", "CPU per assembly call", (), ("--orders", "50", "--calls", "50")),
    Bench(
        "scheduled_jobs",
        "monitoring run at 1,000,000 orders; sales documents for 10,000",
        ("--repeat", "3"),
        ("--orders", "20000", "--active", "2000", "--delivered", "500", "--repeat", "1"),
    ),
    Bench(
        "telegram_throughput",
        "Telegram sender against the emulator",
        (),
        ("--messages", "60", "--chats", "10"),
    ),
    Bench(
        "worker_limits",
        "memory per process: the whole `smbridge run` stack after load",
        ("--stack",),
        ("--stack", "--calls", "200"),
    ),
    Bench(
        "worker_limits",
        "assembly worker memory under large unwanted bodies",
        (),
        ("--posts", "2", "--megabytes", "5"),
    ),
    Bench(
        "sqlite_page_cache",
        "SQLite's page cache: private memory of a worker's pooled connections",
        (),
        ("--megabytes", "20"),
    ),
    Bench("slow_connections", "a worker against slow clients", (), ("--connections", "50")),
    Bench(
        "retention",
        "the retention purge at 1 M orders",
        (),
        ("--orders", "2000", "--databases", "sqlite"),
    ),
    Bench(
        "ui_pages",
        "web UI pages p95, 100,000 orders",
        ("--requests", "20"),
        ("--orders", "1000", "--requests", "3"),
    ),
    Bench(
        "store_pages",
        "store workstation pages p95, 100,000 orders",
        ("--orders", "100000", "--stores", "20", "--requests", "50"),
        ("--orders", "1000", "--stores", "2", "--requests", "5"),
    ),
    Bench(
        "ops_pages",
        "operations pages p95, 100,000 rows",
        ("--rows", "100000", "--repeat", "20"),
        ("--rows", "1000", "--repeat", "3"),
    ),
    Bench(
        "simulated_day",
        # 100x (23 orders/s) is more than this 2-core box gives the whole stand, SM and the
        # pickers emulated on the same cores: docs/reliability.md §5
        "a simulated day: 20,000 orders at 40×, chaos, nginx",
        ("--speed", "40"),
        ("--orders", "60", "--databases", "sqlite", "--timeout", "300"),
    ),
)


def bench_modules(directory: Path = BENCH) -> set[str]:
    """The benchmark scripts of bench/ (every module but the shared helpers)."""
    return {path.stem for path in directory.glob("*.py")} - HELPERS


def uncovered(directory: Path = BENCH) -> set[str]:
    """Benchmarks that ``PLAN`` does not run: none may be."""
    return bench_modules(directory) - {bench.module for bench in PLAN}


def selected(only: str | None) -> list[Bench]:
    if not only:
        return list(PLAN)
    wanted = set(only.split(","))
    unknown = wanted - {bench.module for bench in PLAN}
    if unknown:
        raise SystemExit(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    return [bench for bench in PLAN if bench.module in wanted]


@dataclass(frozen=True)
class Outcome:
    bench: Bench
    command: list[str]
    seconds: float
    status: int | str  # the exit status, or "timeout"
    output: str


def run(bench: Bench, quick: bool, timeout: float) -> Outcome:
    command = bench.command(quick)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        # the services' logs would bury the tables (a warning still shows)
        "SMBRIDGE_LOG_LEVEL": os.environ.get("SMBRIDGE_LOG_LEVEL", "WARNING"),
    }
    print(f"\n$ {_shown(command)}", flush=True)
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        status: int | str = done.returncode
        output = done.stdout + (f"\n[stderr]\n{done.stderr[-4000:]}" if done.returncode else "")
    except subprocess.TimeoutExpired as expired:
        status, output = "timeout", _text(expired.stdout)
    seconds = time.monotonic() - started
    print(output, flush=True)
    return Outcome(bench, command, seconds, status, output)


def report(outcomes: list[Outcome], quick: bool) -> str:
    size = "quick sizes (a smoke run: figures not comparable)" if quick else "documented sizes"
    lines = [
        f"# bench/run_all, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {size}",
        "",
        "| row of docs/benchmarks.md | command | seconds | exit |",
        "|---|---|---:|---|",
    ]
    for outcome in outcomes:
        lines.append(
            f"| {outcome.bench.row} | `{_shown(outcome.command)}` | "
            f"{outcome.seconds:.0f} | {outcome.status} |"
        )
    for outcome in outcomes:
        lines += ["", f"## {outcome.bench.module}: {outcome.bench.row}", "", "```"]
        lines += [outcome.output.rstrip(), "```"]
    return "\n".join(lines) + "\n"


def _shown(command: list[str]) -> str:
    return shlex.join([".venv/bin/python", *command[1:]])


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", help="comma-separated module names of bench/")
    parser.add_argument("--timeout", type=float, default=4 * 3600.0, help="per benchmark, s")
    parser.add_argument("--write", type=Path, help="also write the markdown report here")
    args = parser.parse_args(argv)
    missing = uncovered()
    if missing:
        raise SystemExit(f"bench/run_all.py does not plan: {', '.join(sorted(missing))}")
    outcomes = [run(bench, args.quick, args.timeout) for bench in selected(args.only)]
    text = report(outcomes, args.quick)
    print(text)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text)
        print(f"written to {args.write}")
    return 0 if all(outcome.status == 0 for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
