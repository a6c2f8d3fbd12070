"""``smbridge run``: every process of the system on one machine, restarted when it crashes,
and its web workers restarted one at a time on request (a rolling restart)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx
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
    health_url: str | None = None  # a web worker: rolled one at a time, up when this answers
    stop_signal: int = signal.SIGTERM
    env: dict[str, str] = field(default_factory=dict)  # on top of the supervisor's


class Supervisor:
    """Starts children, restarts the ones that die (with backoff), stops all gracefully."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self.children: list[Child] = []

    def add(
        self,
        name: str,
        *args: str,
        health_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """An ``smbridge`` subcommand; a web worker gives the URL that says it is up.
        Secrets go in ``env``, never in ``args``: any local user can read a command line."""
        argv = [sys.executable, "-m", "smbridge", *args]
        self.children.append(Child(name, argv, health_url=health_url, env=env or {}))

    def add_program(self, name: str, argv: list[str], stop_signal: int) -> None:
        self.children.append(Child(name, argv, stop_signal=stop_signal))

    def start_all(self, up_within: float = 60.0) -> None:
        """Web workers first; the rest (nginx, emulators) once the workers answer, so
        nothing is sent to a pool that is still starting."""
        workers = [child for child in self.children if child.health_url is not None]
        for child in workers:
            self._start(child)
        for child in workers:
            if child.health_url and not _answers_within(child.health_url, up_within):
                log.warning("supervisor.worker_slow_to_start", child=child.name)
        for child in self.children:
            if child.health_url is None:
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

    def rolling_restart(self, rejoin_seconds: float = 0.0, up_within: float = 60.0) -> bool:
        """Restart the web workers one by one, each only after the previous is back.

        A stopped worker drains (see ``draining``), so nginx loses no request meanwhile.
        nginx counted the refused connections of the restart and shuns the worker for its
        ``fail_timeout`` (``rejoin_seconds``): only after that is it back in the pool, and
        the next one may go; otherwise a pool could end up all shunned at once.
        """
        for child in self.children:
            if child.health_url is None:
                continue
            if child.process is not None:  # a worker may take drain + 20 s of in-flight work
                stop_processes([child.process], grace_seconds=60)
            self._start(child)
            if not _answers_within(child.health_url, up_within):
                log.error("supervisor.rolling_restart_stuck", child=child.name)
                return False
            time.sleep(rejoin_seconds)
        log.info("supervisor.rolling_restart_done")
        return True

    def stop_all(self, grace_seconds: float = 20.0) -> None:
        running = [child for child in self.children if child.process is not None]
        signals = {child.process.pid: child.stop_signal for child in running if child.process}
        stop_processes(
            [child.process for child in running if child.process], grace_seconds, signals
        )

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv, env={**self._env, **child.env})
        log.info("supervisor.child_started", child=child.name, pid=child.process.pid)


def stop_processes(
    processes: list[subprocess.Popen[bytes]],
    grace_seconds: float = 20.0,
    signals: dict[int, int] | None = None,
) -> None:
    """Signal every process still running (SIGTERM unless ``signals`` maps its pid to
    another), wait for all together, kill what outlives the grace period."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.send_signal((signals or {}).get(process.pid, signal.SIGTERM))
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


def _answers_within(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(url).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    return False
