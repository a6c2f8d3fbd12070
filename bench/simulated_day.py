"""Benchmark (issue 13, scenario 5): a simulated day of orders through the whole system.

    .venv/bin/python -m bench.simulated_day [--orders 20000] [--day-orders 20000] [--speed 100]
        [--databases sqlite,postgresql] [--pickers 12] [--pick-seconds 0.05] [--timeout 3600]

``smbridge run --demo`` (nginx in front: the SM emulator posts its webhooks and the
simulated pickers call the assembly API through it, over TLS) with the emulators' chaos on:
duplicate webhooks, cancellations, changed orders, deliveries reported before receipt. The
day runs ``--speed`` times faster than real time: SM makes ``--day-orders`` orders over 24
hours, so ``--day-orders / (86400 / speed)`` a second (23/s for 20,000 at 100x); the run
stops after ``--orders`` of them (fewer than a day's: a slice of the day at its pace).

Counted at the end, once every order is delivered or cancelled and the sales job has
caught up: errors (non-2xx answers nginx gave SM's webhooks, notifications SM refused,
failed or parked webhooks, undelivered notifications, restarted processes), lost orders
(made by SM, not in our database), sales documents per delivered order, and which
monitoring alerts fired. The memory of every process of the stand is sampled each second:
its growth is the median of the last quarter of the run over the median of the first
quarter. Two readings: the whole RSS, and its private part (``RssAnon``: the heap, what a
leak grows). The rest is shared or file-backed: nginx's shared-memory zones (rate limits,
TLS sessions) enter a worker's RSS page by page as they are first touched, up to their
configured size, and program files as they are first read. The check is on the private
part of smbridge's processes and nginx (growth under 10 %, or under 1 MB); every process's
two readings are printed. Prints one table; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, select
from tests.support.ending import ending
from tests.support.environment import throwaway_database
from tests.support.stack import RunningStack, running_stack

from smbridge.kernel.database.engine import create_db_engine
from smbridge.kernel.database.tables import (
    monitoring_problems,
    sales_documents,
)
from smbridge.settings import Settings

DAY_SECONDS = 86_400
START_SECONDS = 240.0  # the stand took over 60 s to start on the box under other work
GROWTH_LIMIT = 0.10  # issue 13: memory of every process flat, growth < 10 %
# ... and by at least this much: a 4 MB nginx worker moves by 0.8 MB (+18 %) as it meets
# more connections at once, up to its configured connection count; that is no leak.
GROWTH_FLOOR_MB = 1.0
# The stand's players of SM and the pickers are not the system under test. SM's emulator
# keeps what SM keeps of every order it made (its number, state and the notifications it
# took, for the repeats and order checks), so it grows with the day by design. Their
# memory is printed; the check is on smbridge's processes and nginx.
NOT_CHECKED = " emulator"


@dataclass(frozen=True)
class DayPlan:
    orders: int
    day_orders: int
    speed: float
    pickers: int
    pick_seconds: float
    timeout: float
    seed: int = 13

    @property
    def rate(self) -> float:
        return self.day_orders / (DAY_SECONDS / self.speed)

    def stack_args(self) -> list[str]:
        return [
            *("--orders", str(self.orders), "--rate", f"{self.rate:.3f}"),
            *("--speed", str(self.speed), "--chaos", "--seed", str(self.seed)),
            *("--pickers", str(self.pickers), "--pick-seconds", str(self.pick_seconds)),
        ]


# -- memory of every process --------------------------------------------------------------


@dataclass(frozen=True)
class Footprint:
    """One process's memory, MB: the whole RSS and its private part (``RssAnon``)."""

    rss: float
    private: float


@dataclass(frozen=True)
class Growth:
    """Medians of the first and the last quarter of a process's samples."""

    first: Footprint
    last: Footprint

    def added(self) -> float:
        """MB of the private part: the shared part is bounded by configuration (see above)."""
        return self.last.private - self.first.private

    def rise(self) -> float:
        return self.added() / self.first.private

    def grew(self) -> bool:
        """Not flat: by more than the limit, and by more than the floor."""
        return self.rise() >= GROWTH_LIMIT and self.added() >= GROWTH_FLOOR_MB


