"""The rule every fuzz run checks: no 5xx, every 4xx a JSON error, nothing failed for good."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import func, select

from smbridge.kernel.database.tables import webhook_journal
from smbridge.kernel.database.unit_of_work import Database


def check_answer(status: int, content_type: str, body: bytes, label: str) -> None:
    assert status < 500, f"{label}: {status} {body[:300]!r}"
    if status >= 400:
        assert content_type.startswith("application/json"), f"{label}: {status} {content_type}"
        error: Any = __import__("orjson").loads(body).get("error")
        assert isinstance(error, dict), f"{label}: {status} without an error object"
        assert isinstance(error.get("code"), str), f"{label}: {status} without a code"
        assert error.get("message"), f"{label}: {status} without a message"


def failed_from_input(db: Database) -> int:
    """Journal rows kept as failed, other than an order for a store we do not know yet
    (valid input that succeeds on replay once the store is added)."""
    j = webhook_journal.c
    query = (
        select(func.count())
        .select_from(webhook_journal)
        .where(j.status == "failed", j.detail.not_like("UnknownStore%"))
    )
    with db.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def report(service: str, database: Database, statuses: Counter[int]) -> None:
    """Shown with ``pytest -s``: how many requests the run sent, and what they got."""
    kind = database.engine.dialect.name
    counts = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    print(f"\nfuzz {service} on {kind}: {sum(statuses.values())} requests ({counts})")


def fuzz_settings(examples: int) -> hypothesis_settings:
    """Bounded for CI and the same every run: a failure found once is found again."""
    return hypothesis_settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
