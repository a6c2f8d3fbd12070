"""What waits or failed: the webhook journal, notifications to SM, job runs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table

from smbridge.domain.assembly import AssemblyError
from smbridge.domain.notification import DeliveryState
from smbridge.domain.webhook import JournalStatus
from smbridge.entrypoints.cli.context import console, database
from smbridge.intake.repository import JournalRepository
from smbridge.intake.service import intake_policy, replay_failed
from smbridge.kernel.clock import utc_now
from smbridge.notifications.dispatcher import resend
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.orders.repository import OrderRepository
from smbridge.scheduler.job_store import JobStore
from smbridge.scheduler.jobs import build_jobs
from smbridge.scheduler.runner import Scheduler
from smbridge.settings import get_settings

events_app = typer.Typer(help="The webhook journal.", no_args_is_help=True)
orders_app = typer.Typer(
    help="Corrections of an order whose notification SM refused.", no_args_is_help=True
)
notifications_app = typer.Typer(help="Notifications to SM (the outbox).", no_args_is_help=True)
jobs_app = typer.Typer(help="The scheduler's periodic jobs.", no_args_is_help=True)


@events_app.command("list")
def events_list(
    status: Annotated[JournalStatus, typer.Option(help="journal status")] = JournalStatus.FAILED,
    limit: int = 50,
) -> None:
    """Journaled webhooks with one status (default: failed)."""
    table = Table("id", "received", "type", "SM order", "deliveries", "detail")
    with database() as db, db.unit_of_work() as uow:
        for e in uow.repo(JournalRepository).with_status(status, limit):
            table.add_row(
                str(e.id),
                e.received_at.isoformat(timespec="seconds"),
                e.event_type,
                e.sm_order_id or "",
                str(e.deliveries),
                e.detail or "",
            )
    console.print(table)


@events_app.command("replay")
def events_replay(
    entry_id: Annotated[int | None, typer.Option("--id", help="one journal entry")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="every failed one")] = False,
) -> None:
    """Apply failed webhooks again, after their cause (say, a missing store) was fixed."""
    if (entry_id is None) == (not all_failed):
        raise typer.BadParameter("give either --id N or --all-failed")
    policy = intake_policy(get_settings())
    with database() as db:
        if entry_id is not None:
            ids = [entry_id]
        else:
            with db.unit_of_work() as uow:
                failed = uow.repo(JournalRepository).with_status(JournalStatus.FAILED, 100_000)
                ids = [e.id for e in failed if e.id is not None]
        results = {i: replay_failed(db, i, policy, utc_now) for i in ids}
    for i, status in results.items():
        console.print(f"journal entry {i}: {status.value}")
    if any(s is JournalStatus.FAILED for s in results.values()):
        raise typer.Exit(1)


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
        runner = Scheduler(db, settings, build_jobs(settings, db, utc_now), utc_now)
        if name not in runner.jobs:
            raise typer.BadParameter(f"no job {name!r}; jobs: {', '.join(runner.jobs)}")
        outcome = runner.run_once(name)
    if not outcome.ran:
        console.print(f"{name} is running elsewhere right now")
        raise typer.Exit(1)
    console.print(f"{name}: {outcome.counts} {outcome.error or ''}")
    if outcome.error:
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


@notifications_app.command("list")
def notifications_list(
    state: Annotated[DeliveryState, typer.Option(help="delivery state")] = DeliveryState.DEAD,
    limit: int = 50,
) -> None:
    """Notifications in one state (default: dead letters)."""
    table = Table("id", "SM order", "type", "attempts", "last status", "last error")
    with database() as db, db.unit_of_work() as uow:
        for n in uow.repo(NotificationOutbox).with_state(state, limit):
            table.add_row(
                str(n.id),
                n.sm_order_id,
                n.type,
                str(n.attempts),
                str(n.last_status or ""),
                (n.last_error or "")[:80],
            )
    console.print(table)


@notifications_app.command("resend")
def notifications_resend(
    notification_id: Annotated[int | None, typer.Option("--id", help="one notification")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="every dead letter")] = False,
) -> None:
    """Queue dead letters again (after their cause was fixed); the dispatcher sends them.

    Each body is rebuilt from its order as it is now, so a corrected order goes out corrected.
    """
    if (notification_id is None) == (not all_dead):
        raise typer.BadParameter("give either --id N or --all-dead")
    with database() as db:
        if notification_id is not None:
            ids = [notification_id]
        else:
            with db.unit_of_work() as uow:
                dead = uow.repo(NotificationOutbox).with_state(DeliveryState.DEAD, 100_000)
                ids = [n.id for n in dead if n.id is not None]
        moved = resend(db, ids)
    console.print(f"queued again: {len(moved)} of {len(ids)}")
    if len(moved) != len(ids):
        raise typer.Exit(1)


@orders_app.command("set-weight")
def orders_set_weight(
    sm_order_id: Annotated[str, typer.Option("--order", help="SM order id, like H1234567890")],
    line_no: Annotated[int, typer.Option("--line", help="line number (getOrder shows them)")],
    weight: Annotated[str, typer.Option("--grams", help="the weight in grams, e.g. 1187")],
) -> None:
    """Set the weight of a line of assembled final contents, then resend the refused one."""
    grams = _grams(weight)
    with database() as db, db.unit_of_work() as uow:
        order = uow.repo(OrderRepository).by_sm_id(sm_order_id, for_update=True)
        if order is None:
            raise typer.BadParameter(f"no order {sm_order_id}")
        try:
            order.correct_weight(line_no, grams, datetime.now(UTC))
        except AssemblyError as refused:
            raise typer.BadParameter(refused.detail) from None
        uow.commit()
    console.print(f"order {sm_order_id} line {line_no}: {grams} g")


def _grams(text: str) -> Decimal:
    try:
        grams = Decimal(text)
    except ArithmeticError:
        grams = Decimal("NaN")
    if not grams.is_finite() or not 0 <= grams <= 1_000_000:
        raise typer.BadParameter("--grams: a number of grams from 0 to 1000000")
    return grams
