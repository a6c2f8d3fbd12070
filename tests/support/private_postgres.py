"""A PostgreSQL server of the test's own, to restart and stop at will.

The machine's shared server must stay up for every other test; outage tests start their
own cluster (Debian's binaries, a temporary directory, a free port) and do to it what a
real outage does: a restart drops every connection, a stop refuses new ones.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.environment import free_port


def _binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian package postgresql)")
    return found[-1]


@dataclass(frozen=True)
class PrivatePostgres:
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self._ctl("start", "-w", "-t", "60", "-l", str(self.directory / "server.log"))

    def stop(self) -> None:
        self._ctl("stop", "-w", "-t", "60", "-m", "fast")

    def restart(self) -> None:
        """What an operator's restart does: every session is cut, then the server is back."""
        self._ctl(
            "restart", "-w", "-t", "60", "-m", "fast", "-l", str(self.directory / "server.log")
        )

    def _ctl(self, *args: str) -> None:
        _as_postgres([_binary("pg_ctl"), "-D", str(self.directory / "data"), *args])


def _as_postgres(command: list[str]) -> None:
    # PostgreSQL refuses to run as root; on CI the tests do run as root.
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    directory = Path(tempfile.mkdtemp(prefix="smbridge-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    server = PrivatePostgres(directory, free_port())
    _as_postgres(
        [_binary("initdb"), "-D", str(directory / "data"), "-U", "postgres", "--auth=trust"]
    )
    settings = (
        f"port = {server.port}\nlisten_addresses = '127.0.0.1'\n"
        f"unix_socket_directories = '{directory}'\nfsync = off\nmax_connections = 100\n"
    )
    with (directory / "data" / "postgresql.auto.conf").open("a") as conf:
        conf.write(settings)
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # a test may have stopped it
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)
