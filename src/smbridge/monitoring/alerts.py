"""What the Telegram sender asks about a queued monitoring alert just before sending it.

Monitoring queues alerts once a minute; the sender may be minutes behind (a group chat
takes 20 messages a minute). By the time an alert's turn comes its problem may be gone,
and a late alert about something already fixed is noise that delays the alerts that
matter. So an alert is sent only while it is still news.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from smbridge.domain.telegram import AlertEvent, MessageStatus, OutgoingMessage
from smbridge.kernel.database.tables import monitoring_problems, telegram_outbox

P = monitoring_problems


def still_relevant(connection: Connection, message: OutgoingMessage) -> bool:
    """An opening or update only while its problem is open (and an update only if no
    newer word on it waits); a «Решено» only if something about the problem was sent."""
    if message.problem_id is None or message.parts_sent:  # not an alert, or half sent
        return True
    problem = connection.execute(
        select(P.c.resolved_at, P.c.announced_at).where(P.c.id == message.problem_id)
    ).one_or_none()
    if problem is None:
        return True
    if message.alert_event == AlertEvent.RESOLVED:
        return problem.announced_at is not None
    if problem.resolved_at is not None:
        return False
    return message.alert_event != AlertEvent.UPDATED or not _newer_queued(connection, message)


def mark_announced(connection: Connection, message: OutgoingMessage, now: datetime) -> None:
    """Telegram took a message about this problem: its «Решено» will be worth sending."""
    if message.problem_id is None:
        return
    connection.execute(
        update(P)
        .where(P.c.id == message.problem_id, P.c.announced_at.is_(None))
        .values(announced_at=now)
    )


def _newer_queued(connection: Connection, message: OutgoingMessage) -> bool:
    t = telegram_outbox
    newer = connection.execute(
        select(t.c.id)
        .where(
            t.c.problem_id == message.problem_id,
            t.c.id > message.id,
            t.c.status == MessageStatus.QUEUED.value,
        )
        .limit(1)
    ).first()
    return newer is not None
