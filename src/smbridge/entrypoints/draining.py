"""A worker that leaves its pool without failing a request (rolling restarts).

On SIGTERM the worker first closes its listening socket: nginx can no longer connect, so
it sends new requests to another worker (a request that could not be connected is safe to
retry). The connections nginx already holds stay served for ``drain_seconds``, each
response saying ``Connection: close``; nginx closes idle ones itself after its upstream
keepalive timeout, which is shorter. Only then does uvicorn's own graceful shutdown run
(finish in-flight requests, close the rest). Closing an idle keep-alive connection at once,
as plain uvicorn does, races with nginx sending a POST on it, which nginx may not replay.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class DrainState:
    draining: bool = False


class CloseConnectionsWhileDraining:
    """ASGI middleware: once draining, every response asks the client to close."""

    def __init__(self, app: ASGIApp, state: DrainState) -> None:
        self._app = app
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if self._state.draining and message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        await self._app(scope, receive, send_closing)


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, state: DrainState, drain_seconds: float) -> None:
        super().__init__(config)
        self._state = state
        self._drain_seconds = drain_seconds

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        self._state.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._drain_seconds
        while self.server_state.connections and loop.time() < deadline:
            await asyncio.sleep(0.05)
        await super().shutdown(sockets)
