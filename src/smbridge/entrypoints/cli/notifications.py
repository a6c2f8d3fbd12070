"""``smbridge notifications``: notifications to SM in the outbox, and resending dead letters."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from smbridge.domain.notification import DeliveryState
from smbridge.entrypoints.cli.context import console, database
from smbridge.notifications.dispatcher import resend
from smbridge.notifications.outbox import NotificationOutbox

notifications_app = typer.Typer(help="Notifications to SM (the outbox).", no_args_is_help=True)


@notifications_app.command("list")
def notifications_list(
    state: Annotated[DeliveryState, typer.Option(help="delivery state")] = DeliveryState.DEAD,
    limit: int = 50,
) -> None:
    """Notifications in one state (default: dead letters)."""
    table = Table("id", "SM order", "type", "attempts", "last status", "last error")
    with database() as db, db.unit_of_work() as uow:
        for notification in uow.repo(NotificationOutbox).with_state(state, limit):
            table.add_row(
                str(notification.id),
                notification.sm_order_id,
                notification.type,
                str(notification.attempts),
                str(notification.last_status or ""),
                (notification.last_error or "")[:80],
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
                ids = [letter.id for letter in dead if letter.id is not None]
        moved = resend(db, ids)
    console.print(f"queued again: {len(moved)} of {len(ids)}")
    if len(moved) != len(ids):
        raise typer.Exit(1)