@dataclass
class MemorySampler:
    """The memory of every descendant of ``root`` once a second, by a stable label."""

    root: int
    samples: dict[str, list[Footprint]] = field(default_factory=lambda: defaultdict(list))
    pids: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.wait(1.0):
            for pid in [self.root, *_descendants(self.root)]:
                label, found = _label(pid), footprint(pid)
                if label is not None and found is not None:
                    self.samples[label].append(found)
                    self.pids[label].add(pid)

    def growth(self) -> dict[str, Growth]:
        """Per process, its pool's processes numbered in order of their port (or pid), so
        runs line up."""
        found = {}
        for label, series in self.samples.items():
            quarter = len(series) // 4
            if quarter:
                found[label] = Growth(_median(series[:quarter]), _median(series[-quarter:]))
        return _numbered(found)


def _median(series: list[Footprint]) -> Footprint:
    return Footprint(
        statistics.median(f.rss for f in series), statistics.median(f.private for f in series)
    )


def _numbered(found: dict[str, Growth]) -> dict[str, Growth]:
    """«hook worker :34417» → «hook worker 1», «nginx (worker process)#61» → «… 2»."""
    pools: dict[str, list[str]] = defaultdict(list)
    for label in found:
        pools[label.split("#")[0].split(":")[0].strip()].append(label)
    named = {}
    for role, labels in pools.items():
        ordered = sorted(labels, key=lambda label: int("".join(filter(str.isdigit, label)) or 0))
        for n, label in enumerate(ordered, 1):
            named[role if len(labels) == 1 else f"{role} {n}"] = found[label]
    return named


@contextmanager
def sampling(root: int) -> Iterator[MemorySampler]:
    sampler = MemorySampler(root)
    thread = threading.Thread(target=sampler.run, name="rss-sampler", daemon=True)
    thread.start()
    try:
        yield sampler
    finally:
        sampler.stop.set()
        thread.join()


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            tree[parent].append(int(entry.name))
    return tree


def _descendants(root: int) -> list[int]:
    tree, found, todo = _children(), [], [root]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _label(pid: int) -> str | None:
    """A process's role: «hook :port», «scheduler», «nginx worker 2»…; None when gone."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    words = [word.decode(errors="replace") for word in argv if word]
    if words and words[0].startswith("nginx"):
        return f"nginx ({' '.join(words)[7:21].strip()})#{pid % 100}"
    if "smbridge" not in words:
        return None
    rest = words[words.index("smbridge") + 1 :]
    if rest[:1] == ["serve"] and "--port" in rest:
        return f"{rest[1]} worker :{rest[rest.index('--port') + 1]}"
    if rest[:1] == ["emulate"]:
        return f"{rest[1]} emulator"
    return "supervisor (smbridge run)" if rest[:1] == ["run"] else " ".join(rest[:1])


def footprint(pid: int) -> Footprint | None:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    kilobytes = {
        name: int(value.split()[0])
        for name, _, value in (line.partition(":") for line in lines)
        if name in ("VmRSS", "RssAnon")
    }
    if len(kilobytes) < 2:  # a zombie has neither
        return None
    return Footprint(kilobytes["VmRSS"] / 1024, kilobytes["RssAnon"] / 1024)


# -- the day ------------------------------------------------------------------------------


@dataclass
class Pace:
    """How the day went as SM saw it, from its report once a second: when its first and
    its last order were made, and the most orders open at once (made, not yet ready)."""

    planned: int  # orders SM makes in the run
    first_made: float | None = None
    last_made: float | None = None
    peak_open: int = 0

    def seen(self, report: dict[str, Any]) -> None:
        now, made = time.monotonic(), int(report["orders"]["generated"])
        if made and self.first_made is None:
            self.first_made = now
        if made == self.planned and self.last_made is None:
            self.last_made = now
        self.peak_open = max(self.peak_open, int(report["orders"].get("open", 0)))

    def made_per_second(self) -> float | None:
        """SM's real pace: the emulator falls behind its plan when the box has no CPU left."""
        if self.first_made is None or self.last_made is None or self.last_made == self.first_made:
            return None
        return (self.planned - 1) / (self.last_made - self.first_made)


