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

from smbridge.domain.status import FINAL
from smbridge.domain.telegram import AlertEvent, OutgoingMessage
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork
from smbridge.metrics.queries import StatusCounts
from smbridge.monitoring.controls import MonitoringControls, effective_settings
from smbridge.monitoring.queries import MonitoringQueries
from smbridge.monitoring.repository import MonitoringProblems, OpenProblem, Snapshot
from smbridge.monitoring.rules import RULES, Finding, RuleInputs
from smbridge.monitoring.settings import MonitoringSettings
from smbridge.telegram import messages
from smbridge.telegram.outbox import TelegramOutbox


@dataclass(frozen=True)
class _Intervals:
    remind: timedelta
    update: timedelta

    @classmethod
    def of(cls, settings: MonitoringSettings) -> _Intervals:
        return cls(
            timedelta(minutes=settings.monitor_remind_minutes),
            timedelta(minutes=settings.monitor_incident_update_minutes),
        )


def run_monitoring(db: Database, settings: MonitoringSettings, now: datetime) -> dict[str, Any]:
    """A muted rule (monitoring/controls.py) is silent until its mute ends: its problems are
    not reported, reminded of or resolved meanwhile; thresholds set by operations apply."""
    with db.unit_of_work(read_only=True) as uow:
        controls = uow.repo(MonitoringControls)
        muted = controls.muted_rules(now)
        settings = effective_settings(settings, controls.thresholds())
    findings = _look(db, settings, now)
    intervals = _Intervals.of(settings)
    counts = {"found": len(findings), "reported": 0, "updated": 0, "reminded": 0, "resolved": 0}
    with db.unit_of_work() as uow:
        for problem in uow.repo(MonitoringProblems).still_open():
            finding = findings.pop((problem.rule, problem.subject), None)
            if problem.rule in muted:
                continue
            if finding is None:
                _resolve(uow, problem, now)
                counts["resolved"] += 1
            elif follow_up := _follow_up(problem, finding, intervals, now):
                kind, text = follow_up
                _tell(uow, problem, finding, text, now)
                counts[kind] += 1
        for finding in findings.values():
            if finding.rule in muted:
                continue
            _report(uow, finding, now)
            counts["reported"] += 1
        _snapshot(uow, now)
        uow.commit()
    return counts


def _follow_up(
    problem: OpenProblem, finding: Finding, intervals: _Intervals, now: datetime
) -> tuple[str, str] | None:
    """What to say about a problem still open, if anything is due: (count key, text)."""
    since = now - problem.last_reported_at
    was = problem.affected
    changed = was is not None and finding.count is not None and finding.count != was
    if was is not None and changed and since >= intervals.update:
        return "updated", messages.incident_update(finding.text, was)
    if since >= intervals.remind:
        return "reminded", messages.alert_reminder(finding.text)
    return None


def _look(
    db: Database, settings: MonitoringSettings, now: datetime
) -> dict[tuple[str, str], Finding]:
    with db.unit_of_work(read_only=True) as uow:
        read = uow.repo(MonitoringQueries)
        inputs = RuleInputs(
            read,
            now,
            settings,
            settings.operations_chat_id or None,
            read.chats(),
            settings.default_timezone,
        )
        return {
            (finding.rule, finding.subject): finding for rule in RULES for finding in rule(inputs)
        }


def _report(uow: UnitOfWork, finding: Finding, now: datetime) -> None:
    problem_id = uow.repo(MonitoringProblems).report(finding, now)
    _say(uow, finding.chat_id, finding.text, now, problem_id=problem_id, event=AlertEvent.OPENED)


def _tell(
    uow: UnitOfWork, problem: OpenProblem, finding: Finding, text: str, now: datetime
) -> None:
    uow.repo(MonitoringProblems).told_again(problem, finding, now)
    _say(uow, finding.chat_id, text, now, problem_id=problem.id, event=AlertEvent.UPDATED)


def _resolve(uow: UnitOfWork, problem: OpenProblem, now: datetime) -> None:
    uow.repo(MonitoringProblems).resolve(problem.id, now)
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
    """The heartbeat: what stood open after this run's changes, in the same transaction."""
    read, problems = uow.repo(MonitoringQueries), uow.repo(MonitoringProblems)
    problems.record_snapshot(
        Snapshot(
            taken_at=now,
            # finished orders are history: the snapshot counts the others
            orders_by_status=uow.repo(StatusCounts).orders(excluding=FINAL),
            late_orders=read.late_assemblies(now),
            notification_backlog=read.notification_backlog(),
            telegram_backlog=read.telegram_queue_size(),
            open_problems=problems.count_open(),
        )
    )
