"""Serving an ASGI app on a free loopback port inside the test process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from smbridge.testing import free_port, wait_until_up

__all__ = ["free_port", "serving", "wait_until_up"]


@contextmanager
def serving(app: Any, health_path: str = "/healthz") -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread; yields its base URL once it answers."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + health_path)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
