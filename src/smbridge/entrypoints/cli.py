"""``smbridge``: the one command that starts every process and runs admin tasks."""

from __future__ import annotations

import secrets
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.live import Live
from rich.table import Table

from smbridge.adapters import migrations
from smbridge.assembly.service import token_hash
from smbridge.config import get_settings
from smbridge.domain.notification import DeliveryState
from smbridge.domain.picker import Picker
from smbridge.domain.store import Store
from smbridge.domain.webhook import JournalStatus
from smbridge.emulators.demo_feed import DemoFeed
from smbridge.entrypoints.hook_app import intake_policy
from smbridge.entrypoints.supervisor import Supervisor, child_environment
from smbridge.logs import configure_logging
from smbridge.notifications.dispatcher_process import run_dispatcher
from smbridge.notifications.service import resend
from smbridge.orders.service import replay_failed
from smbridge.orders.summary import overview
from smbridge.orders.views import HOOK_PATH
from smbridge.service_layer.unit_of_work import Database

app = typer.Typer(
    help="smbridge: SberMarket (Kuper) integration for the retailer.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
stores_app = typer.Typer(help="Stores: SM storeID mapped to ours.", no_args_is_help=True)
events_app = typer.Typer(help="The webhook journal.", no_args_is_help=True)
tokens_app = typer.Typer(help="Assembly API tokens, each bound to one store.", no_args_is_help=True)
pickers_app = typer.Typer(help="Pickers of a store.", no_args_is_help=True)
notifications_app = typer.Typer(help="Notifications to SM (the outbox).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(stores_app, name="stores")
app.add_typer(events_app, name="events")
app.add_typer(tokens_app, name="tokens")
app.add_typer(pickers_app, name="pickers")
app.add_typer(notifications_app, name="notifications")

console = Console()


@contextmanager
def _database() -> Iterator[Database]:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    db = Database.from_settings(settings)
    try:
        yield db
    finally:
        db.dispose()


class Service(StrEnum):
    HOOK = "hook"
    ASSEMBLY = "assembly"


_APPS = {
    Service.HOOK: "smbridge.entrypoints.hook_app:app_from_environment",
    Service.ASSEMBLY: "smbridge.entrypoints.assembly_app:app_from_environment",
}


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
    with _database() as db:
        migrations.upgrade(db.engine, revision)
        console.print(f"database at revision {migrations.current_revision(db.engine)}")


@db_app.command("current")
def db_current() -> None:
    with _database() as db:
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
    """Add a store, or update the one with this SM storeID."""
    with _database() as db, db.unit_of_work() as uow:
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
    with _database() as db, db.unit_of_work() as uow:
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
    with _database() as db, db.unit_of_work() as uow:
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
    policy = intake_policy(get_settings())
    with _database() as db:
        if entry_id is not None:
            ids = [entry_id]
        else:
            with db.unit_of_work() as uow:
                failed = uow.journal.with_status(JournalStatus.FAILED, 100_000)
                ids = [e.id for e in failed if e.id is not None]
        results = {i: replay_failed(db, i, policy) for i in ids}
    for i, status in results.items():
        console.print(f"journal entry {i}: {status.value}")
    if any(s is JournalStatus.FAILED for s in results.values()):
        raise typer.Exit(1)


@app.command()
def dispatcher() -> None:
    """Deliver queued notifications to SM until stopped (SIGTERM finishes the batch)."""
    settings = get_settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with _database() as db:
        run_dispatcher(settings, db, stop)


def _store_id(db: Database, sm_store_id: str) -> int:
    with db.unit_of_work() as uow:
        store = uow.stores.by_sm_id(sm_store_id)
        if store is None or store.id is None:
            raise typer.BadParameter(f"no store with SM storeID {sm_store_id}")
        return store.id


@tokens_app.command("issue")
def tokens_issue(
    store: Annotated[str, typer.Option(help="SM storeID of the store")],
    label: Annotated[str, typer.Option(help="whose device, e.g. «ТСД 1»")],
) -> None:
    """Issue a token for the picking apps of one store; it is shown once, only its hash kept."""
    token = secrets.token_urlsafe(32)
    with _database() as db:
        store_id = _store_id(db, store)
        with db.unit_of_work() as uow:
            token_id = uow.tokens.add(store_id, token_hash(token), label, datetime.now(UTC))
            uow.commit()
    console.print(f"token {token_id} for store {store}: {token}")


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="token id")]) -> None:
    with _database() as db, db.unit_of_work() as uow:
        if not uow.tokens.revoke(token_id, datetime.now(UTC)):
            raise typer.BadParameter(f"no active token {token_id}")
        uow.commit()
    console.print(f"token {token_id} revoked")


@tokens_app.command("list")
def tokens_list() -> None:
    table = Table("id", "store id", "label", "created", "revoked")
    with _database() as db, db.unit_of_work() as uow:
        for row in uow.tokens.all():
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
    with _database() as db:
        picker = Picker(store_id=_store_id(db, store), name=name, telegram_chat_id=chat)
        with db.unit_of_work() as uow:
            uow.pickers.add(picker)
            uow.commit()
    console.print(f"picker {picker.id}: {name}")


