"""deploy/rolling-restart.sh against real processes: a stand-in ``systemctl`` on PATH
(tests/support/bin/systemctl) runs each worker unit as an HTTP server with /healthz."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.environment import free_port_range

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy/rolling-restart.sh"
STAND_IN = ROOT / "tests/support/bin"
#: Not root: a user namespace maps this user to root, as the script demands.
AS_ROOT = [] if os.geteuid() == 0 else ["unshare", "--map-root-user"]


@dataclass
class Machine:
    state: Path
    env_file: Path
    hook_ports: list[int]
    assembly_ports: list[int]

    @property
    def workers(self) -> list[str]:
        hooks = [f"smbridge-hook@{port}.service" for port in self.hook_ports]
        return hooks + [f"smbridge-assembly@{port}.service" for port in self.assembly_ports]

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [STAND_IN / "systemctl", *args], env=self.environment(), text=True, check=False
        )

    def pid(self, unit: str) -> int:
        return int((self.state / "pids" / unit).read_text())

    def restarts(self) -> list[list[str]]:
        log = self.state / "log"
        return [line.split() for line in log.read_text().splitlines()] if log.exists() else []

    def environment(self) -> dict[str, str]:
        wrapper = self.state / "venv"
        return {
            **os.environ,
            "PATH": f"{STAND_IN}:{os.environ['PATH']}",
            "FAKE_SYSTEMD": str(self.state),
            "SMBRIDGE_ENV_FILE": str(self.env_file),
            "SMBRIDGE_VENV": str(wrapper),
            "HEALTH_HOST": "127.0.0.1",
            "REJOIN_SECONDS": "0",
        }

    def rolling_restart(self, *args: str, timeout: int = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*AS_ROOT, SCRIPT, *args],
            env={**self.environment(), "HEALTH_TIMEOUT": str(timeout)},
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[Machine]:
    """Two hook and two assembly workers and the scheduler, all running."""
    state = tmp_path / "systemd"
    for sub in ("units", "pids", "www", "broken", "venv/bin"):
        (state / sub).mkdir(parents=True)
    (state / "www" / "healthz").write_text("ok")
    smbridge = state / "venv/bin/smbridge"  # this tree's smbridge, as the release's would be
    smbridge.write_text(
        f"#!/bin/sh\nPYTHONPATH={ROOT / 'src'} exec {sys.executable} -c "
        "'from smbridge.entrypoints.cli.main import main; main()' \"$@\"\n"
    )
    smbridge.chmod(0o755)
    env_file = tmp_path / "smbridge.env"
    env_file.write_text("SMBRIDGE_LOG_LEVEL=INFO\n")
    base = free_port_range(4)
    found = Machine(state, env_file, [base + 1, base], [base + 3, base + 2])
    for unit in [*found.workers, "smbridge-scheduler.service"]:
        (state / "units" / unit).touch()
        assert found.systemctl("start", unit).returncode == 0
    yield found
    for pid_file in (state / "pids").iterdir():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.mark.slow
def test_every_worker_is_restarted_one_at_a_time_then_the_scheduler(machine: Machine) -> None:
    before = {unit: machine.pid(unit) for unit in [*machine.workers, "smbridge-scheduler.service"]}
    done = machine.rolling_restart()
    assert done.returncode == 0, done.stderr
    restarted = machine.restarts()
    hooks, assemblies = sorted(machine.hook_ports), sorted(machine.assembly_ports)
    expected = [f"smbridge-hook@{port}.service" for port in hooks]
    expected += [f"smbridge-assembly@{port}.service" for port in assemblies]
    assert [unit for unit, _, _ in restarted] == [*expected, "smbridge-scheduler.service"]
    for unit, old, new in restarted:
        assert int(old) == before[unit]
        assert int(new) == machine.pid(unit) != before[unit]
    assert all(healthy(port) for port in [*hooks, *assemblies])
    assert "rolling-restart: done" in done.stdout


@pytest.mark.slow
def test_a_worker_that_does_not_come_back_stops_the_roll(machine: Machine) -> None:
    first, second = sorted(machine.hook_ports)
    (machine.state / "broken" / f"smbridge-hook@{second}.service").touch()
    done = machine.rolling_restart("--workers-only", timeout=2)
    assert done.returncode == 1
    assert f"smbridge-hook@{second}.service did not answer 200" in done.stderr
    restarted = [unit for unit, _, _ in machine.restarts()]
    assert restarted == [f"smbridge-hook@{first}.service", f"smbridge-hook@{second}.service"]
    assert all(healthy(port) for port in machine.assembly_ports)  # untouched, serving


@pytest.mark.slow
def test_settings_that_fail_the_check_restart_nothing(machine: Machine) -> None:
    machine.env_file.write_text("SMBRIDGE_LOG_LEVL=INFO\n")
    done = machine.rolling_restart()
    assert done.returncode == 1
    assert "unknown setting SMBRIDGE_LOG_LEVL; did you mean SMBRIDGE_LOG_LEVEL?" in done.stderr
    assert "nothing was restarted" in done.stderr
    assert machine.restarts() == []
