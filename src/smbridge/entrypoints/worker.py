"""How a web worker process runs uvicorn: the limits it keeps by itself, not only behind nginx.

uvicorn 0.54 (httptools) has no header or body read timeout: its keep-alive timer runs only
between requests and every received byte cancels it, so a client sending one header line a
second holds a connection (and a file descriptor) for as long as it likes. The protocol below
gives each request a deadline for its head (from the connection's start, or from its first
byte on a kept-alive connection) and one for its body (from the end of the head); a request
that misses one gets 408 and the connection is closed. What it does not cover: a client that
reads the answer slowly (the kernel's socket buffers and nginx's send timeout bound that), and
many connections that each keep their deadlines (``LimitNOFILE`` and nginx's per-address
connection limit bound those).
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Callable
from typing import Any

import orjson
import structlog
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from smbridge.entrypoints.settings import WorkerSettings

log = structlog.get_logger(__name__)

_TIMEOUT_BODY = orjson.dumps(
    {"error": {"code": "request_timeout", "message": "the request did not arrive in time"}}
)
_TIMEOUT_HEAD = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n"
    b"connection: close\r\n"
)


def timed_protocol(header_seconds: float, body_seconds: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a deadline for each request's head and body."""

    class TimedHttpToolsProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm(header_seconds, self._head_too_slow)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:  # a kept-alive connection's next request
                self._arm(header_seconds, self._head_too_slow)

        def on_headers_complete(self) -> None:
            self._arm(body_seconds, self._body_too_slow)
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def _arm(self, seconds: float, callback: Callable[[], None]) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, callback)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _head_too_slow(self) -> None:
            self._deadline = None
            if self.cycle is not None and not self.cycle.response_complete:
                # a pipelined request waits for our answer to the one before: not its fault
                self._arm(header_seconds, self._head_too_slow)
                return
            log.info("http.request_timeout", part="headers", client=_address(self.client))
            self._answer_timeout()

        def _body_too_slow(self) -> None:
            self._deadline = None
            log.info("http.request_timeout", part="body", client=_address(self.client))
            cycle = self.cycle
            if cycle.response_started:  # answered without the whole body: just close
                self.transport.close()
                return
            cycle.disconnected = True  # the app sees a disconnect; its answer goes nowhere
            cycle.message_event.set()
            self._answer_timeout()

        def _answer_timeout(self) -> None:
            if self.transport.is_closing():
                return
            extra = b"".join(
                name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
            )
            self.transport.write(_TIMEOUT_HEAD + extra + b"\r\n" + _TIMEOUT_BODY)
            self.transport.close()

    return TimedHttpToolsProtocol


def _address(client: tuple[str, int] | None) -> str | None:
    return client[0] if client else None


def worker_config(
    app: Callable[..., Any], settings: WorkerSettings, host: str, port: int, factory: bool = False
) -> uvicorn.Config:
    """The uvicorn configuration of one worker process (``smbridge serve`` and tests)."""
    return uvicorn.Config(
        app,
        factory=factory,
        host=host,
        port=port,
        workers=1,
        loop="uvloop",
        http=timed_protocol(
            settings.worker_header_timeout_seconds, settings.worker_body_timeout_seconds
        ),
        access_log=False,  # nginx writes the access log
        log_level="warning",
        proxy_headers=True,  # the client address nginx saw, trusted only from nginx
        forwarded_allow_ips=settings.trusted_proxies,
        timeout_graceful_shutdown=20,
    )


def raise_open_file_limit() -> int:
    """Raise this process's soft limit of open files to its hard limit; returns the new soft
    limit. Every connection is a file: the usual soft limit of 1,024 lets a thousand slow
    clients starve the health check. The hard limit is the unit's ``LimitNOFILE``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:  # Linux's hard limit is finite
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
