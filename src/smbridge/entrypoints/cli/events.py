"""``smbridge events``: the webhook journal, and replaying webhooks that failed."""

from __future__ import annotations

from typing import Annotated

import typer

from smbridge.domain.webhook import JournalEntry, JournalStatus
from smbridge.entrypoints.cli.context import (
    chosen_ids,
    console,
    database,
    print_table,
    require_one_or_all,
)
from smbridge.intake.failures import replay_failed
from smbridge.intake.repository import JournalRepository
from smbridge.intake.service import adopt_parked, intake_policy
from smbridge.kernel.clock import utc_now
from smbridge.kernel.database.unit_of_work import UnitOfWork
from smbridge.settings import get_settings

events_app = typer.Typer(help="The webhook journal.", no_args_is_help=True)


@events_app.command("list")
def events_list(
    status: Annotated[JournalStatus, typer.Option(help="journal status")] = JournalStatus.FAILED,
    limit: int = 50,
) -> None:
    """Journaled webhooks with one status (default: failed)."""
    with database() as db, db.unit_of_work() as uow:
        rows = [_row(entry) for entry in uow.repo(JournalRepository).with_status(status, limit)]
    print_table(("id", "received", "type", "SM order", "deliveries", "detail"), rows)


@events_app.command("replay")
def events_replay(
    entry_id: Annotated[int | None, typer.Option("--id", help="one journal entry")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="every failed one")] = False,
) -> None:
    """Apply failed webhooks again, after their cause (say, a missing store) was fixed."""
    require_one_or_all(entry_id, all_failed, "--all-failed")
    policy = intake_policy(get_settings())
    with database() as db:
        ids = chosen_ids(db, entry_id, _failed_ids)
        results = {journal_id: replay_failed(db, journal_id, policy, utc_now) for journal_id in ids}
    for journal_id, status in results.items():
        console.print(f"journal entry {journal_id}: {status.value}")
    if any(status is JournalStatus.FAILED for status in results.values()):
        raise typer.Exit(1)


@events_app.command("adopt")
def events_adopt(
    sm_order: Annotated[str, typer.Option("--sm-order", help="SM's order id of parked events")],
) -> None:
    """Create an order lost in a restore from its parked events (see `events list --status
    parked`), with a new number past the restore's floor."""
    policy = intake_policy(get_settings())
    with database() as db:
        try:
            number = adopt_parked(db, sm_order, policy, utc_now())
        except ValueError as refused:
            console.print(f"[red]{refused}[/red]", highlight=False)
            raise typer.Exit(2) from None
    if number is None:
        console.print(f"[red]no parked events for order {sm_order}[/red]", highlight=False)
        raise typer.Exit(2)
    console.print(f"order {sm_order} adopted as {number}")


def _row(entry: JournalEntry) -> tuple[str, ...]:
    received = entry.received_at.isoformat(timespec="seconds")
    return (
        str(entry.id),
        received,
        entry.event_type,
        entry.sm_order_id or "",
        str(entry.deliveries),
        entry.detail or "",
    )


def _failed_ids(uow: UnitOfWork) -> list[int | None]:
    failed = uow.repo(JournalRepository).with_status(JournalStatus.FAILED, 100_000)
    return [entry.id for entry in failed]
