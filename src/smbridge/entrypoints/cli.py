"""``smbridge``: the one command that starts every process and runs admin tasks."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from smbridge.adapters import migrations
from smbridge.config import get_settings
from smbridge.domain.store import Store
from smbridge.domain.webhook import JournalStatus
from smbridge.entrypoints.hook_app import intake_policy
from smbridge.logs import configure_logging
from smbridge.orders.service import replay_failed
from smbridge.service_layer.unit_of_work import Database

app = typer.Typer(
    help="smbridge: SberMarket (Kuper) integration for the retailer.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
stores_app = typer.Typer(help="Stores: SM storeID mapped to ours.", no_args_is_help=True)
events_app = typer.Typer(help="The webhook journal.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(stores_app, name="stores")
app.add_typer(events_app, name="events")

console = Console()


def _database() -> Database:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return Database.from_settings(settings)


class Service(StrEnum):
    HOOK = "hook"


_APPS = {Service.HOOK: "smbridge.entrypoints.hook_app:app_from_environment"}


@app.command()
def serve(
    service: Annotated[Service, typer.Argument(help="which web service")],
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8001,
) -> None:
    """One worker process of a web service; nginx balances a pool of them."""
    uvicorn.run(
        _APPS[service],
        factory=True,
        host=host,
        port=port,
        workers=1,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=20,
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create the schema or migrate it to the newest version."""
    db = _database()
    migrations.upgrade(db.engine, revision)
    console.print(f"database at revision {migrations.current_revision(db.engine)}")


@db_app.command("current")
def db_current() -> None:
    console.print(migrations.current_revision(_database().engine) or "empty database")


@stores_app.command("add")
def stores_add(  # noqa: PLR0917 - one parameter per CLI option
    sm_store_id: Annotated[str, typer.Option("--sm-id", help="SM storeID")],
    name: Annotated[str, typer.Option(help="store name")],
    timezone: str = "Europe/Moscow",
    chat: Annotated[str | None, typer.Option(help="Telegram chat of the store")] = None,
    lead_minutes: Annotated[int | None, typer.Option(help="assembly lead time")] = None,
    import_key: Annotated[str | None, typer.Option(help="SM storeImportKey")] = None,
) -> None:
    """Add a store, or update the one with this SM storeID."""
    with _database().unit_of_work() as uow:
        store = uow.stores.by_sm_id(sm_store_id)
        if store is None:
            store = Store(sm_store_id=sm_store_id, name=name)
        store.name, store.timezone, store.telegram_chat_id = name, timezone, chat
        store.assembly_lead_minutes, store.import_key = lead_minutes, import_key
        uow.stores.add(store)
        uow.commit()
        console.print(f"store {store.id}: SM {sm_store_id} «{name}»")


@stores_app.command("list")
def stores_list() -> None:
    table = Table("id", "SM storeID", "name", "timezone", "chat", "lead, min")
    with _database().unit_of_work() as uow:
        for s in uow.stores.all():
            table.add_row(
                str(s.id),
                s.sm_store_id,
                s.name,
                s.timezone,
                s.telegram_chat_id or "",
                str(s.assembly_lead_minutes or ""),
            )
    console.print(table)


@events_app.command("list")
def events_list(
    status: Annotated[JournalStatus, typer.Option(help="journal status")] = JournalStatus.FAILED,
    limit: int = 50,
) -> None:
    """Journaled webhooks with one status (default: failed)."""
    table = Table("id", "received", "type", "SM order", "deliveries", "detail")
    with _database().unit_of_work() as uow:
        for e in uow.journal.with_status(status, limit):
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
    db = _database()
    policy = intake_policy(get_settings())
    if entry_id is not None:
        ids = [entry_id]
    else:
        with db.unit_of_work() as uow:
            ids = [
                e.id
                for e in uow.journal.with_status(JournalStatus.FAILED, 100_000)
                if e.id is not None
            ]
    results = {i: replay_failed(db, i, policy) for i in ids}
    for i, status in results.items():
        console.print(f"journal entry {i}: {status.value}")
    if any(s is JournalStatus.FAILED for s in results.values()):
        raise typer.Exit(1)


def main() -> None:
    app()
