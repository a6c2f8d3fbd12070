"""A worker keeps its own limits, run as ``smbridge serve`` runs it, with nobody in front:
deadlines for a request's head and body, a client gone mid-body, its open-file limit.

Raw sockets play the slow or vanishing client. Their waits are bounded by ``GUARD`` only so
that a broken worker fails the test instead of hanging it; no test measures time.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from smbridge.assembly.repository import ApiTokenRepository
from smbridge.assembly.service import token_hash
from smbridge.entrypoints.assembly_app import create_assembly_app
from smbridge.entrypoints.hook_app import create_hook_app
from smbridge.entrypoints.worker import raise_open_file_limit
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from tests.conftest import make_settings
from tests.e2e.hook_client import HOOK, fixture_body
from tests.e2e.test_hook_worker_process import smbridge_command
from tests.factories import STORE_SM_ID, add_store
from tests.support.clock import FrozenClock
from tests.support.logs import configure_fresh_logging, restore_logging
from tests.support.servers import free_port, serving_as_worker, wait_until_up

GUARD = 20.0  # seconds; a guard against hanging, far above the deadlines below
STEP = 0.05  # seconds between the slow client's pieces
Address = tuple[str, int]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url, worker_header_timeout_seconds=0.5, worker_body_timeout_seconds=0.5
    )


@pytest.fixture
def hook_worker(db: Database, settings: Settings) -> Iterator[Address]:
    add_store(db, STORE_SM_ID)
    with serving_as_worker(create_hook_app(settings, db, clock=FrozenClock()), settings) as address:
        yield address


def read_to_close(sock: socket.socket) -> bytes:
    """Everything the worker sends until it closes the connection."""
    sock.settimeout(GUARD)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:  # it closed while our last piece was on its way
        pass
    return b"".join(chunks)


def trickle(sock: socket.socket, pieces: Iterator[bytes]) -> None:
    """Send one piece every STEP seconds until the worker answers (or closes)."""
    for piece in pieces:
        readable, _, _ = select.select([sock], [], [], STEP)
        if readable:
            return
        try:
            sock.sendall(piece)
        except OSError:  # closed under us: what it said is still to be read
            return


def header_lines() -> Iterator[bytes]:
    for n in range(int(GUARD / STEP)):
        yield b"X-Slow-%d: x\r\n" % n


def assert_timed_out(answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer
    assert b"content-type: application/json" in head.lower()
    assert b"connection: close" in head.lower()
    assert json.loads(body)["error"]["code"] == "request_timeout"


def test_a_connection_that_sends_nothing_gets_408_and_is_closed(hook_worker: Address) -> None:
    with socket.create_connection(hook_worker, timeout=GUARD) as sock:
        assert_timed_out(read_to_close(sock))


def test_a_head_sent_a_line_at_a_time_gets_408_and_is_closed(hook_worker: Address) -> None:
    with socket.create_connection(hook_worker, timeout=GUARD) as sock:
        sock.sendall(b"POST /sbermarket/orders/hook/ HTTP/1.1\r\nHost: worker\r\n")
        trickle(sock, header_lines())
        assert_timed_out(read_to_close(sock))


def test_the_next_head_on_a_kept_alive_connection_has_its_deadline_too(
    hook_worker: Address,
) -> None:
    with socket.create_connection(hook_worker, timeout=GUARD) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: worker\r\n\r\nGET /healthz HTTP/1.1\r\n")
        trickle(sock, header_lines())
        answer = read_to_close(sock)
    first, _, rest = answer.partition(b"HTTP/1.1 408 ")
    assert first.startswith(b"HTTP/1.1 200 "), answer
    assert_timed_out(b"HTTP/1.1 408 " + rest)


def test_a_body_sent_a_little_at_a_time_gets_408_and_the_worker_serves_on(
    hook_worker: Address, db: Database
) -> None:
    body = fixture_body("order.created")
    head = (
        b"POST /sbermarket/orders/hook/ HTTP/1.1\r\nHost: worker\r\nClient-Token: test-token\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    with socket.create_connection(hook_worker, timeout=GUARD) as sock:
        sock.sendall(head)
        trickle(sock, (body[n : n + 1] for n in range(len(body))))
        assert_timed_out(read_to_close(sock))
    host, port = hook_worker
    response = httpx.post(
        f"http://{host}:{port}{HOOK}",
        content=body,
        headers={"Client-Token": "test-token", "Content-Type": "application/json"},
        timeout=GUARD,
    )
    assert response.status_code == 200, response.text  # the same order, whole and in time


# --- a client that goes away mid-body -------------------------------------------------------


def assembly_app_with_token(db: Database, settings: Settings) -> Any:
    store = add_store(db, STORE_SM_ID)
    assert store.id is not None
    with db.unit_of_work() as uow:
        uow.repo(ApiTokenRepository).add(
            store.id, token_hash("store-token"), "ТСД", datetime.now(UTC)
        )
        uow.commit()
    return create_assembly_app(settings, db, clock=FrozenClock())


@pytest.fixture
def production_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    configure_fresh_logging(monkeypatch)
    yield
    restore_logging()


@pytest.mark.parametrize(
    "case",
    [
        ("hook", HOOK, "test-token"),
        ("assembly", "/sbermarket/orders/api/recordPick", "store-token"),
    ],
    ids=["hook", "assembly"],
)
@pytest.mark.usefixtures("production_logging")
def test_a_client_gone_mid_body_is_logged_at_info_without_a_traceback(
    db: Database, settings: Settings, capfd: pytest.CaptureFixture[str], case: tuple[str, ...]
) -> None:
    service, path, token = case
    if service == "hook":
        app = create_hook_app(settings, db, clock=FrozenClock())
    else:
        app = assembly_app_with_token(db, settings)
    with serving_as_worker(app, settings) as address:
        with socket.create_connection(address, timeout=GUARD) as sock:
            sock.sendall(
                b"POST %s HTTP/1.1\r\nHost: worker\r\nClient-Token: %s\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                b'{"requestId": "r-1", "requestData": {' % (path.encode(), token.encode())
            )
        wait_for_log("http.client_disconnected")
        host, port = address  # one more request: the gone one's task is over by then
        assert httpx.get(f"http://{host}:{port}/healthz", timeout=GUARD).status_code == 200
    logged = capfd.readouterr().err  # the server's thread is over: nothing writes now
    (line,) = [e for e in log_events(logged) if e.get("event") == "http.client_disconnected"]
    assert (line["level"], line["path"]) == ("info", path)
    assert "Traceback" not in logged
    assert "Exception in ASGI application" not in logged
    assert not [e for e in log_events(logged) if e.get("level") in {"error", "critical"}]


def wait_for_log(event: str) -> None:
    """Until ``event`` is in the captured stderr, read without consuming it: capfd's
    readouterr rewinds and truncates the file the server's thread is writing to, which can
    lose or overwrite a line written meanwhile (it tore this very event once in CI)."""
    logged = ""
    for _ in range(int(GUARD / STEP)):
        sys.stderr.flush()
        logged = os.pread(2, 1 << 22, 0).decode(errors="replace")  # fd 2: the capture file
        if f'"{event}"' in logged:
            return
        time.sleep(STEP)
    raise AssertionError(f"{event} was not logged: {logged}")


def log_events(text: str) -> list[dict[str, Any]]:
    events = []
    for line in text.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict):
            events.append(document)
    return events


# --- open files ---------------------------------------------------------------------------


def test_raising_the_open_file_limit_reaches_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
        assert raise_open_file_limit() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_worker_process_raises_its_own_open_file_limit(tmp_path: Path) -> None:
    """``smbridge serve`` started with systemd's usual soft limit (1,024) lifts it."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(1024, hard // 2)
    port = free_port()
    env = {**os.environ, "SMBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'limits.db'}"}
    process = subprocess.Popen(
        [str(smbridge_command()), "serve", "hook", "--port", str(port)],
        env=env,
        cwd=tmp_path,  # no .env file of the developer's
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard)),  # noqa: PLW1509
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        limits = Path(f"/proc/{process.pid}/limits").read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    (line,) = [row for row in limits.splitlines() if row.startswith("Max open files")]
    assert line.split()[3:5] == [str(hard), str(hard)], line


@pytest.mark.parametrize("unit", ["smbridge-hook@.service", "smbridge-assembly@.service"])
def test_the_worker_units_set_a_high_open_file_limit(unit: str) -> None:
    path = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / unit
    settings = [line.strip() for line in path.read_text().splitlines()]
    (limit,) = [line for line in settings if line.startswith("LimitNOFILE=")]
    assert int(limit.split("=", 1)[1]) >= 65536
