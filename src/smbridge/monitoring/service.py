"""One monitoring run: evaluate the rules; report new problems once, remind about open ones
at an interval, and say when each is resolved. Also keeps a metrics snapshot per run."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from smbridge.adapters.database import READ_ONLY
from smbridge.adapters.tables import (
    monitoring_problems,
    monitoring_snapshots,
    orders,
    sm_notifications,
    telegram_outbox,
)
from smbridge.config import Settings
from smbridge.domain.notification import DeliveryState
from smbridge.domain.status import OrderStatus
from smbridge.domain.telegram import OutgoingMessage
from smbridge.monitoring.rules import RULES, Finding, Look, chats
from smbridge.service_layer.unit_of_work import Database, UnitOfWork

P = monitoring_problems


def run_monitoring(db: Database, settings: Settings, now: datetime) -> dict[str, Any]:
    findings = _look(db, settings, now)
    remind_after = timedelta(minutes=settings.monitor_remind_minutes)
    counts = {"found": len(findings), "reported": 0, "reminded": 0, "resolved": 0}
    with db.unit_of_work() as uow:
        for problem in uow.session.execute(select(P).where(P.c.resolved_at.is_(None))).all():
            finding = findings.pop((problem.rule, problem.subject), None)
            if finding is None:
                _resolve(uow, problem, now)
                counts["resolved"] += 1
            elif problem.last_reported_at + remind_after <= now:
                _remind(uow, problem, finding, now)
                counts["reminded"] += 1
        for finding in findings.values():
            _report(uow, finding, now)
            counts["reported"] += 1
        _snapshot(uow, now)
        uow.commit()
    return counts


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
    uow.session.execute(
        insert(P).values(
            rule=finding.rule,
            subject=finding.subject,
            chat_id=finding.chat_id,
            text=finding.text,
            first_seen_at=now,
            last_reported_at=now,
            reports=1,
        )
    )
    _say(uow, finding.chat_id, finding.text, now)


def _remind(uow: UnitOfWork, problem: Any, finding: Finding, now: datetime) -> None:
    uow.session.execute(
        update(P)
        .where(P.c.id == problem.id)
        .values(last_reported_at=now, reports=problem.reports + 1, text=finding.text)
    )
    _say(uow, finding.chat_id, f"Напоминание: {finding.text}", now)


def _resolve(uow: UnitOfWork, problem: Any, now: datetime) -> None:
    uow.session.execute(update(P).where(P.c.id == problem.id).values(resolved_at=now))
    _say(uow, problem.chat_id, f"Решено: {problem.text}", now)


def _say(uow: UnitOfWork, chat_id: str | None, text: str, now: datetime) -> None:
    uow.telegram.add(OutgoingMessage(text=text, created_at=now, chat_id=chat_id))


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
