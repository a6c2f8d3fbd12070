"""What the Telegram sender asks about a queued monitoring alert just before sending it.

Monitoring queues alerts once a minute; the sender may be minutes behind (a group chat
takes 20 messages a minute). By the time an alert's turn comes its problem may be gone,
and a late alert about something already fixed is noise that delays the alerts that
matter. So an alert is sent only while it is still news.
"""

from __future__ import annotations

from datetime import datetime

from smbridge.domain.telegram import AlertEvent, OutgoingMessage
from smbridge.kernel.database.unit_of_work import UnitOfWork
from smbridge.monitoring.repository import MonitoringProblems
from smbridge.telegram.outbox import TelegramOutbox


def still_relevant(
    problems: MonitoringProblems, outbox: TelegramOutbox, message: OutgoingMessage
) -> bool:
    """An opening or update only while its problem is open (and an update only if no
    newer word on it waits); a «Решено» only if something about the problem was sent."""
    if message.problem_id is None or message.parts_sent:  # not an alert, or half sent
        return True
    problem = problems.alert_state(message.problem_id)
    if problem is None:
        return True
    if message.alert_event == AlertEvent.RESOLVED:
        return problem.announced_at is not None
    if problem.resolved_at is not None:
        return False
    return message.alert_event != AlertEvent.UPDATED or not outbox.newer_queued_about(
        message.problem_id, message.id
    )


def mark_announced(problems: MonitoringProblems, message: OutgoingMessage, now: datetime) -> None:
    """Telegram took a message about this problem: its «Решено» will be worth sending."""
    if message.problem_id is not None:
        problems.announced(message.problem_id, now)


class MonitoringAlertGate:
    """The Telegram sender's ``AlertGate``: asks the rules above about monitoring's alerts."""

    def still_relevant(self, uow: UnitOfWork, message: OutgoingMessage) -> bool:
        return still_relevant(uow.repo(MonitoringProblems), uow.repo(TelegramOutbox), message)

    def announced(self, uow: UnitOfWork, message: OutgoingMessage, now: datetime) -> None:
        mark_announced(uow.repo(MonitoringProblems), message, now)
