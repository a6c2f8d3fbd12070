"""``smbridge events``: the webhook journal, and replaying webhooks that failed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from smbridge.domain.webhook import JournalStatus
from smbridge.entrypoints.cli.context import console, database
from smbridge.intake.failures import replay_failed
from smbridge.intake.repository import JournalRepository
from smbridge.intake.service import intake_policy
from smbridge.kernel.clock import utc_now
from smbridge.settings import get_settings

events_app = typer.Typer(help="The webhook journal.", no_args_is_help=True)


@events_app.command("list")
def events_list(
    status: Annotated[JournalStatus, typer.Option(help="journal status")] = JournalStatus.FAILED,
    limit: int = 50,
) -> None:
    """Journaled webhooks with one status (default: failed)."""
    table = Table("id", "received", "type", "SM order", "deliveries", "detail")
    with database() as db, db.unit_of_work() as uow:
        for entry in uow.repo(JournalRepository).with_status(status, limit):
            table.add_row(
                str(entry.id),
                entry.received_at.isoformat(timespec="seconds"),
                entry.event_type,
                entry.sm_order_id or "",
                str(entry.deliveries),
                entry.detail or "",
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
                ids = [entry.id for entry in failed if entry.id is not None]
        results = {journal_id: replay_failed(db, journal_id, policy, utc_now) for journal_id in ids}
    for journal_id, status in results.items():
        console.print(f"journal entry {journal_id}: {status.value}")
    if any(status is JournalStatus.FAILED for status in results.values()):
        raise typer.Exit(1)