@dataclass
class DayResult:
    database: str
    seconds: float
    pace: Pace
    report: dict[str, Any]
    hook_answers: dict[int, int]
    counts: dict[str, Any]
    memory: dict[str, Growth]
    restarts: int

    def errors(self) -> dict[str, int]:
        c = self.counts
        return {
            "non-2xx answers to SM's webhooks (nginx log)": sum(
                n for status, n in self.hook_answers.items() if not 200 <= status < 300
            ),
            "notifications SM refused": int(self.report["rejected"]),
            "webhooks failed / parked": c["journal_failed"] + c["journal_parked"],
            "notifications not delivered (pending, dead)": c["undelivered"],
            "process restarts": self.restarts,
        }

    def lost(self) -> int:
        made = int(self.report["orders"]["generated"])
        return max(0, made - int(self.counts["orders"]))

    def checked(self) -> dict[str, Growth]:
        """The processes whose memory must stay flat (see ``NOT_CHECKED``)."""
        return {
            label: growth
            for label, growth in self.memory.items()
            if growth.first.private and NOT_CHECKED not in label
        }

    def worst_growth(self) -> tuple[str, float]:
        rises = {label: g.rise() for label, g in self.checked().items()}
        label = max(rises, key=lambda name: rises[name], default="—")
        return label, rises.get(label, 0.0)

    def failures(self, plan: DayPlan) -> list[str]:
        c, problems = self.counts, []
        if sum(self.errors().values()):
            problems.append(f"errors {self.errors()}")
        if self.lost():
            problems.append(f"{self.lost()} orders lost")
        if c["finished"] != plan.orders or c["orders"] != plan.orders:
            problems.append(f"{c['finished']} of {plan.orders} orders delivered or cancelled")
        if c["documents"] != c["delivered"]:
            problems.append(f"{c['documents']} sales documents for {c['delivered']} deliveries")
        grown = [label for label, growth in self.checked().items() if growth.grew()]
        if grown:
            problems.append(f"memory grew: {', '.join(grown)}")
        return problems


def finished(report: dict[str, Any]) -> int:
    states = report["orders"]
    return int(states.get("delivered", 0)) + int(states.get("cancelled", 0))


def live_a_day(kind: str, plan: DayPlan) -> DayResult:
    with throwaway_database(kind) as url:
        db = create_db_engine(Settings(database_url=url))
        try:
            started = time.monotonic()
            with (
                running_stack(url, *plan.stack_args(), start_seconds=START_SECONDS) as stack,
                sampling(stack.process.pid) as rss,
            ):
                pace = Pace(plan.orders)
                report = _wait_for_the_day(stack, plan, pace)
                _wait_for_documents(db, 120)
                seconds = time.monotonic() - started
                answers = dict(stack.hook_answers())
                counts = _counts(db)
            restarts = sum(len(pids) - 1 for pids in rss.pids.values())
            growth = rss.growth()
            return DayResult(kind, seconds, pace, report, answers, counts, growth, restarts)
        finally:
            db.dispose()


def _wait_for_the_day(stack: RunningStack, plan: DayPlan, pace: Pace) -> dict[str, Any]:
    """Until every order is delivered or cancelled (or the timeout); a busy emulator that
    is slow to report is asked again, not taken for a failure. ``pace`` follows SM."""
    deadline = time.monotonic() + plan.timeout
    report: dict[str, Any] = {}
    while time.monotonic() < deadline:
        assert stack.process.poll() is None, "smbridge run died"
        try:
            report = stack.report()
        except httpx.HTTPError:
            continue
        pace.seen(report)
        if report["orders"]["generated"] == plan.orders and finished(report) == plan.orders:
            break
        time.sleep(1)
    return report or stack.report()


def _with_retried_start(kind: str, plan: DayPlan, starts: int = 3) -> DayResult:
    """Should the stand still not answer, the day is started again on a new database
    (said on stderr), never counted half."""
    for attempt in range(1, starts + 1):
        try:
            return live_a_day(kind, plan)
        except TimeoutError as slow:
            if attempt == starts:
                raise
            print(f"{kind}: the stand did not start ({slow}); starting again", file=sys.stderr)
    raise AssertionError("unreachable")


