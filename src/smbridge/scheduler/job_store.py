"""Job leases and the record of job runs (SQL Core: these are bookkeeping, not domain)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update

from smbridge.kernel.database.errors import AlreadyExists, translating_errors
from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import job_leases, job_runs


@dataclass(frozen=True)
class RunRecord:
    id: int
    job: str
    owner: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any]
    error: str | None


class JobStore(SessionRepository):
    def try_lease(self, job: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take or renew the job's lease; False while another live holder has it."""
        result = self._session.execute(
            update(job_leases)
            .where(
                job_leases.c.job == job,
                or_(
                    job_leases.c.owner == owner,
                    job_leases.c.lease_until.is_(None),
                    job_leases.c.lease_until < now,
                ),
            )
            .values(owner=owner, lease_until=until)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            return True
        exists = self._session.execute(
            select(job_leases.c.job).where(job_leases.c.job == job)
        ).first()
        if exists is not None:
            return False
        try:
            with translating_errors(), self._session.begin_nested():
                self._session.execute(
                    insert(job_leases).values(job=job, owner=owner, lease_until=until)
                )
        except AlreadyExists:  # another scheduler created it first
            return False
        return True

    def release(self, job: str, owner: str) -> None:
        self._session.execute(
            update(job_leases)
            .where(job_leases.c.job == job, job_leases.c.owner == owner)
            .values(owner=None, lease_until=None)
        )

    def last_start(self, job: str) -> datetime | None:
        return self._session.execute(
            select(func.max(job_runs.c.started_at)).where(job_runs.c.job == job)
        ).scalar_one_or_none()

    def start_run(self, job: str, owner: str, now: datetime) -> int:
        statement = insert(job_runs).values(job=job, owner=owner, started_at=now, counts={})
        return int(self._session.execute(statement.returning(job_runs.c.id)).scalar_one())

    def finish_run(
        self, run_id: int, now: datetime, counts: dict[str, Any], error: str | None
    ) -> None:
        self._session.execute(
            update(job_runs)
            .where(job_runs.c.id == run_id)
            .values(finished_at=now, counts=counts, error=error)
        )

    def recent_runs(self, job: str | None, limit: int) -> list[RunRecord]:
        query = select(job_runs).order_by(job_runs.c.id.desc()).limit(limit)
        if job is not None:
            query = query.where(job_runs.c.job == job)
        return [
            RunRecord(
                row.id, row.job, row.owner, row.started_at, row.finished_at, row.counts, row.error
            )
            for row in self._session.execute(query)
        ]
