"""Instruments of the fault scenarios (tests/e2e/test_fault_*.py, docs/reliability.md): a
webhook probe through nginx that times every answer, the figures of an outage, a stand's
worker processes, and the scale of a run.

Each scenario runs short in the suite and long with ``SMBRIDGE_FAULTS=long``: the same
test and the same assertions, only more orders and longer or more faults.
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import ssl
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select

from smbridge.kernel.database.tables import orders, webhook_journal
from smbridge.kernel.database.unit_of_work import Database
from tests.factories import envelope
from tests.support.stack import RunningStack, running_stack

T = TypeVar("T")

LONG = os.environ.get("SMBRIDGE_FAULTS", "") == "long"
#: The hook token of a fault scenario's stand, so the probe can post through its nginx.
PROBE_TOKEN = "fault-probe-token"
#: An event type the hook service stores and answers 200 without touching any order.
PROBE_EVENT = "fault.probe"
HOOK = "/sbermarket/orders/hook/"


def scale(short: T, long: T) -> T:
    """The short figure in the suite, the long one with ``SMBRIDGE_FAULTS=long``."""
    return long if LONG else short


@dataclass(frozen=True)
class Answer:
    sent: float  # monotonic time the request left
    seconds: float  # until its answer (or the error)
    status: int | None  # None: no HTTP answer at all
    retry_after: str | None = None  # the header, when the answer had one


@dataclass
class Probe:
    """Webhooks of an event type the service only stores, one every ``pause`` seconds:
    each is a real journal insert (a database write through nginx and a hook worker) with
    no effect on orders, so SM's emulator and its report are left alone."""

    client: httpx.Client
    pause: float = 0.05
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    odd: list[str] = field(default_factory=list)  # 5xx answers without Retry-After, as seen

    def run(self) -> None:
        headers = {"Client-Token": PROBE_TOKEN, "Content-Type": "application/json"}
        for number in itertools.count(1):
            if self.stop.is_set():
                return
            body = envelope(PROBE_EVENT, {"probe": number, "run": self.run_id})
            started = time.monotonic()
            try:
                response = self.client.post(HOOK, content=body, headers=headers)
            except httpx.HTTPError:
                self.answers.append(Answer(started, time.monotonic() - started, None))
            else:
                seconds, retry = time.monotonic() - started, response.headers.get("Retry-After")
                self.answers.append(Answer(started, seconds, response.status_code, retry))
                if response.status_code >= 500 and retry is None and len(self.odd) < 3:
                    self.odd.append(f"{dict(response.headers)} {response.text[:300]}")
            self.stop.wait(self.pause)

    def statuses(self) -> Counter[int | None]:
        return Counter(answer.status for answer in self.answers)

    def without_retry_after(self) -> list[Answer]:
        """The 503s that did not say when to come back."""
        return [a for a in self.answers if a.status == 503 and not a.retry_after]


@contextmanager
def probing(https_url: str, ca_file: Path, pause: float = 0.05) -> Iterator[Probe]:
    """A probe posting through the stand's nginx (its self-signed certificate trusted)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    with httpx.Client(base_url=https_url, verify=context, timeout=30) as client:
        probe = Probe(client, pause)
        thread = threading.Thread(target=probe.run, name="probe", daemon=True)
        thread.start()
        try:
            yield probe
        finally:
            probe.stop.set()
            thread.join(timeout=40)


def probes_stored(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(webhook_journal)
                .where(webhook_journal.c.event_type == PROBE_EVENT)
            ).scalar_one()
        )


@dataclass(frozen=True)
class Outage:
    """The probe's answers in one fault window: from the fault to the database's return."""

    sent: int
    statuses: Counter[int | None]
    slowest: float  # the longest answer to a request sent during the fault, seconds
    back_after: float | None  # from the database's return to the first 200's arrival

    def line(self, name: str) -> str:
        back = "never" if self.back_after is None else f"{self.back_after:.2f} s"
        return (
            f"{name}: {self.sent} probes during the fault {dict(self.statuses)}, "
            f"slowest answer {self.slowest:.2f} s, first 200 after the database {back}"
        )


def outage(answers: list[Answer], down: float, up: float) -> Outage:
    during = [a for a in answers if down <= a.sent < up]
    after = [a for a in answers if a.sent >= up and a.status == 200]
    back = min((a.sent + a.seconds for a in after), default=None)
    return Outage(
        len(during),
        Counter(a.status for a in during),
        max((a.seconds for a in during), default=0.0),
        None if back is None else back - up,
    )


def wait_for_answer(probe: Probe, status: int | None, since: float, seconds: float) -> bool:
    """Whether the probe got an answer ``status`` to a request sent after ``since``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(a.status == status and a.sent >= since for a in list(probe.answers)):
            return True
        time.sleep(0.05)
    return False


