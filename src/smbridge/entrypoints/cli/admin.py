"""Admin data: the schema, stores, pickers and their API tokens."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.assembly.service import token_hash
from smbridge.domain.picker import Picker
from smbridge.domain.store import Store
from smbridge.entrypoints.cli.context import console, database, find_store_id
from smbridge.intake.acceptance import adopt_waiting
from smbridge.intake.service import intake_policy
from smbridge.kernel.database import migrations
from smbridge.orders.repository import StoreRepository
from smbridge.settings import get_settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
stores_app = typer.Typer(help="Stores: SM storeID mapped to ours.", no_args_is_help=True)
tokens_app = typer.Typer(help="Assembly API tokens, each bound to one store.", no_args_is_help=True)
pickers_app = typer.Typer(help="Pickers of a store.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create the schema or migrate it to the newest version."""
    with database() as db:
        migrations.upgrade(db.engine, revision)
        console.print(f"database at revision {migrations.current_revision(db.engine)}")


@db_app.command("current")
def db_current() -> None:
    with database() as db:
        console.print(migrations.current_revision(db.engine) or "empty database")


@stores_app.command("add")
def stores_add(  # noqa: PLR0917 - one parameter per CLI option
    sm_store_id: Annotated[str, typer.Option("--sm-id", help="SM storeID")],
    name: Annotated[str, typer.Option(help="store name")],
    timezone: str = "Europe/Moscow",
    chat: Annotated[str | None, typer.Option(help="Telegram chat of the store")] = None,
    lead_minutes: Annotated[int | None, typer.Option(help="assembly lead time")] = None,
    import_key: Annotated[str | None, typer.Option(help="SM storeImportKey")] = None,
) -> None:
    """Add a store, or update the one with this SM storeID; its waiting orders go to it."""
    policy = intake_policy(get_settings())
    with database() as db, db.unit_of_work() as uow:
        store = uow.repo(StoreRepository).by_sm_id(sm_store_id)
        if store is None:
            store = Store(sm_store_id=sm_store_id, name=name)
        store.name, store.timezone, store.telegram_chat_id = name, timezone, chat
        store.assembly_lead_minutes, store.import_key = lead_minutes, import_key
        uow.repo(StoreRepository).add(store)
        # In the same transaction: the orders SM sent before the store was mapped.
        adopted = adopt_waiting(uow, policy, datetime.now(UTC))
        uow.commit()
        console.print(f"store {store.id}: SM {sm_store_id} «{name}»")
        if adopted:
            console.print(f"orders that waited for it, now its new orders: {adopted}")


@stores_app.command("list")
def stores_list() -> None:
    table = Table("id", "SM storeID", "name", "timezone", "chat", "lead, min")
    with database() as db, db.unit_of_work() as uow:
        for store in uow.repo(StoreRepository).all():
            table.add_row(
                str(store.id),
                store.sm_store_id,
                store.name,
                store.timezone,
                store.telegram_chat_id or "",
                str(store.assembly_lead_minutes or ""),
            )
    console.print(table)


@tokens_app.command("issue")
def tokens_issue(
    store: Annotated[str, typer.Option(help="SM storeID of the store")],
    label: Annotated[str, typer.Option(help="whose device, e.g. «ТСД 1»")],
) -> None:
    """Issue a token for the picking apps of one store; it is shown once, only its hash kept."""
    token = secrets.token_urlsafe(32)
    with database() as db:
        store_id = find_store_id(db, store)
        with db.unit_of_work() as uow:
            token_id = uow.repo(ApiTokenRepository).add(
                store_id, token_hash(token), label, datetime.now(UTC)
            )
            uow.commit()
    console.print(f"token {token_id} for store {store}: {token}")


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="token id")]) -> None:
    with database() as db, db.unit_of_work() as uow:
        if not uow.repo(ApiTokenRepository).revoke(token_id, datetime.now(UTC)):
            raise typer.BadParameter(f"no active token {token_id}")
        uow.commit()
    console.print(f"token {token_id} revoked")


@tokens_app.command("list")
def tokens_list() -> None:
    table = Table("id", "store id", "label", "created", "revoked")
    with database() as db, db.unit_of_work() as uow:
        for row in uow.repo(ApiTokenRepository).all():
            table.add_row(
                str(row.id),
                str(row.store_id),
                row.label,
                row.created_at.isoformat(timespec="seconds"),
                row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else "",
            )
    console.print(table)


@pickers_app.command("add")
def pickers_add(
    store: Annotated[str, typer.Option(help="SM storeID of the store")],
    name: Annotated[str, typer.Option(help="picker's name as staff know it")],
    chat: Annotated[str | None, typer.Option(help="picker's Telegram chat")] = None,
) -> None:
    with database() as db:
        picker = Picker(store_id=find_store_id(db, store), name=name, telegram_chat_id=chat)
        with db.unit_of_work() as uow:
            uow.repo(PickerRepository).add(picker)
            uow.commit()
    console.print(f"picker {picker.id}: {name}")


@pickers_app.command("list")
def pickers_list(store: Annotated[str, typer.Option(help="SM storeID")]) -> None:
    table = Table("id", "name", "chat", "on shift")
    with database() as db:
        store_id = find_store_id(db, store)
        with db.unit_of_work() as uow:
            for picker in uow.repo(PickerRepository).of_store(store_id):
                on_shift = (
                    picker.id is not None
                    and uow.repo(PickerRepository).open_shift(picker.id) is not None
                )
                table.add_row(
                    str(picker.id),
                    picker.name,
                    picker.telegram_chat_id or "",
                    "да" if on_shift else "",
                )
    console.print(table)


chats_app = typer.Typer(
    help="Telegram chats: of stores, of pickers, of operations.", no_args_is_help=True
)


@chats_app.command("list")
def chats_list() -> None:
    """Every chat messages go to, and whose it is."""
    settings = get_settings()
    table = Table("whose", "name", "chat")
    table.add_row("operations", "SMBRIDGE_OPERATIONS_CHAT_ID", settings.operations_chat_id or "—")
    with database() as db, db.unit_of_work() as uow:
        for store in uow.repo(StoreRepository).all():
            table.add_row(f"store {store.sm_store_id}", store.name, store.telegram_chat_id or "—")
            assert store.id is not None
            for picker in uow.repo(PickerRepository).of_store(store.id):
                table.add_row(f"picker {picker.id}", picker.name, picker.telegram_chat_id or "—")
    console.print(table)


@chats_app.command("set")
def chats_set(
    chat: Annotated[str, typer.Option(help="Telegram chat id (groups are negative)")],
    store: Annotated[str | None, typer.Option(help="SM storeID of the store")] = None,
    picker: Annotated[int | None, typer.Option(help="picker id")] = None,
) -> None:
    """Point a store's or a picker's messages at a chat."""
    if (store is None) == (picker is None):
        raise typer.BadParameter("give either --store or --picker")
    with database() as db, db.unit_of_work() as uow:
        target = (
            uow.repo(StoreRepository).by_sm_id(store)
            if store is not None
            else (uow.repo(PickerRepository).get(picker) if picker is not None else None)
        )
        if target is None:
            raise typer.BadParameter("no such store or picker")
        target.telegram_chat_id = chat
        uow.commit()
    console.print(f"chat {chat} set")
