"""One monitoring run: evaluate the rules; report new problems once, update or remind about
open ones at an interval, and say when each is resolved. Also keeps a metrics snapshot.

An incident (a finding with a count) gets an update at most every
``monitor_incident_update_minutes`` and only when its count changed; any open problem
that nothing was said about for ``monitor_remind_minutes`` gets a reminder. Every message
names its problem, so the Telegram sender drops it if it is stale when its turn comes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from smbridge.domain.notification import DeliveryState
from smbridge.domain.status import OrderStatus
from smbridge.domain.telegram import AlertEvent, OutgoingMessage
from smbridge.kernel.database.engine import READ_ONLY
from smbridge.kernel.database.tables import (
    monitoring_problems,
    monitoring_snapshots,
    orders,
    sm_notifications,
    telegram_outbox,
)
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork
from smbridge.monitoring.rules import RULES, Finding, Look, chats
from smbridge.settings import Settings
from smbridge.telegram import messages
from smbridge.telegram.outbox import TelegramOutbox

P = monitoring_problems


@dataclass(frozen=True)
class _Intervals:
    remind: timedelta
    update: timedelta

    @classmethod
    def of(cls, settings: Settings) -> _Intervals:
        return cls(
            timedelta(minutes=settings.monitor_remind_minutes),
            timedelta(minutes=settings.monitor_incident_update_minutes),
        )


def run_monitoring(db: Database, settings: Settings, now: datetime) -> dict[str, Any]:
    findings = _look(db, settings, now)
    intervals = _Intervals.of(settings)
    counts = {"found": len(findings), "reported": 0, "updated": 0, "reminded": 0, "resolved": 0}
    with db.unit_of_work() as uow:
        for problem in uow.session.execute(select(P).where(P.c.resolved_at.is_(None))).all():
            finding = findings.pop((problem.rule, problem.subject), None)
            if finding is None:
                _resolve(uow, problem, now)
                counts["resolved"] += 1
            elif follow_up := _follow_up(problem, finding, intervals, now):
                kind, text = follow_up
                _tell(uow, problem, finding, text, now)
                counts[kind] += 1
        for finding in findings.values():
            _report(uow, finding, now)
            counts["reported"] += 1
        _snapshot(uow, now)
        uow.commit()
    return counts


def _follow_up(
    problem: Any, finding: Finding, intervals: _Intervals, now: datetime
) -> tuple[str, str] | None:
    """What to say about a problem still open, if anything is due: (count key, text)."""
    since = now - problem.last_reported_at
    changed = None not in (finding.count, problem.affected) and finding.count != problem.affected
    if changed and since >= intervals.update:
        return "updated", messages.incident_update(finding.text, problem.affected)
    if since >= intervals.remind:
        return "reminded", messages.alert_reminder(finding.text)
    return None


def _look(db: Database, settings: Settings, now: datetime) -> dict[tuple[str, str], Finding]:
    with db.engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})
        store_chats, picker_chats = chats(connection)
        look = Look(
            connection,
            now,
            settings,
            settings.operations_chat_id or None,
            store_chats,
            picker_chats,
            settings.default_timezone,
        )
        return {(f.rule, f.subject): f for rule in RULES for f in rule(look)}


def _report(uow: UnitOfWork, finding: Finding, now: datetime) -> None:
    problem_id = uow.session.execute(
        insert(P)
        .values(
            rule=finding.rule,
            subject=finding.subject,
            chat_id=finding.chat_id,
            text=finding.text,
            affected=finding.count,
            first_seen_at=now,
            last_reported_at=now,
            reports=1,
        )
        .returning(P.c.id)
    ).scalar_one()
    _say(
        uow, finding.chat_id, finding.text, now, problem_id=int(problem_id), event=AlertEvent.OPENED
    )


def _tell(uow: UnitOfWork, problem: Any, finding: Finding, text: str, now: datetime) -> None:
    uow.session.execute(
        update(P)
        .where(P.c.id == problem.id)
        .values(
            last_reported_at=now,
            reports=problem.reports + 1,
            text=finding.text,
            affected=finding.count,
        )
    )
    _say(uow, finding.chat_id, text, now, problem_id=problem.id, event=AlertEvent.UPDATED)


def _resolve(uow: UnitOfWork, problem: Any, now: datetime) -> None:
    uow.session.execute(update(P).where(P.c.id == problem.id).values(resolved_at=now))
    lasted = None
    if problem.affected is not None:  # an incident: how long it lasted matters
        lasted = max(1, round((now - problem.first_seen_at).total_seconds() / 60))
    text = messages.alert_resolved(problem.text, lasted)
    _say(uow, problem.chat_id, text, now, problem_id=problem.id, event=AlertEvent.RESOLVED)


def _say(
    uow: UnitOfWork,
    chat_id: str | None,
    text: str,
    now: datetime,
    *,
    problem_id: int,
    event: AlertEvent,
) -> None:
    uow.repo(TelegramOutbox).add(
        OutgoingMessage(
            text=text,
            created_at=now,
            chat_id=chat_id,
            problem_id=problem_id,
            alert_event=event,
        )
    )


def _snapshot(uow: UnitOfWork, now: datetime) -> None:
    connection: Connection = uow.session.connection()
    by_status = dict(
        tuple(r)
        for r in connection.execute(
            select(orders.c.status, func.count())
            .where(
                orders.c.status.not_in([OrderStatus.DELIVERED.value, OrderStatus.CANCELLED.value])
            )
            .group_by(orders.c.status)
        )
    )
    late = connection.execute(
        select(func.count())
        .select_from(orders)
        .where(
            orders.c.status == OrderStatus.IN_ASSEMBLY.value, orders.c.expected_assembly_at < now
        )
    ).scalar_one()
    backlog = connection.execute(
        select(func.count())
        .select_from(sm_notifications)
        .where(
            sm_notifications.c.state.in_([DeliveryState.PENDING.value, DeliveryState.SENDING.value])
        )
    ).scalar_one()
    queued = connection.execute(select(func.count()).select_from(telegram_outbox)).scalar_one()
    open_problems = connection.execute(
        select(func.count()).select_from(P).where(P.c.resolved_at.is_(None))
    ).scalar_one()
    connection.execute(
        insert(monitoring_snapshots).values(
            taken_at=now,
            orders_by_status=by_status,
            late_orders=late,
            notification_backlog=backlog,
            telegram_backlog=queued,
            open_problems=open_problems,
        )
    )