def child_processes(parent: int) -> dict[str, int]:
    """The smbridge processes ``parent`` started, by their command line's arguments after
    ``-m smbridge`` (``serve hook --host ... --port 8100``, ``scheduler``): their pids."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
        if ppid == parent and b"smbridge" in argv:
            arguments = argv[argv.index(b"smbridge") + 1 :]
            found[b" ".join(arguments).decode().strip()] = int(stat.parent.name)
    return found


def workers(processes: dict[str, int]) -> dict[str, int]:
    """The web workers and the scheduler among a stand's processes (not the emulators)."""
    return {name: pid for name, pid in processes.items() if name.startswith(("serve", "scheduler"))}


@contextmanager
def small_filesystem(directory: Path, megabytes: int) -> Iterator[Path]:
    """A tmpfs of ``megabytes`` mounted on ``directory``: a disk that really fills up
    (needs root, as the suite runs in CI; the scenario says so when it cannot mount)."""
    mount, umount = shutil.which("mount"), shutil.which("umount")
    assert mount is not None, "util-linux's mount is not installed"
    assert umount is not None, "util-linux's umount is not installed"
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(directory)],
        check=True,
        capture_output=True,
    )
    try:
        yield directory
    finally:  # lazily: a process of the stand may still be letting go of its files
        subprocess.run([umount, "-l", str(directory)], check=False, capture_output=True)


def fill(directory: Path) -> Path:
    """Write a file into ``directory`` until its filesystem has no byte left."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as file:  # unbuffered: nothing left to flush
        try:
            while True:
                file.write(b"\0" * 65536)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    return filler


# -- a stand under load, and what must hold after any fault ------------------------------------


@contextmanager
def loaded_stand(
    url: str, orders_count: int, seed: int
) -> Iterator[tuple[RunningStack, Probe, dict[str, int]]]:
    """The whole stand (nginx, workers, scheduler, dispatcher, SM emulator, simulated pickers)
    making ``orders_count`` orders, a probe posting through its nginx, and the stand's worker
    processes once the probe is answered (a fault must not change them)."""
    with (
        running_stack(
            url,
            *("--orders", str(orders_count), "--rate", "4", "--speed", "600"),
            *("--seed", str(seed), "--pick-seconds", "0.05"),
            # a send whose answer could not be recorded is sent again after its lease
            env={"SMBRIDGE_DISPATCH_LEASE_SECONDS": "5", "SMBRIDGE_HOOK_TOKEN": PROBE_TOKEN},
            start_seconds=180,
        ) as stack,
        probing(stack.https_url, stack.ca_file) as probe,
    ):
        assert wait_for_answer(probe, 200, 0, 30), probe.statuses()
        yield stack, probe, workers(child_processes(stack.process.pid))


def finished(report: dict[str, Any]) -> int:
    """Orders of the SM emulator's report that ended (delivered or cancelled)."""
    states = report["orders"]
    return int(states.get("delivered", 0)) + int(states.get("cancelled", 0))


def wait_for_every_order(stack: RunningStack, orders_count: int) -> dict[str, Any]:
    return stack.wait_until(
        lambda r: r["orders"]["generated"] == orders_count and finished(r) == orders_count, 300
    )


@dataclass(frozen=True)
class Stored:
    journal: dict[str, int]  # SM's webhooks by status
    probes: int
    orders: int


def stored(db: Database) -> Stored:
    with db.engine.connect() as c:
        journal: dict[str, int] = dict(
            c.execute(
                select(webhook_journal.c.status, func.count())
                .where(webhook_journal.c.event_type != PROBE_EVENT)
                .group_by(webhook_journal.c.status)
            ).all()
        )
        orders_count = int(c.execute(select(func.count()).select_from(orders)).scalar_one())
    return Stored(journal, probes_stored(db), orders_count)


def assert_fast_refusals_and_return(
    windows: Sequence[Outage], slowest: float, back_within: float
) -> None:
    for figures in windows:
        assert set(figures.statuses) <= {200, 503}, figures  # never 500, never a hang
        assert figures.slowest < slowest, figures
        assert figures.back_after is not None, figures
        assert figures.back_after < back_within, figures


def assert_nothing_lost(
    report: dict[str, Any], kept: Stored, orders_count: int, probe: Probe
) -> None:
    """Every order ended, every webhook SM was answered 200 for is stored exactly once,
    none failed or parked, and every refusal told SM when to come back."""
    assert finished(report) == orders_count, report["orders"]
    assert report["rejected"] == 0, report["rejections"]
    accepted = sum(n for kind, n in report["webhooks"].items() if kind != "duplicate")
    assert sum(kept.journal.values()) == accepted  # every acknowledged webhook, exactly once
    assert kept.journal.get("failed", 0) == 0
    assert kept.journal.get("parked", 0) == 0
    assert kept.orders == orders_count
    assert probe.without_retry_after() == [], probe.odd  # SM is told when to come back
    answered = probe.statuses()
    assert answered[200] <= kept.probes <= answered[200] + answered[None], (answered, kept)