@pickers_app.command("list")
def pickers_list(store: Annotated[str, typer.Option(help="SM storeID")]) -> None:
    table = Table("id", "name", "chat", "on shift")
    with _database() as db:
        store_id = _store_id(db, store)
        with db.unit_of_work() as uow:
            for p in uow.pickers.of_store(store_id):
                on_shift = p.id is not None and uow.pickers.open_shift(p.id) is not None
                table.add_row(str(p.id), p.name, p.telegram_chat_id or "", "да" if on_shift else "")
    console.print(table)


@notifications_app.command("list")
def notifications_list(
    state: Annotated[DeliveryState, typer.Option(help="delivery state")] = DeliveryState.DEAD,
    limit: int = 50,
) -> None:
    """Notifications in one state (default: dead letters)."""
    table = Table("id", "SM order", "type", "attempts", "last status", "last error")
    with _database() as db, db.unit_of_work() as uow:
        for n in uow.notifications.with_state(state, limit):
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
    """Queue dead letters again (after their cause was fixed); the dispatcher sends them."""
    if (notification_id is None) == (not all_dead):
        raise typer.BadParameter("give either --id N or --all-dead")
    with _database() as db:
        if notification_id is not None:
            ids = [notification_id]
        else:
            with db.unit_of_work() as uow:
                dead = uow.notifications.with_state(DeliveryState.DEAD, 100_000)
                ids = [n.id for n in dead if n.id is not None]
        moved = resend(db, ids)
    console.print(f"queued again: {len(moved)} of {len(ids)}")
    if len(moved) != len(ids):
        raise typer.Exit(1)


@app.command()
def run(
    hook_workers: Annotated[int, typer.Option(help="hook worker processes")] = 4,
    base_port: Annotated[int, typer.Option(help="first worker port")] = 8100,
    host: str = "127.0.0.1",
    demo: Annotated[bool, typer.Option(help="feed generated SM orders and show them")] = False,
    demo_interval: Annotated[float, typer.Option(help="seconds between demo orders")] = 1.0,
) -> None:
    """Start the whole system on this machine (SQLite by default); Ctrl-C stops it."""
    settings = get_settings()
    token = settings.hook_token.get_secret_value()
    if demo and not token:
        token = secrets.token_urlsafe(24)  # a demo stand: SM and we share a fresh token
    with _database() as db:
        migrations.upgrade(db.engine)
        if demo:
            _ensure_demo_store(db)
        # In the demo the live table is the screen: workers only log warnings and errors.
        quiet = {"SMBRIDGE_LOG_LEVEL": "WARNING"} if demo else {}
        supervisor = Supervisor(child_environment(SMBRIDGE_HOOK_TOKEN=token, **quiet))
        ports = [base_port + i for i in range(hook_workers)]
        for port in ports:
            supervisor.add(f"hook:{port}", "serve", "hook", "--host", host, "--port", str(port))
        supervisor.start_all()
        urls = [f"http://{host}:{p}{HOOK_PATH}/" for p in ports]
        feed = DemoFeed(urls, token, DEMO_STORE, demo_interval) if demo else None
        try:
            _supervise(supervisor, db, feed)
        except KeyboardInterrupt:
            console.print("stopping…")
        finally:
            if feed is not None:
                feed.stop()
            supervisor.stop_all()


DEMO_STORE = "101"


def _ensure_demo_store(db: Database) -> None:
    with db.unit_of_work() as uow:
        if uow.stores.by_sm_id(DEMO_STORE) is None:
            uow.stores.add(Store(sm_store_id=DEMO_STORE, name="Демо-магазин на Ленина"))
            uow.commit()


def _supervise(supervisor: Supervisor, db: Database, feed: DemoFeed | None) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Live(_overview_table(db, feed), console=console, refresh_per_second=1) as live:
        started = False
        while not stop.wait(1.0):
            supervisor.check()
            if feed is not None and not started:
                feed.start()
                started = True
            live.update(_overview_table(db, feed))


def _overview_table(db: Database, feed: DemoFeed | None) -> Table:
    seen = overview(db)
    table = Table("what", "count", title="smbridge — заказы СберМаркета")
    for status, n in sorted(seen.orders_by_status.items()):
        table.add_row(f"orders: {status}", str(n))
    for status, n in sorted(seen.webhooks_by_status.items()):
        table.add_row(f"webhooks: {status}", str(n))
    table.add_row("webhook deliveries", str(seen.webhook_deliveries))
    for status, n in sorted(seen.telegram_by_status.items()):
        table.add_row(f"telegram: {status}", str(n))
    if feed is not None:
        table.add_row("demo feed: sent / failed", f"{feed.sent} / {feed.failed}")
    return table


def main() -> None:
    app()
