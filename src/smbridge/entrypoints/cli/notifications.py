"""``smbridge notifications``: notifications to SM in the outbox, and resending dead letters."""

from __future__ import annotations

from typing import Annotated

import typer

from smbridge.domain.notification import DeliveryState, Notification
from smbridge.entrypoints.cli.context import (
    chosen_ids,
    console,
    database,
    print_table,
    require_one_or_all,
)
from smbridge.kernel.database.unit_of_work import UnitOfWork
from smbridge.notifications.dispatcher import resend
from smbridge.notifications.outbox import NotificationOutbox

notifications_app = typer.Typer(help="Notifications to SM (the outbox).", no_args_is_help=True)


@notifications_app.command("list")
def notifications_list(
    state: Annotated[DeliveryState, typer.Option(help="delivery state")] = DeliveryState.DEAD,
    limit: int = 50,
) -> None:
    """Notifications in one state (default: dead letters)."""
    with database() as db, db.unit_of_work() as uow:
        rows = [_row(letter) for letter in uow.repo(NotificationOutbox).with_state(state, limit)]
    print_table(("id", "SM order", "type", "attempts", "last status", "last error"), rows)


@notifications_app.command("resend")
def notifications_resend(
    notification_id: Annotated[int | None, typer.Option("--id", help="one notification")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="every dead letter")] = False,
) -> None:
    """Queue dead letters again (after their cause was fixed); the dispatcher sends them.

    Each body is rebuilt from its order as it is now, so a corrected order goes out corrected.
    """
    require_one_or_all(notification_id, all_dead, "--all-dead")
    with database() as db:
        ids = chosen_ids(db, notification_id, _dead_ids)
        moved = resend(db, ids)
    console.print(f"queued again: {len(moved)} of {len(ids)}")
    if len(moved) != len(ids):
        raise typer.Exit(1)


def _row(letter: Notification) -> tuple[str, ...]:
    last_status, last_error = str(letter.last_status or ""), (letter.last_error or "")[:80]
    return (
        str(letter.id),
        letter.sm_order_id,
        letter.type,
        str(letter.attempts),
        last_status,
        last_error,
    )


def _dead_ids(uow: UnitOfWork) -> list[int | None]:
    dead = uow.repo(NotificationOutbox).with_state(DeliveryState.DEAD, 100_000)
    return [letter.id for letter in dead]
