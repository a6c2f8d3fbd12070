"""``smbridge jobs``: the scheduler's periodic jobs, run once by hand or looked at."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from smbridge.entrypoints.cli.context import console, database
from smbridge.entrypoints.scheduled_jobs import build_jobs
from smbridge.kernel.clock import utc_now
from smbridge.scheduler.job_store import JobStore
from smbridge.scheduler.runner import Scheduler
from smbridge.settings import get_settings

jobs_app = typer.Typer(help="The scheduler's periodic jobs.", no_args_is_help=True)


@jobs_app.command("run")
def jobs_run(
    name: Annotated[
        str,
        typer.Argument(
            help="telegram_sender, monitoring, sales_documents, webhook_replay, housekeeping, "
            "waiting_orders"
        ),
    ],
) -> None:
    """Run one job once, now (unless another scheduler is running it)."""
    settings = get_settings()
    with database() as db:
        runner = Scheduler(db, build_jobs(settings, db, utc_now), utc_now)
        if name not in runner.jobs:
            raise typer.BadParameter(f"no job {name!r}; jobs: {', '.join(runner.jobs)}")
        result = runner.run_once(name)
    if not result.ran:
        console.print(f"{name} is running elsewhere right now")
        raise typer.Exit(1)
    console.print(f"{name}: {result.counts} {result.error or ''}")
    if result.error:
        raise typer.Exit(1)


@jobs_app.command("status")
def jobs_status() -> None:
    """Last run of each job and when it is next due."""
    settings = get_settings()
    table = Table("job", "last start", "took, s", "counts", "error", "next due")
    with database() as db:
        for job in build_jobs(settings, db, utc_now):
            with db.unit_of_work() as uow:
                runs = uow.repo(JobStore).recent_runs(job.name, 1)
            if not runs:
                table.add_row(job.name, "never", "", "", "", "now")
                continue
            last = runs[0]
            took = (last.finished_at - last.started_at).total_seconds() if last.finished_at else 0
            table.add_row(
                job.name,
                last.started_at.isoformat(timespec="seconds"),
                f"{took:.1f}",
                str(last.counts),
                last.error or "",
                (last.started_at + job.interval).isoformat(timespec="seconds"),
            )
    console.print(table)
