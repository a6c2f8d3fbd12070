"""Running the whole system (``smbridge run --demo``) as a subprocess for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.support.environment import free_port_range, wait_until_up


@dataclass(frozen=True)
class RunningStack:
    sm_url: str
    process: subprocess.Popen[bytes]
    state_dir: Path
    https_url: str = ""  # nginx in front of the workers, as SM and the pickers reach them

    @property
    def ca_file(self) -> Path:
        """The stand's self-signed certificate, for a client of its nginx."""
        return self.state_dir / "nginx" / "tls" / "selfsigned.crt"

    def hook_answers(self) -> Counter[int]:
        """The status codes nginx gave SM's webhook posts, from its access log."""
        answers: Counter[int] = Counter()
        log = self.state_dir / "nginx" / "logs" / "access.log"
        for line in log.read_text().splitlines() if log.exists() else []:
            entry = orjson.loads(line)
            if entry["uri"].startswith("/sbermarket/orders/hook"):
                answers[int(entry["status"])] += 1
        return answers

    def report(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{self.sm_url}/report", timeout=5).json()
        return answer

    def wait_until(self, done: Any, seconds: float) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            report = self.report()
            if done(report) or time.monotonic() > deadline:
                return report
            assert self.process.poll() is None, "smbridge run died"
            time.sleep(0.5)


@contextmanager
def running_stack(
    database_url: str,
    *args: str,
    env: dict[str, str] | None = None,
    start_seconds: float = 60,  # a busy machine (the fault scenarios) may need longer
) -> Iterator[RunningStack]:
    base = free_port_range(8)
    hook, assembly, sm, telegram, https = base, base + 2, base + 4, base + 5, base + 6
    state = Path(tempfile.mkdtemp(prefix="smbridge-run-"))
    command = [
        sys.executable,
        "-m",
        "smbridge",
        "run",
        "--demo",
        "--hook-workers",
        "2",
        "--assembly-workers",
        "2",
        "--hook-port",
        str(hook),
        "--assembly-port",
        str(assembly),
        "--sm-port",
        str(sm),
        "--telegram-port",
        str(telegram),
        "--https-port",
        str(https),
        "--http-port",
        str(https + 1),
        "--state-dir",
        str(state),
        "--no-hand-picked-store",  # the tests wait for every order: none is left for a person
        "--no-pickup-no-shows",  # nor for a pickup customer who never comes
        *args,
    ]
    environment = {
        **os.environ,
        "SMBRIDGE_DATABASE_URL": database_url,
        "SMBRIDGE_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    process = subprocess.Popen(command, env=environment)
    stack = RunningStack(f"http://127.0.0.1:{sm}", process, state, f"https://127.0.0.1:{https}")
    try:
        wait_until_up(f"{stack.sm_url}/healthz", seconds=start_seconds)
        yield stack
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(state, ignore_errors=True)
