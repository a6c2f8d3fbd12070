"""Operations' side of the webhook journal: failed and parked webhooks listed, inspected and
applied again by hand (the same replay as ``smbridge events replay``), each replay audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from smbridge.accounts.service import audit
from smbridge.domain.admin import AdminRefused
from smbridge.domain.webhook import JournalEntry, JournalStatus
from smbridge.intake.failures import REPLAYABLE, replay_failed
from smbridge.intake.repository import JournalRepository
from smbridge.intake.service import IntakePolicy
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.paging import keyset_page
from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import webhook_journal
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork

PAGE = 50


@dataclass(frozen=True)
class JournalLine:
    id: int
    received_at: datetime
    event_type: str
    sm_order_id: str | None
    deliveries: int
    attempts: int
    detail: str | None


class JournalPages(SessionRepository):
    """Journal entries of one status by id pages (ix_webhook_journal_status; no counts)."""

    def page(
        self, status: JournalStatus, after_id: int | None, limit: int = PAGE
    ) -> list[JournalLine]:
        c = webhook_journal.c
        query = select(
            c.id, c.received_at, c.event_type, c.sm_order_id, c.deliveries, c.attempts, c.detail
        ).where(c.status == status.value)
        query = keyset_page(query, c.id, after_id, limit)
        return [
            JournalLine(
                row.id,
                row.received_at,
                row.event_type,
                row.sm_order_id,
                row.deliveries,
                row.attempts,
                (row.detail or "")[:200] or None,
            )
            for row in self._session.execute(query)
        ]


def journal_entry(db: Database, entry_id: int) -> JournalEntry:
    with db.unit_of_work(read_only=True) as uow:
        entry = uow.repo(JournalRepository).get(entry_id)
        if entry is None:
            raise AdminRefused(404, "Событие не найдено.")
        uow.session.expunge(entry)  # read as it is: the read-only transaction's end keeps it
        return entry


def replay(
    db: Database,
    entry_id: int,
    policy: IntakePolicy,
    clock: Clock,
    *,
    user_id: int,
    reason: str | None,
) -> JournalStatus:
    """Apply a failed or parked webhook again; returns its status after the try."""
    entry = journal_entry(db, entry_id)
    if JournalStatus(entry.status) not in REPLAYABLE:
        raise AdminRefused(409, "Событие уже применено: повторять нечего.")
    why = (reason or "").strip()[:1000] or "повтор события"

    def audited(uow: UnitOfWork) -> None:
        audit(
            uow,
            user_id=user_id,
            action="webhook.replay",
            target=f"webhook:{entry_id}",
            reason=why,
            now=clock(),
        )

    return replay_failed(db, entry_id, policy, clock, replayable=REPLAYABLE, also=audited)
