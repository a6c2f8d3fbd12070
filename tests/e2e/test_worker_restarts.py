"""Workers leave and rejoin their pool behind nginx without failing requests.

A continuous load of webhooks goes through a real nginx while workers are killed (only
requests already sent to the dead worker may fail) or restarted one by one by
``smbridge run``'s rolling restart (nothing may fail at all). Every webhook that was
answered 200 must be in the database.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from smbridge.deploy.certificate import self_signed
from smbridge.kernel.database.tables import webhook_journal
from smbridge.kernel.database.unit_of_work import Database
from tests.conftest import make_settings
from tests.factories import HEADERS, add_store, envelope, order_payload
from tests.support.environment import free_port_range, wait_until_up
from tests.support.front import Front, nginx_front, worker_environment, worker_pool

pytestmark = [pytest.mark.slow, pytest.mark.timed]

HOOK = "/sbermarket/orders/hook/"
CONCURRENCY = 6


@dataclass
class Load:
    """Webhooks of distinct orders sent without pause until stopped."""

    client: httpx.Client
    stop: threading.Event = field(default_factory=threading.Event)
    answers: list[tuple[int, str]] = field(default_factory=list)  # (status, request id)
    errors: list[str] = field(default_factory=list)
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send_until_stopped(self) -> None:
        while not self.stop.is_set():
            with self._lock:
                number = next(self._numbers)
            body = envelope("order.created", order_payload(f"H{number:010d}"))
            try:
                answer = self.client.post(HOOK, content=body, headers=HEADERS)
            except httpx.HTTPError as exc:  # a failure too: nginx did not even answer
                self.errors.append(repr(exc))
                continue
            with self._lock:
                self.answers.append((answer.status_code, answer.headers["x-request-id"]))


@contextmanager
def continuous_load(client: httpx.Client) -> Iterator[Load]:
    load = Load(client)
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        for _ in range(CONCURRENCY):
            pool.submit(load.send_until_stopped)
        try:
            yield load
        finally:
            load.stop.set()


def journal_size(db: Database) -> int:
    with db.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(webhook_journal)).scalar_one()


def answers(client: httpx.Client, path: str) -> bool:
    try:
        return client.get(path).status_code == 200
    except httpx.TransportError:
        return False


def wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_killing_a_worker_fails_only_requests_already_sent_to_it(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    add_store(db)
    env = worker_environment(database_url)
    with (
        worker_pool("hook", 4, env, tmp_path) as hook,
        worker_pool("assembly", 1, env, tmp_path) as api,
        nginx_front(
            tmp_path / "nginx",
            make_settings(database_url),
            nginx_hook_servers=[f"127.0.0.1:{p}" for p in hook.ports],
            nginx_assembly_servers=[f"127.0.0.1:{p}" for p in api.ports],
        ) as front,
        front.client(timeout=30) as client,
        continuous_load(client) as load,
    ):
        wait_for(lambda: len(load.answers) > 100, 30)
        victim = hook.ports[1]
        hook.processes[victim].kill()
        sent_before_kill = len(load.answers)
        wait_for(lambda: len(load.answers) > sent_before_kill + 300, 60)
    failed = {request_id for status, request_id in load.answers if status != 200}
    log = {entry["request_id"]: entry for entry in front.access_log()}
    victim_address = f"127.0.0.1:{victim}"
    for request_id in failed:  # each had reached the dead worker, never another
        assert log[request_id]["upstream"] == victim_address, log[request_id]
    # A worker killed while sending its answer leaves the client a cut-off response and
    # no answer to read an id from: those requests were in flight on it too.
    assert all("RemoteProtocolError" in error for error in load.errors), load.errors
    assert len(failed) + len(load.errors) <= CONCURRENCY
    rerouted = [e for e in log.values() if victim_address in e["upstream"] and e["status"] == 200]
    assert rerouted, "requests the dead worker refused should have gone to another"
    answered = sum(1 for status, _ in load.answers if status == 200)
    # every 200 is stored; a killed worker may have committed a webhook whose answer it
    # never finished sending (SM would send it again, and the journal would dedupe it)
    assert answered <= journal_size(db) <= answered + len(failed) + len(load.errors)


@contextmanager
def smbridge_run(
    database_url: str, directory: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Front]]:
    base = free_port_range(10)
    https_port = base + 8
    command = [
        sys.executable, "-m", "smbridge", "run",
        "--hook-port", str(base), "--assembly-port", str(base + 4),
        "--https-port", str(https_port), "--http-port", str(https_port + 1),
        "--state-dir", str(directory),
    ]  # fmt: skip
    env = worker_environment(
        database_url, SMBRIDGE_DRAIN_SECONDS="2.5", SMBRIDGE_NGINX_FAIL_TIMEOUT_SECONDS="2"
    )
    output = (directory / "run.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    nginx_dir = directory / "nginx"
    front = Front(f"https://127.0.0.1:{https_port}", "", nginx_dir, self_signed(nginx_dir / "tls"))
    try:
        for port in range(base, base + 8):
            wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=60)
        yield process, front
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        output.close()


def test_a_rolling_restart_of_both_pools_under_load_fails_nothing(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    add_store(db)
    with smbridge_run(database_url, tmp_path) as (process, front):
        with front.client(timeout=30) as client:
            wait_for(lambda: answers(client, "/healthz/hook"), 30)
        with front.client(timeout=30) as client, continuous_load(client) as load:
            wait_for(lambda: len(load.answers) > 50, 30)
            os.kill(process.pid, signal.SIGHUP)
            run_log = tmp_path / "run.log"
            # a guard against hanging, not a pace: under load one worker may take 30 s
            wait_for(lambda: b"rolling_restart_done" in run_log.read_bytes(), 480)
            answered = len(load.answers)
            wait_for(lambda: len(load.answers) > answered + 50, 30)
    # several processes share the log file, so lines may run together: search, not parse
    started = re.findall(
        r'"child": "([^"]+)", "pid": \d+, "event": "supervisor.child_started"', run_log.read_text()
    )
    for worker in {name for name in started if name.startswith(("hook:", "assembly:"))}:
        assert started.count(worker) == 2, started  # each started, then restarted once
    assert len([n for n in started if n.startswith(("hook:", "assembly:"))]) == 16
    assert load.errors == []
    failed = {request_id for status, request_id in load.answers if status != 200}
    assert not failed, refusal_evidence(failed, front, run_log)
    assert journal_size(db) == len(load.answers)


def refusal_evidence(failed: set[str], front: Front, run_log: Path) -> str:
    """What nginx logged for each refused request, and what the workers warned about."""
    lines = [str(e) for e in front.access_log() if e["request_id"] in failed]
    levels = ('"level": "warning"', '"level": "error"')
    logged = run_log.read_text().splitlines()
    warnings = [line for line in logged if any(level in line for level in levels)]
    return "\n".join(["access log:", *lines, "run log warnings:", *warnings[-40:]])
