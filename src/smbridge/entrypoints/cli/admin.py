"""Admin data: the schema, stores, pickers and their API tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.assembly.staffing import (
    add_picker_in,
    deactivate_picker_in,
    issue_token_in,
    set_chat_in,
)
from smbridge.domain.admin import AdminRefused
from smbridge.entrypoints.cli.context import console, database, find_store_id
from smbridge.intake.service import intake_policy
from smbridge.intake.stores import (
    StoreChanges,
    StoreForm,
    create_store_in,
    set_store_active_in,
    update_store_in,
)
from smbridge.kernel.database import backup, migrations
from smbridge.kernel.database.numbering import NumberJump
from smbridge.orders.repository import StoreRepository
from smbridge.settings import get_settings

T = TypeVar("T")

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


@db_app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="the backup file to write")],
    force: Annotated[bool, typer.Option(help="replace an existing file")] = False,
) -> None:
    """Copy the database into one file while the services run (SQLite: online backup;
    PostgreSQL: pg_dump -Fc)."""
    url = get_settings().database_url
    with console.status("backing up…"):
        result = _or_exit(lambda: backup.backup(url, file, force=force))
    console.print(
        f"backup {result.path}: {result.size_bytes / 1e6:.1f} MB in {result.seconds:.1f} s, "
        f"revision {result.revision or 'none'}"
    )


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="a file made by `smbridge db backup`")],
    to: Annotated[
        str | None, typer.Option(help="URL of the NEW database (default: the configured one)")
    ] = None,
    force: Annotated[bool, typer.Option(help="replace an existing database")] = False,
    number_gap: Annotated[
        int, typer.Option(min=1, help="skip at least this many order numbers")
    ] = backup.DEFAULT_NUMBER_GAP,
) -> None:
    """Restore a backup into a new database, verify it (integrity, schema revision), and
    move the next order number past any issued since the backup."""
    url = to or get_settings().database_url
    with console.status("restoring…"):
        result = _or_exit(lambda: backup.restore(file, url, force=force, min_number_gap=number_gap))
    console.print(
        f"restored into {result.target} in {result.seconds:.1f} s, "
        f"revision {result.revision or 'none'}"
    )
    print_jump(result.numbers)
    if not result.at_head:
        console.print("older than this release: run `smbridge db upgrade` before the services")


def print_jump(jump: NumberJump | None) -> None:
    if jump is None:
        console.print(
            "[red]order numbers NOT moved on: run `smbridge db upgrade`, "
            "then `smbridge db skip-numbers`, before the services[/red]"
        )
        return
    console.print(
        f"order numbers: highest known {jump.highest}, the next one is {jump.floor + 1} "
        f"(skipped {jump.gap})"
    )


def _or_exit(step: Callable[[], T]) -> T:
    try:
        return step()
    except backup.BackupError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from None


def _refused(error: AdminRefused) -> typer.Exit:
    console.print(f"[red]{error.message_ru}[/red]", highlight=False)
    return typer.Exit(2)


def stores_create(  # noqa: PLR0917 - one parameter per CLI option
    sm_store_id: Annotated[str, typer.Option("--sm-id", help="SM storeID")],
    name: Annotated[str, typer.Option(help="store name")],
    timezone: Annotated[
        str | None,
        typer.Option(
            help="tz database name, e.g. Asia/Yekaterinburg; default SMBRIDGE_DEFAULT_TIMEZONE"
        ),
    ] = None,
    chat: Annotated[str | None, typer.Option(help="Telegram chat of the store")] = None,
    lead_minutes: Annotated[
        int | None, typer.Option(help="assembly lead time (default: the setting)")
    ] = None,
    import_key: Annotated[str | None, typer.Option(help="SM storeImportKey")] = None,
) -> None:
    """Map a new SM store (refused if it exists: use `stores update`); the orders that
    waited for it become its new orders."""
    settings = get_settings()
    zone = timezone or settings.default_timezone
    form = StoreForm(sm_store_id, name, zone, chat, lead_minutes, import_key)
    with database() as db, db.unit_of_work() as uow:
        try:
            store, adopted = create_store_in(uow, form, intake_policy(settings), datetime.now(UTC))
        except AdminRefused as error:
            raise _refused(error) from None
        uow.commit()
        console.print(f"store {store.id}: SM {store.sm_store_id} «{store.name}», {store.timezone}")
        if adopted:
            console.print(f"orders that waited for it, now its new orders: {adopted}")


stores_app.command("create")(stores_create)
# The name the store-waiting alerts and older scripts give: the same refusal of an existing
# store, so it can no longer clear one's chat and lead time.
stores_app.command("add", help="Same as `stores create`.")(stores_create)


@stores_app.command("update")
def stores_update(  # noqa: PLR0917 - one parameter per CLI option
    sm_store_id: Annotated[str, typer.Option("--sm-id", help="SM storeID of the store")],
    name: Annotated[str | None, typer.Option(help="new name")] = None,
    timezone: Annotated[str | None, typer.Option(help="tz database name")] = None,
    chat: Annotated[str | None, typer.Option(help="Telegram chat; '' removes it")] = None,
    lead_minutes: Annotated[
        int | None, typer.Option(help="assembly lead time; 0: back to the default")
    ] = None,
    import_key: Annotated[str | None, typer.Option(help="SM storeImportKey; '' removes it")] = None,
) -> None:
    """Change only the options given; everything else of the store stays as it is."""
    changes = StoreChanges(name, timezone, chat, lead_minutes, import_key)
    if changes == StoreChanges():
        raise typer.BadParameter("give at least one option to change")
    with database() as db, db.unit_of_work() as uow:
        try:
            store = update_store_in(uow, sm_store_id, changes)
        except AdminRefused as error:
            raise _refused(error) from None
        uow.commit()
        console.print(f"store {store.id}: SM {store.sm_store_id} «{store.name}» updated")


@stores_app.command("deactivate")
def stores_deactivate(
    sm_store_id: Annotated[str, typer.Option("--sm-id", help="SM storeID of the store")],
) -> None:
    """Stop a store (it is never deleted: orders name it): its new orders wait as for an
    unmapped store, its API tokens stop working."""
    _set_store_active(sm_store_id, active=False)


@stores_app.command("activate")
def stores_activate(
    sm_store_id: Annotated[str, typer.Option("--sm-id", help="SM storeID of the store")],
) -> None:
    """Start a deactivated store again; the orders that waited for it become its own."""
    _set_store_active(sm_store_id, active=True)


def _set_store_active(sm_store_id: str, *, active: bool) -> None:
    policy = intake_policy(get_settings())
    with database() as db, db.unit_of_work() as uow:
        try:
            store, adopted = set_store_active_in(
                uow, sm_store_id, policy, datetime.now(UTC), active=active
            )
        except AdminRefused as error:
            raise _refused(error) from None
        uow.commit()
    console.print(f"store {store.id}: SM {sm_store_id} {'active' if active else 'deactivated'}")
    if adopted:
        console.print(f"orders that waited for it, now its new orders: {adopted}")


@stores_app.command("list")
def stores_list() -> None:
    table = Table("id", "SM storeID", "name", "timezone", "chat", "lead, min", "active")
    with database() as db, db.unit_of_work() as uow:
        for store in uow.repo(StoreRepository).all():
            table.add_row(
                str(store.id),
                store.sm_store_id,
                store.name,
                store.timezone,
                store.telegram_chat_id or "",
                str(store.assembly_lead_minutes or ""),
                "yes" if store.active else "no",
            )
    console.print(table)


@tokens_app.command("issue")
def tokens_issue(
    store: Annotated[str, typer.Option(help="SM storeID of the store")],
    label: Annotated[str, typer.Option(help="whose device, e.g. «ТСД 1»")],
) -> None:
    """Issue a token for the picking apps of one store; it is shown once, only its hash kept."""
    with database() as db:
        store_id = find_store_id(db, store)
        with db.unit_of_work() as uow:
            token_id, token = issue_token_in(uow, store_id, label, datetime.now(UTC))
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
        store_id = find_store_id(db, store)
        with db.unit_of_work() as uow:
            picker = add_picker_in(uow, store_id, name, chat)
            uow.commit()
    console.print(f"picker {picker.id}: {name}")


@pickers_app.command("deactivate")
def pickers_deactivate(picker_id: Annotated[int, typer.Argument(help="picker id")]) -> None:
    """A picker who left: never deleted (orders name who picked them), no longer offered
    for hand-overs; an open shift is closed."""
    with database() as db, db.unit_of_work() as uow:
        try:
            deactivate_picker_in(uow, picker_id, datetime.now(UTC))
        except AdminRefused as error:
            raise _refused(error) from None
        uow.commit()
    console.print(f"picker {picker_id} deactivated")


@pickers_app.command("list")
def pickers_list(store: Annotated[str, typer.Option(help="SM storeID")]) -> None:
    table = Table("id", "name", "chat", "on shift", "active")
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
                    "yes" if picker.active else "no",
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
        found = uow.repo(StoreRepository).by_sm_id(store) if store is not None else None
        if store is not None and found is None:
            raise typer.BadParameter("no such store or picker")
        store_id = found.id if found is not None else None
        if not set_chat_in(uow, chat, store_id=store_id, picker_id=picker):
            raise typer.BadParameter("no such store or picker")
        uow.commit()
    console.print(f"chat {chat} set")
