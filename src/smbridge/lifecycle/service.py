"""The retention purge: each kind of row past its retention deleted, personal data removed
from finished orders; one short transaction per batch, so no writer waits long."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table

from smbridge.domain.notification import DeliveryState
from smbridge.domain.webhook import JournalStatus
from smbridge.kernel.database.tables import job_runs, orders, sm_notifications, telegram_archive
from smbridge.kernel.database.tables import webhook_journal as journal
from smbridge.kernel.database.unit_of_work import Database
from smbridge.lifecycle.repository import RetentionRepository, finished_with_personal_data
from smbridge.lifecycle.settings import RetentionSettings

#: Journal entries that are done with: parked and failed ones wait for a person.
SETTLED = (JournalStatus.APPLIED, JournalStatus.IGNORED)
#: Seconds between two batches.
PAUSE = 0.01


@dataclass(frozen=True)
class Retention:
    """How long each kind of row is kept (None: for ever)."""

    journal: timedelta | None
    sm_notifications: timedelta | None
    telegram_archive: timedelta | None
    job_runs: timedelta | None
    personal_data: timedelta | None
    batch: int = 1000

    @classmethod
    def from_settings(cls, settings: RetentionSettings) -> Retention:
        def days(value: int) -> timedelta | None:
            return timedelta(days=value) if value else None

        return cls(
            days(settings.retention_journal_days),
            days(settings.retention_sm_notifications_days),
            days(settings.retention_telegram_archive_days),
            days(settings.retention_job_runs_days),
            days(settings.personal_data_days),
            settings.retention_batch,
        )


def purge(
    db: Database, now: datetime, retention: Retention, stop: threading.Event | None = None
) -> dict[str, int]:
    """Apply the retention once; the rows deleted (or orders cleared) of each kind."""
    deletions: list[tuple[str, Table, timedelta | None, Callable[[datetime], ColumnElement[bool]]]]
    deletions = [
        (
            "journal_deleted",
            journal,
            retention.journal,
            lambda before: (journal.c.received_at < before) & journal.c.status.in_(SETTLED),
        ),
        (
            "sm_notifications_deleted",
            sm_notifications,
            retention.sm_notifications,
            lambda before: (
                (sm_notifications.c.created_at < before)
                & (sm_notifications.c.state == DeliveryState.DELIVERED)
            ),
        ),
        (
            "telegram_archive_deleted",
            telegram_archive,
            retention.telegram_archive,
            lambda before: telegram_archive.c.archived_at < before,
        ),
        (
            "job_runs_deleted",
            job_runs,
            retention.job_runs,
            lambda before: job_runs.c.started_at < before,
        ),
    ]
    counts: dict[str, int] = {}
    for name, table, kept, old in deletions:
        if kept is not None:
            counts[name] = _in_batches(
                db,
                table,
                old(now - kept),
                batch=retention.batch,
                stop=stop,
                act=RetentionRepository.delete_ids,
            )
    if retention.personal_data is not None:
        counts["orders_personal_data_cleared"] = _in_batches(
            db,
            orders,
            finished_with_personal_data(now - retention.personal_data),
            batch=retention.batch,
            stop=stop,
            act=lambda repo, _table, ids: repo.clear_personal_data(ids),
        )
    return counts


def _in_batches(
    db: Database,
    table: Table,
    old: ColumnElement[bool],
    *,
    batch: int,
    stop: threading.Event | None,
    act: Callable[[RetentionRepository, Table, list[int]], int],
) -> int:
    done, after = 0, 0
    while stop is None or not stop.is_set():
        # Found outside the writing transaction: the scan (the last one reads the rest of
        # the table) holds no write lock; the write is one short statement by id.
        with db.unit_of_work(read_only=True) as uow:
            ids = list(uow.repo(RetentionRepository).ids_before(table, old, after, batch))
        if not ids:
            break
        with db.unit_of_work() as uow:
            done += act(uow.repo(RetentionRepository), table, ids)
            uow.commit()
        after = ids[-1]
        # Let the writers that queued meanwhile in (SQLite's lock is not fair).
        (stop or threading.Event()).wait(PAUSE)
    return done
