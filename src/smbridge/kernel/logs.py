"""Structured logging (structlog). Log lines carry ids and states, never customer data."""

from __future__ import annotations

import logging
import sys

import structlog

#: Keys that must never reach a log line, whatever a caller passes by mistake.
_REDACTED_KEYS = frozenset(
    {
        "phone",
        "customer",
        "customer_name",
        "customer_phone",
        "name",
        "address",
        "token",
        "client_token",
        "authorization",
        "password",
        "body",
        "headers",
    }
)


def _redact(
    _logger: object, _method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    for key in _REDACTED_KEYS.intersection(event):
        event[key] = "[redacted]"
    return event


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is now (test runners and daemons swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