def _wait_for_documents(db: Engine, seconds: float) -> None:
    """The sales job runs every 15 s on a demo stand: let it reach the last deliveries."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        counts = _counts(db)
        if counts["documents"] >= counts["delivered"]:
            return
        time.sleep(2)


def _counts(db: Engine) -> dict[str, Any]:
    end = ending(db)
    with db.connect() as c:
        documents = c.execute(select(func.count()).select_from(sales_documents)).scalar_one()
        alerts = c.execute(
            select(
                monitoring_problems.c.rule,
                func.count(),
                func.count(monitoring_problems.c.resolved_at),
            ).group_by(monitoring_problems.c.rule)
        ).all()
    delivered = end.statuses.get("delivered", 0)
    cancelled = end.statuses.get("cancelled", 0)
    return {
        "orders": sum(end.statuses.values()),
        "delivered": delivered,
        "finished": delivered + cancelled,
        "cancelled": cancelled,
        "journal_failed": end.journal.get("failed", 0),
        "journal_parked": end.journal.get("parked", 0),
        "undelivered": end.undelivered,
        "documents": int(documents),
        "alerts": {rule: (int(n), int(resolved)) for rule, n, resolved in alerts},
    }


# -- the table ----------------------------------------------------------------------------


def table(plan: DayPlan, results: list[DayResult]) -> Table:
    out = Table(
        "what",
        *(result.database for result in results),
        title="A simulated day (bench/simulated_day.py)",
    )
    rows: list[tuple[str, list[str]]] = [
        ("plan", [_plan(plan) for _ in results]),
        ("seconds", [f"{r.seconds:.0f}" for r in results]),
        ("SM's pace: orders made a second (planned)", [_pace(plan, r) for r in results]),
        ("most orders open at SM at once", [str(r.pace.peak_open) for r in results]),
        ("orders made by SM / in our database", [_made(r) for r in results]),
        (
            "delivered / cancelled",
            [f"{r.counts['delivered']} / {r.counts['cancelled']}" for r in results],
        ),
        ("webhooks posted (duplicates)", [_webhooks(r) for r in results]),
        ("lost orders", [str(r.lost()) for r in results]),
    ]
    rows += [(name, [str(r.errors()[name]) for r in results]) for name in results[0].errors()]
    rows += [
        (
            "sales documents / delivered orders",
            [f"{r.counts['documents']} / {r.counts['delivered']}" for r in results],
        ),
        ("alerts fired: rule (resolved)", [_alerts(r) for r in results]),
        (
            "private memory: worst growth, last vs first quarter (not the emulators; "
            "a failure at +10 % and +1 MB)",
            [_worst(r) for r in results],
        ),
    ]
    labels = sorted({label for r in results for label in r.memory})
    rows += [(f"MB {label}: RSS (private)", [_rss(r, label) for r in results]) for label in labels]
    for name, values in rows:
        out.add_row(name, *values)
    return out


def _plan(plan: DayPlan) -> str:
    return (
        f"{plan.orders:,} orders at {plan.speed:g}x, {plan.rate:.1f}/s (a day of "
        f"{plan.day_orders:,}), chaos, nginx, {plan.pickers} pickers"
    )


def _pace(plan: DayPlan, result: DayResult) -> str:
    made = result.pace.made_per_second()
    return f"{'—' if made is None else f'{made:.1f}'} ({plan.rate:.1f})"


def _made(result: DayResult) -> str:
    return f"{result.report['orders']['generated']} / {result.counts['orders']}"


def _webhooks(result: DayResult) -> str:
    posted = result.report["webhooks"]
    return f"{sum(posted.values())} ({posted.get('duplicate', 0)})"


def _alerts(result: DayResult) -> str:
    fired = result.counts["alerts"]
    return (
        ", ".join(f"{rule} {n} ({resolved})" for rule, (n, resolved) in sorted(fired.items()))
        or "none"
    )


def _worst(result: DayResult) -> str:
    label, rise = result.worst_growth()
    return f"{rise:+.1%} ({label})"


def _rss(result: DayResult, label: str) -> str:
    if label not in result.memory:
        return "—"
    growth = result.memory[label]
    first, last = growth.first, growth.last
    return f"{first.rss:.0f} → {last.rss:.0f} ({first.private:.0f} → {last.private:.0f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--day-orders", type=int, default=20_000, help="sets the pace")
    parser.add_argument("--speed", type=float, default=100.0)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pickers", type=int, default=12)
    parser.add_argument("--pick-seconds", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=3600.0, help="for the orders to finish")
    args = parser.parse_args(argv)
    plan = DayPlan(
        args.orders, args.day_orders, args.speed, args.pickers, args.pick_seconds, args.timeout
    )
    results = [_with_retried_start(kind, plan) for kind in args.databases.split(",")]
    Console(width=200).print(table(plan, results))
    failed = [f"{r.database}: {problem}" for r in results for problem in r.failures(plan)]
    for problem in failed:
        print(f"FAILED {problem}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
