"""Webhooks that failed to apply: applied again, on their own a few times, then by hand.

A webhook fails when applying it raised (a bug, or a cause outside the database); the
database's own outages never get this far, they are answered 503 and SM redelivers. The
journal keeps the body SM sent; it is read again here as it was read when it arrived.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from smbridge.domain.webhook import JournalEntry, JournalStatus
from smbridge.intake.events import parse_webhook
from smbridge.intake.repository import JournalRepository
from smbridge.intake.service import IntakePolicy, apply_event, failure_reason, log_outcome
from smbridge.intake.settings import WebhookReplaySettings
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.errors import translate
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class AutoReplay:
    """Failed webhooks are tried again on their own a few times before a person is asked."""

    attempts: int = 5  # in all, the first try included
    first_delay: timedelta = timedelta(seconds=30)  # doubles after each try

    @classmethod
    def from_settings(cls, settings: WebhookReplaySettings) -> AutoReplay:
        return cls(
            settings.webhook_replay_attempts,
            timedelta(seconds=settings.webhook_replay_first_seconds),
        )

    def due(self, entry: JournalEntry, now: datetime) -> bool:
        if entry.attempts >= self.attempts:
            return False  # exhausted: monitoring alerts, replays are by hand
        waited = self.first_delay * ((1 << max(entry.attempts, 1)) - 1)
        return entry.received_at + waited <= now


#: What may be applied again by hand: failed events, and parked ones (an operator who knows
#: their order has come, or will never come, applies them now: parked again if it has not).
REPLAYABLE = frozenset({JournalStatus.FAILED, JournalStatus.PARKED})


def replay_failed(
    db: Database,
    entry_id: int,
    policy: IntakePolicy,
    clock: Clock,
    *,
    replayable: frozenset[JournalStatus] = frozenset({JournalStatus.FAILED}),
    also: Callable[[UnitOfWork], None] | None = None,
) -> JournalStatus:
    """Apply a failed event again (after its cause was fixed); returns its new status.

    ``also`` runs in the transaction that is committed, whatever the outcome (the operations
    UI audits the replay there).
    """
    with db.unit_of_work() as uow:
        entry = uow.repo(JournalRepository).get(entry_id)
        if entry is None:
            raise LookupError(f"no journal entry {entry_id}")
        if entry.status not in {status.value for status in replayable}:
            return JournalStatus(entry.status)
        hook = parse_webhook(entry.body.encode())
        uow.lock_order_key(hook.sm_order_id or hook.key)
        try:
            entry.attempts += 1
            apply_event(uow, entry, hook, policy)
            if also is not None:
                also(uow)
            uow.commit()
        except Exception as exc:
            if translate(exc) is not None:
                raise  # the database's trouble, not the event's: it stays as it was
            uow.rollback()
            _mark_failed(uow, entry_id, exc, clock())
            if also is not None:
                also(uow)
            uow.commit()
    log_outcome(entry)
    return JournalStatus(entry.status)


def replay_due_failures(
    db: Database, policy: IntakePolicy, retry: AutoReplay, clock: Clock
) -> dict[str, int]:
    """The scheduled job: apply again the failed webhooks whose next try is due."""
    now = clock()
    with db.unit_of_work() as uow:
        failed = uow.repo(JournalRepository).with_status(JournalStatus.FAILED, 500)
        due = [entry.id for entry in failed if entry.id is not None and retry.due(entry, now)]
    counts = {"applied": 0, "failed": 0}
    for entry_id in due:
        status = replay_failed(db, entry_id, policy, clock)
        counts["failed" if status is JournalStatus.FAILED else "applied"] += 1
    return counts


def _mark_failed(uow: UnitOfWork, entry_id: int, exc: Exception, now: datetime) -> None:
    entry = uow.repo(JournalRepository).get(entry_id)
    assert entry is not None
    entry.attempts += 1  # the failed attempt's own increment went with its rollback
    entry.settle(JournalStatus.FAILED, now, failure_reason(exc))
    log.warning("webhook.replay_failed", journal_id=entry_id, error=failure_reason(exc))
