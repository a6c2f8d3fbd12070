"""A real nginx, rendered by ``smbridge nginx render``'s code, in front of real workers."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson

from smbridge.deploy import nginx
from smbridge.deploy.certificate import CertificatePair, self_signed
from smbridge.entrypoints.supervisor import stop_processes
from smbridge.settings import Settings
from tests.support.environment import free_port_range, wait_until_up

NGINX = nginx.find_binary()
HOST = "127.0.0.1"
Item = TypeVar("Item")
Answer = TypeVar("Answer")


@dataclass
class WorkerPool:
    """``smbridge serve`` processes on consecutive ports; each logs to its own file."""

    service: str
    first_port: int
    size: int
    env: dict[str, str]
    directory: Path
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def ports(self) -> list[int]:
        return list(range(self.first_port, self.first_port + self.size))

    def start(self, port: int) -> None:
        log = (self.directory / f"{self.service}-{port}.log").open("ab")
        command = [sys.executable, "-m", "smbridge", "serve", self.service, "--port", str(port)]
        self.processes[port] = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        log.close()
        wait_until_up(f"http://{HOST}:{port}/healthz", seconds=30)

    def logs(self) -> str:
        return "".join(p.read_text() for p in self.directory.glob(f"{self.service}-*.log"))

    def stop(self) -> None:
        stop_processes(list(self.processes.values()))


@contextmanager
def worker_pool(
    service: str, size: int, env: dict[str, str], directory: Path
) -> Iterator[WorkerPool]:
    pool = WorkerPool(service, free_port_range(size), size, env, directory)
    try:
        for port in pool.ports:
            pool.start(port)
        yield pool
    finally:
        pool.stop()


@dataclass(frozen=True)
class Front:
    https_url: str
    http_url: str
    directory: Path
    tls: CertificatePair
    master_pid: int | None = None  # None: started by someone else (``smbridge run``)

    def worker_uids(self) -> list[int]:
        """The user ids nginx's worker processes run as (children of its master)."""
        assert self.master_pid is not None
        uids = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
            except OSError:  # gone meanwhile
                continue
            if int(fields["PPid"]) == self.master_pid:
                uids.append(int(fields["Uid"].split()[1]))  # the effective one
        return uids

    def client(self, source: str = HOST, http2: bool = False, **options: Any) -> httpx.Client:
        """A client that trusts the stand's certificate, connecting from ``source``
        (another loopback address plays a foreign network); ``http2``: offers HTTP/2 only."""
        context = ssl.create_default_context(cafile=str(self.tls.certificate))
        transport = httpx.HTTPTransport(
            local_address=source, verify=context, http1=not http2, http2=http2
        )
        return httpx.Client(base_url=self.https_url, transport=transport, **options)

    def concurrently(
        self,
        source: str,
        threads: int,
        request: Callable[[httpx.Client, Item], Answer],
        items: Iterable[Item],
    ) -> list[Answer]:
        """``request`` for each item from ``threads`` threads, each with its own client.

        One client shared by threads let a thread read a connection another had just
        closed (``EBADF``, seen once in CI); a flood is many connections anyway."""
        local = threading.local()
        with ExitStack() as clients, ThreadPoolExecutor(threads) as pool:
            lock = threading.Lock()

            def send(item: Item) -> Answer:
                if not hasattr(local, "client"):
                    with lock:  # ExitStack is not thread-safe
                        local.client = clients.enter_context(self.client(source))
                return request(local.client, item)

            return list(pool.map(send, items))

    def raw(self, request: bytes, tls: bool = True) -> httpx.Response:
        """Send bytes no HTTP client would (a malformed request) and read the answer
        nginx gives before closing."""
        url = self.https_url if tls else self.http_url
        port = int(url.rsplit(":", 1)[1])
        connection: socket.socket = socket.create_connection((HOST, port), timeout=5)
        if tls:
            context = ssl.create_default_context(cafile=str(self.tls.certificate))
            connection = context.wrap_socket(connection, server_hostname=HOST)
        with connection:
            connection.sendall(request)
            received = b""
            while chunk := connection.recv(65536):
                received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = [(name, value) for name, _, value in (line.partition(": ") for line in lines)]
        return httpx.Response(int(status_line.split()[1]), headers=headers, content=body)

    def access_log(self) -> list[dict[str, Any]]:
        lines = (self.directory / "logs" / "access.log").read_text().splitlines()
        return [orjson.loads(line) for line in lines]

    def logged(self, request_id: str, seconds: float = 5) -> dict[str, Any]:
        """The access log entry of a request; nginx may write it just after answering."""
        deadline = time.monotonic() + seconds
        while True:
            found = [e for e in self.access_log() if e["request_id"] == request_id]
            if found:
                return found[-1]
            assert time.monotonic() < deadline, f"request {request_id} not in the access log"
            time.sleep(0.05)


@contextmanager
def nginx_front(directory: Path, settings: Settings, **overrides: Any) -> Iterator[Front]:
    assert NGINX is not None, "nginx is not installed (.ci/run installs it)"
    tls = self_signed(directory / "tls")
    https_port = free_port_range(2)
    stand = settings.model_copy(
        update={
            "nginx_certificate": str(tls.certificate),
            "nginx_certificate_key": str(tls.key),
            "nginx_https_port": https_port,
            "nginx_http_port": https_port + 1,
            **overrides,
        }
    )
    config = directory / "nginx.conf"
    nginx.write(nginx.plan_from_settings(stand, state_dir=str(directory)), config)
    process = subprocess.Popen(nginx.foreground_command(NGINX, config))
    try:
        _wait_for_port(https_port, process)
        yield Front(
            f"https://{HOST}:{https_port}",
            f"http://{HOST}:{https_port + 1}",
            directory,
            tls,
            process.pid,
        )
    finally:
        stop_processes([process], signals={process.pid: signal.SIGQUIT})


def _wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "nginx exited; see its error.log"
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nginx did not listen on {port}")


def worker_environment(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "SMBRIDGE_DATABASE_URL": database_url,
        "SMBRIDGE_HOOK_TOKEN": "test-token",
        "SMBRIDGE_LOG_LEVEL": "INFO",
        "SMBRIDGE_LOG_JSON": "true",
        **extra,
    }
