"""``smbridge run``: every process of the system on one machine, restarted when it crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger(__name__)

_RESTART_BACKOFF_MAX = 30.0


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    backoff: float = field(default=0.5)


class Supervisor:
    """Starts children, restarts the ones that die (with backoff), stops all gracefully."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self.children: list[Child] = []

    def add(self, name: str, *args: str) -> None:
        self.children.append(Child(name, [sys.executable, "-m", "smbridge", *args]))

    def start_all(self) -> None:
        for child in self.children:
            self._start(child)

    def check(self) -> None:
        """Restart children that exited; call this periodically."""
        now = time.monotonic()
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                continue
            if child.process is not None:
                log.warning(
                    "supervisor.child_exited",
                    child=child.name,
                    code=child.process.returncode,
                    restarts=child.restarts,
                )
                child.process = None
                child.next_start = now + child.backoff
                child.backoff = min(child.backoff * 2, _RESTART_BACKOFF_MAX)
            if now >= child.next_start:
                child.restarts += 1
                self._start(child)

    def stop_all(self, grace_seconds: float = 20.0) -> None:
        stop_processes([c.process for c in self.children if c.process], grace_seconds)

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv, env=self._env)
        log.info("supervisor.child_started", child=child.name, pid=child.process.pid)


def stop_processes(processes: list[subprocess.Popen[bytes]], grace_seconds: float = 20.0) -> None:
    """SIGTERM every process still running, wait for all together, kill what outlives it."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def child_environment(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    return env
