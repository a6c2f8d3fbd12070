"""The record of job runs, read by id pages for the operations UI (read-only)."""

from __future__ import annotations

from sqlalchemy import select

from smbridge.kernel.database.paging import keyset_page
from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import job_runs
from smbridge.scheduler.job_store import RunRecord

PAGE = 50


class JobRuns(SessionRepository):
    def page(self, job: str | None, before_id: int | None, limit: int = PAGE) -> list[RunRecord]:
        """Runs newest first (of one job, when given: ix_job_runs_job_started)."""
        c = job_runs.c
        query = select(c.id, c.job, c.owner, c.started_at, c.finished_at, c.counts, c.error)
        if job is not None:
            query = query.where(c.job == job)
        query = keyset_page(query, c.id, before_id, limit, newest_first=True)
        rows = self._session.execute(query)
        return [RunRecord(*row) for row in rows]
