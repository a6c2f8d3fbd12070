"""The sales documents' scheduled job: a document per delivered order, then the files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from smbridge.sales.service import create_documents, write_export_files
from smbridge.sales.settings import SalesSettings
from smbridge.scheduler.runner import Job, JobContext

SALES = "sales_documents"


def sales_documents_job(settings: SalesSettings) -> Job:
    export_dir = Path(settings.sales_export_dir) if settings.sales_export_dir else None

    def run(ctx: JobContext) -> dict[str, Any]:
        counts: dict[str, Any] = create_documents(ctx.db, ctx.clock, stop=ctx.stop).as_dict()
        if export_dir is not None:
            counts["files"] = write_export_files(ctx.db, export_dir, ctx.clock)
        return counts

    return Job(SALES, timedelta(seconds=settings.job_sales_seconds), run)
