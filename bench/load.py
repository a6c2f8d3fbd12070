"""The benches' load generator: a bare asyncio HTTP/1.1 client (no httpx, so it costs the
machine little) and the closed loop that keeps a fixed number of keep-alive connections busy,
each sending its next request as soon as the previous answer arrived."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

#: ``make(port, n)``: the n-th request of a run, complete, for a keep-alive connection to port.
RequestMaker = Callable[[int, int], bytes]


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.Transport | None = None
        self.open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.open = True

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buffer[:end]).lower()
        length = 0
        at = head.find(b"\r\ncontent-length:")
        if at >= 0:
            stop = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : stop if stop >= 0 else len(head)])
        total = end + 4 + length
        if len(self._buffer) < total:
            return
        status, body = int(head[9:12]), bytes(self._buffer[end + 4 : total])
        del self._buffer[:total]
        if b"\r\nconnection: close" in head:  # nginx ends a connection after 1000 requests
            self.open = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result((status, body))
        self._waiter = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    async def request(self, data: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self._waiter = self._loop.create_future()
        self.transport.write(data)
        return await self._waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(host: str, port: int, ca_file: str | None = None) -> Connection:
    """Plain TCP to a worker, or TLS to nginx (``ca_file``: its self-signed certificate)."""
    loop = asyncio.get_running_loop()
    tls = ssl.create_default_context(cafile=ca_file) if ca_file else None
    _, protocol = await loop.create_connection(lambda: Connection(loop), host, port, ssl=tls)
    return protocol


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    completed: int = 0
    unserved: int = 0  # open loop: never answered (counted as infinitely late)

    def record(self, status: int, body: bytes, expect: bytes, seconds: float) -> None:
        if status == 200 and expect in body:
            self.completed += 1
            self.latencies.append(seconds)
        else:
            self.errors[f"{status} {body[:80]!r}"] += 1
            self.unserved += 1


clock = time.perf_counter  # uvloop's loop.time() only has millisecond resolution


async def closed_loop(
    make: RequestMaker,
    ports: list[int],
    *,
    concurrency: int,
    warmup: float,
    duration: float,
    expect: bytes,
    host: str = "127.0.0.1",
    ca_file: str | None = None,
) -> dict[str, Any]:
    """``concurrency`` connections, round-robin over ``ports``, for ``warmup`` + ``duration``
    seconds; only answers sent and received within the measured ``duration`` count. An
    answer is done with a 200 whose body holds ``expect``."""
    connections = [await connect(host, ports[i % len(ports)], ca_file) for i in range(concurrency)]
    start = clock()
    measure_from = start + warmup
    stop_at = measure_from + duration
    tally = Tally()

    async def user(i: int) -> None:
        connection, port = connections[i], ports[i % len(ports)]
        n = i
        while (sent := clock()) < stop_at:
            try:
                status, body = await asyncio.wait_for(connection.request(make(port, n)), 30)
            except (TimeoutError, ConnectionError) as exc:
                tally.errors[type(exc).__name__] += 1
                connection.close()
                connection = await connect(host, port, ca_file)
                continue
            finally:
                n += len(connections)
            done = clock()
            if sent >= measure_from and done <= stop_at:
                tally.record(status, body, expect, done - sent)
            if not connection.open:
                connection.close()
                connection = await connect(host, port, ca_file)

    cpu = time.process_time()
    await asyncio.gather(*(user(i) for i in range(len(connections))))
    cpu = time.process_time() - cpu
    for connection in connections:
        connection.close()
    return summary(tally, duration, cpu, clock() - start)


def summary(tally: Tally, window: float, cpu: float, wall: float) -> dict[str, Any]:
    latencies = sorted(tally.latencies) + [float("inf")] * tally.unserved

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "completed": tally.completed,
        "rps": tally.completed / window,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": pct(1.0),
        "errors": sum(tally.errors.values()),
        "error_kinds": dict(tally.errors.most_common(5)),
        "generator_cpu": cpu / wall,  # share of one core the generator used
    }
