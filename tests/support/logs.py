"""Logging configured as in production, for tests that read what was logged."""

from __future__ import annotations

import sys

import pytest
import structlog

from smbridge.kernel.logs import configure_logging


def configure_fresh_logging(monkeypatch: pytest.MonkeyPatch, json: bool = True) -> None:
    """Logging configured now (while the test's capture is active), loggers not cached.

    structlog caches a module's logger on first use with the configuration of that moment,
    so every ``log`` of smbridge's modules is replaced by a fresh one for this test.
    """
    structlog.reset_defaults()
    configure_logging("INFO", json=json)
    proxy_type = type(structlog.get_logger())
    for name, module in list(sys.modules.items()):
        if name.startswith("smbridge") and isinstance(getattr(module, "log", None), proxy_type):
            monkeypatch.setattr(module, "log", structlog.get_logger(name))


def restore_logging() -> None:
    structlog.reset_defaults()
    configure_logging("INFO", json=True)  # as tests/conftest.py left it
