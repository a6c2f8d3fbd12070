"""The problems monitoring has reported, and its periodic snapshots."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update

from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import monitoring_problems, monitoring_snapshots
from smbridge.monitoring.rules import Finding


@dataclass(frozen=True)
class OpenProblem:
    """A problem reported and not resolved yet, as last told."""

    id: int
    rule: str
    subject: str
    chat_id: str | None
    text: str
    affected: int | None  # an incident's count when last told; None: one subject
    first_seen_at: datetime
    last_reported_at: datetime
    reports: int


@dataclass(frozen=True)
class AlertState:
    """What the Telegram sender needs to know of an alert's problem."""

    resolved_at: datetime | None
    announced_at: datetime | None  # when Telegram first took a message about it


@dataclass(frozen=True)
class Snapshot:
    taken_at: datetime
    orders_by_status: dict[str, int]
    late_orders: int
    notification_backlog: int
    telegram_backlog: int
    open_problems: int


class MonitoringProblems(SessionRepository):
    def still_open(self) -> list[OpenProblem]:
        rows = self._session.execute(
            select(
                monitoring_problems.c.id,
                monitoring_problems.c.rule,
                monitoring_problems.c.subject,
                monitoring_problems.c.chat_id,
                monitoring_problems.c.text,
                monitoring_problems.c.affected,
                monitoring_problems.c.first_seen_at,
                monitoring_problems.c.last_reported_at,
                monitoring_problems.c.reports,
            ).where(monitoring_problems.c.resolved_at.is_(None))
        )
        return [OpenProblem(*row) for row in rows]

    def count_open(self) -> int:
        query = (
            select(func.count())
            .select_from(monitoring_problems)
            .where(monitoring_problems.c.resolved_at.is_(None))
        )
        return int(self._session.execute(query).scalar_one())

    def report(self, finding: Finding, now: datetime) -> int:
        """Record a new problem; its id."""
        problem_id = self._session.execute(
            insert(monitoring_problems)
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
            .returning(monitoring_problems.c.id)
        ).scalar_one()
        return int(problem_id)

    def told_again(self, problem: OpenProblem, finding: Finding, now: datetime) -> None:
        """Something more was said about an open problem: as it stands now."""
        self._session.execute(
            update(monitoring_problems)
            .where(monitoring_problems.c.id == problem.id)
            .values(
                last_reported_at=now,
                reports=problem.reports + 1,
                text=finding.text,
                affected=finding.count,
            )
        )

    def resolve(self, problem_id: int, now: datetime) -> None:
        self._session.execute(
            update(monitoring_problems)
            .where(monitoring_problems.c.id == problem_id)
            .values(resolved_at=now)
        )

    def alert_state(self, problem_id: int) -> AlertState | None:
        row = self._session.execute(
            select(monitoring_problems.c.resolved_at, monitoring_problems.c.announced_at).where(
                monitoring_problems.c.id == problem_id
            )
        ).one_or_none()
        return None if row is None else AlertState(row.resolved_at, row.announced_at)

    def announced(self, problem_id: int, now: datetime) -> None:
        """Telegram took a message about the problem (only the first time counts)."""
        self._session.execute(
            update(monitoring_problems)
            .where(
                monitoring_problems.c.id == problem_id, monitoring_problems.c.announced_at.is_(None)
            )
            .values(announced_at=now)
        )

    def record_snapshot(self, snapshot: Snapshot) -> None:
        # A snapshot is a row of monitoring_snapshots, field for field.
        self._session.execute(insert(monitoring_snapshots).values(**asdict(snapshot)))
