"""Serving an ASGI app on a free loopback port inside the test process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from smbridge.entrypoints.worker import worker_config
from smbridge.settings import Settings
from tests.support.environment import free_port, wait_until_up

__all__ = ["free_port", "serving", "serving_as_worker", "wait_until_up"]


@contextmanager
def serving(app: Any, health_path: str = "/healthz") -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread; yields its base URL once it answers."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    with _running(config, health_path) as url:
        yield url


@contextmanager
def serving_as_worker(
    app: Any, settings: Settings, health_path: str = "/healthz"
) -> Iterator[tuple[str, int]]:
    """Run ``app`` as ``smbridge serve`` runs it (its uvicorn configuration and protocol);
    yields the loopback host and port once it answers."""
    port = free_port()
    with _running(worker_config(app, settings, "127.0.0.1", port), health_path):
        yield "127.0.0.1", port


@contextmanager
def _running(config: uvicorn.Config, health_path: str) -> Iterator[str]:
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://{config.host}:{config.port}"
    wait_until_up(url + health_path)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
