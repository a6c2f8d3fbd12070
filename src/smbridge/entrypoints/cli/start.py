"""Commands that start processes: web workers, the scheduler, the whole system."""

from __future__ import annotations

import itertools
import signal
import threading
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import structlog
import typer
from rich.live import Live
from rich.table import Table

from smbridge.deploy import nginx as nginx_front
from smbridge.domain.staff import ROLE_TITLES, Role
from smbridge.entrypoints.cli.context import console, database
from smbridge.entrypoints.cli.serve import Service
from smbridge.entrypoints.openapi import openapi_json
from smbridge.entrypoints.scheduled_jobs import build_jobs
from smbridge.entrypoints.stack import (
    DEMO_MANUAL_STORE,
    Secrets,
    StackPlan,
    build_supervisor,
    prepare_demo,
)
from smbridge.entrypoints.supervisor import Supervisor
from smbridge.kernel.clock import utc_now
from smbridge.kernel.database import migrations
from smbridge.kernel.database.errors import DatabaseUnavailable, WriteConflict, translate
from smbridge.kernel.database.unit_of_work import Database
from smbridge.metrics.summary import Overview, overview
from smbridge.notifications.dispatcher_process import run_dispatcher
from smbridge.scheduler.runner import Scheduler
from smbridge.settings import get_settings

log = structlog.get_logger(__name__)


def openapi(service: Annotated[Service, typer.Argument(help="which web service")]) -> None:
    """Print a service's OpenAPI schema (docs/ keeps a copy of each)."""
    print(openapi_json(service.value))


def scheduler() -> None:
    """Run the periodic jobs and the SM dispatcher; SIGTERM finishes current runs and exits."""
    settings = get_settings()
    with database() as db:
        runner = Scheduler(
            db,
            build_jobs(settings, db, utc_now),
            utc_now,
            lease=timedelta(seconds=settings.job_lease_seconds),
        )
        signal.signal(signal.SIGTERM, lambda *_: runner.stop.set())
        signal.signal(signal.SIGINT, lambda *_: runner.stop.set())
        notifying = threading.Thread(
            target=run_dispatcher, args=(settings, db, runner.stop), name="dispatcher"
        )
        notifying.start()
        runner.serve()
        notifying.join()


def dispatcher() -> None:
    """Deliver queued notifications to SM until stopped (SIGTERM finishes the batch)."""
    settings = get_settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with database() as db:
        run_dispatcher(settings, db, stop)


def run(  # noqa: PLR0917 - one parameter per CLI option
    hook_workers: Annotated[int, typer.Option(help="hook worker processes")] = 4,
    assembly_workers: Annotated[int, typer.Option(help="assembly worker processes")] = 4,
    hook_port: Annotated[int, typer.Option(help="first hook worker port")] = 8100,
    assembly_port: Annotated[int, typer.Option(help="first assembly worker port")] = 8200,
    host: str = "127.0.0.1",
    demo: Annotated[bool, typer.Option(help="SM emulator and pickers feed the system")] = False,
    rate: Annotated[float, typer.Option(help="demo: SM orders per second")] = 1.0,
    orders: Annotated[int, typer.Option(help="demo: stop generating after N (0: never)")] = 0,
    chaos: Annotated[bool, typer.Option(help="demo: duplicates, reordering, changes")] = False,
    speed: Annotated[float, typer.Option(help="demo: courier speed-up factor")] = 60.0,
    seed: Annotated[int | None, typer.Option(help="demo: random seed")] = None,
    sm_port: Annotated[int, typer.Option(help="demo: the SM emulator's port")] = 9000,
    telegram_port: Annotated[int, typer.Option(help="demo: the Telegram emulator's port")] = 9100,
    pick_seconds: Annotated[float, typer.Option(help="demo: picking time per line")] = 0.5,
    pickers: Annotated[int, typer.Option(help="demo: simulated pickers (0: none)")] = 3,
    hand_picked_store: Annotated[
        bool, typer.Option(help="demo: one SM order in five goes to a store picked by hand")
    ] = True,
    pickup_share: Annotated[float, typer.Option(help="demo: share of self-pickup orders")] = 0.2,
    pickup_no_shows: Annotated[
        bool, typer.Option(help="demo: some pickup customers never come")
    ] = True,
    nginx: Annotated[bool, typer.Option(help="nginx in front, when installed")] = True,
    https_port: Annotated[int, typer.Option(help="nginx: HTTPS port")] = 8443,
    http_port: Annotated[int, typer.Option(help="nginx: HTTP port (redirects)")] = 8080,
    state_dir: Annotated[Path, typer.Option(help="private files (nginx config, logs)")] = Path(
        ".smbridge"
    ),
) -> None:
    """Start the whole system on this machine (SQLite by default); Ctrl-C stops it.

    SIGHUP restarts the web workers one at a time (a rolling restart, nothing lost).
    """
    plan = StackPlan(
        host=host,
        hook_workers=hook_workers,
        hook_port=hook_port,
        assembly_workers=assembly_workers,
        assembly_port=assembly_port,
        demo=demo,
        demo_rate=rate,
        demo_orders=orders,
        demo_chaos=chaos,
        demo_speed=speed,
        seed=seed,
        sm_port=sm_port,
        telegram_port=telegram_port,
        demo_pick_seconds=pick_seconds,
        demo_pickers=pickers,
        demo_hand_picked_store=hand_picked_store,
        demo_pickup_share=pickup_share,
        demo_pickup_no_shows=pickup_no_shows,
        nginx_binary=nginx_front.find_binary() if nginx else None,
        https_port=https_port,
        http_port=http_port,
        state_dir=state_dir,
    )
    if plan.nginx_binary is None:
        console.print("nginx is not installed (or --no-nginx): the workers serve directly")
    else:
        console.print(f"nginx: https://{host}:{https_port}/ (self-signed unless configured)")
    hook_token = get_settings().hook_token.get_secret_value()
    with database() as db:
        migrations.upgrade(db.engine)
        keys = prepare_demo(db, plan, hook_token) if demo else Secrets(hook_token)
        console.print(f"web UI: {plan.ui_url}")
        if demo:
            _print_sign_ins(plan, keys)
        live = demo and console.is_terminal
        supervisor = build_supervisor(plan, keys, quiet=live)
        supervisor.start_all()
        try:
            rejoin = get_settings().nginx_fail_timeout_seconds if plan.nginx_binary else 0
            _supervise(supervisor, db, live, rejoin)
        except KeyboardInterrupt:
            console.print("stopping…")
        finally:
            supervisor.stop_all()


def _print_sign_ins(plan: StackPlan, keys: Secrets) -> None:
    """The demo's web UI accounts (new secrets each start: copy them from here)."""
    console.print(
        f"store {DEMO_MANUAL_STORE} is picked by hand in the browser "
        "(the simulated pickers leave it alone); demo sign-ins, new each start:",
        soft_wrap=True,
    )
    for account in keys.sign_ins:
        where = f"store {account.store}" if account.store else "all stores"
        page = "picker/login" if account.role is Role.PICKER else "login"
        secret = "PIN" if account.role is Role.PICKER else "password"
        console.print(
            f"  {ROLE_TITLES[account.role]} ({where}): {plan.ui_url}{page}  "
            f"login {account.login}  {secret} {account.secret}",
            markup=False,
            highlight=False,
            soft_wrap=True,  # one account a line, to copy from
        )


def _supervise(supervisor: Supervisor, db: Database, live: bool, rejoin_seconds: float) -> None:
    """Restart crashed children; show the overview (a live table on a terminal)."""
    stop = threading.Event()
    roll = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: roll.set())

    def tend() -> None:
        supervisor.check()
        if roll.is_set():
            roll.clear()
            supervisor.rolling_restart(rejoin_seconds)

    if not live:
        for tick in itertools.count(1):
            if stop.wait(1.0):
                return
            tend()
            if tick % 10 == 0:  # a log, not a screen: one overview line now and then
                console.print(_overview_line(db))
    with Live(_overview_table(db), console=console, refresh_per_second=1) as screen:
        while not stop.wait(1.0):
            tend()
            screen.update(_overview_table(db))


def _seen(db: Database) -> Overview | str:
    """The overview, or what keeps us from it: a database outage must not stop the stand."""
    try:
        return overview(db)
    except Exception as exc:
        # The unit of work has usually named the failure already.
        meaning = exc if isinstance(exc, DatabaseUnavailable | WriteConflict) else translate(exc)
        if meaning is None:
            raise
        log.warning("run.overview_unavailable", error=str(meaning))
        return f"база данных недоступна: {meaning}"


def _overview_line(db: Database) -> str:
    seen = _seen(db)
    if isinstance(seen, str):
        return seen
    return (
        f"orders {seen.orders_by_status} webhooks {seen.webhooks_by_status} "
        f"notifications {seen.notifications_by_state} telegram {seen.telegram_by_status} "
        f"sales documents {seen.sales_documents}"
    )


def _overview_table(db: Database) -> Table:
    seen = _seen(db)
    table = Table("что", "сколько", title="smbridge — заказы СберМаркета")
    if isinstance(seen, str):
        table.add_row(seen, "—")
        return table
    sections = (
        ("заказы", seen.orders_by_status),
        ("вебхуки", seen.webhooks_by_status),
        ("уведомления СМ", seen.notifications_by_state),
        ("telegram", seen.telegram_by_status),
    )
    for title, counts in sections:
        for status, count in sorted(counts.items()):
            table.add_row(f"{title}: {status}", str(count))
    table.add_row("вебхуки: доставок всего", str(seen.webhook_deliveries))
    table.add_row("реализации (документы продажи)", str(seen.sales_documents))
    return table
