"""Server time of the web UI's pages with a quarter of orders stored (issue 12: p95 ≤ 200 ms).

For SQLite and for PostgreSQL: a fresh database, migrated and seeded by ``bench.seed_orders``
(100,000 orders over 90 days in 20 stores, with positions, notifications, journal rows and
sales documents); staff accounts of each role; then the assembly app (which serves /ui)
in this process through Starlette's TestClient, on a frozen clock at the seed's end, each
client signed in through the real form. Each page of ``PAGES`` is requested ``--requests``
times (after one warm-up request) and timed around the call: the whole ASGI stack, the
session check, the queries and the template, no network. One table: median and p95 per
page per database, and the p95 of this process's CPU time per request: on a box shared
with other work the wall time includes waiting for a core and the CPU time does not (on
SQLite it is all of the server's work; on PostgreSQL the database server's share is not in it).

``PAGES`` is the list to extend: a page names the role it is read by and its path, where
``{order}`` is an order still in assembly (the picker account is its picker, on an open
shift), ``{month}`` / ``{quarter}`` the
query of the last 30 / 90 days. A page answering 404 (its area is not on this branch yet)
is left out of the table with a note.

Usage::

    .venv/bin/python -m bench.ui_pages [--orders 100000] [--requests 20] [--only sqlite]
        [--pages picker]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import insert, select
from tests.support.clock import FrozenClock
from tests.support.ui import add_staff, sign_in, ui_client

from bench.hook_ingest import DEFAULT_PG_ADMIN, postgres_database
from bench.seed_orders import DEFAULT_END, seed
from smbridge.domain.staff import Role
from smbridge.kernel.database import migrations
from smbridge.kernel.database.tables import orders, picker_shifts
from smbridge.kernel.database.unit_of_work import Database
from smbridge.reports.period import REPORT_ZONE
from smbridge.reports.rollup import roll_up
from smbridge.settings import Settings

TARGET_MS = 200.0


@dataclass(frozen=True)
class Page:
    name: str
    role: Role
    path: str


PAGES: list[Page] = [
    # Reports: every report over the last 30 days and over the whole quarter, all stores
    # (operations); a store manager's quarter of their store.
    *[
        Page(f"reports/{slug}, {span}", Role.OPERATIONS, f"/ui/reports/{slug}?{{{span}}}")
        for span in ("month", "quarter")
        for slug in (
            "orders-by-day",
            "orders-by-store",
            "orders-by-status",
            "time-to-take",
            "assembly-duration",
            "lateness",
            "cancellations",
            "positions",
            "sales",
            "notifications",
        )
    ],
    Page(
        "reports/orders-by-day, quarter, own store",
        Role.STORE_MANAGER,
        "/ui/reports/orders-by-day?{quarter}",
    ),
    Page(
        "reports/notifications, quarter, own store",
        Role.STORE_MANAGER,
        "/ui/reports/notifications?{quarter}",
    ),
    Page("reports/sales CSV, quarter", Role.OPERATIONS, "/ui/reports/sales.csv?{quarter}"),
    # The other areas (the lead adds their pages as they land on main).
    Page("store: board", Role.STORE_OPERATOR, "/ui/store/"),
    Page("picker: orders, shift open", Role.PICKER, "/ui/picker"),
    Page("picker: pick screen", Role.PICKER, "/ui/picker/orders/{order}"),
    Page("ops: index", Role.OPERATIONS, "/ui/ops/"),
]


@dataclass(frozen=True)
class Timing:
    page: str
    database: str
    median_ms: float
    p95_ms: float
    cpu_p95_ms: float
    status: int


def run_database(kind: str, url: str, order_count: int, requests: int) -> list[Timing]:
    db = Database.from_settings(Settings(database_url=url))
    try:
        migrations.upgrade(db.engine)
        seeded = seed(db.engine, orders_count=order_count)
        print(f"{kind}: seeded {seeded.orders} orders in {seeded.seconds:.0f} s")
        # As the scheduler's report_rollup job would have done by the seed's end.
        started = time.perf_counter()
        rolled = roll_up(db, DEFAULT_END)
        took = time.perf_counter() - started
        print(f"{kind}: rolled up {rolled['days_rolled_up']} days in {took:.1f} s")
        store_id = seeded.first_store_id
        with db.engine.connect() as connection:
            # The picker app's account is the picker of an order it is assembling.
            order, picker, picker_store = connection.execute(
                select(orders.c.number, orders.c.picker_id, orders.c.store_id)
                .where(orders.c.status == "in_assembly")
                .order_by(orders.c.id)
                .limit(1)
            ).one()
        clock = FrozenClock(DEFAULT_END)
        with db.engine.begin() as connection:  # the list shows orders only on a shift
            connection.execute(
                insert(picker_shifts).values(
                    picker_id=picker, store_id=picker_store, opened_at=clock()
                )
            )
        accounts: dict[Role, tuple[int | None, int | None]] = {  # (store, picker)
            Role.PICKER: (picker_store, picker),
            Role.STORE_OPERATOR: (store_id, None),
            Role.STORE_MANAGER: (store_id, None),
            Role.OPERATIONS: (None, None),
            Role.ADMIN: (None, None),
        }
        for role, (store, picker_id) in accounts.items():
            add_staff(
                db,
                login=f"bench-{role.value}",
                role=role,
                now=clock(),
                store_id=store,
                picker_id=picker_id,
            )
        today = DEFAULT_END.astimezone(REPORT_ZONE).date()
        values = {
            "order": order,
            "month": f"period_from={today - timedelta(days=29)}&period_to={today}",
            "quarter": f"period_from={today - timedelta(days=89)}&period_to={today}",
        }
        settings = Settings(database_url=url, hook_token="bench-token")  # noqa: S106
        return _measure(
            kind, settings=settings, db=db, clock=clock, values=values, requests=requests
        )
    finally:
        db.dispose()


def _measure(
    kind: str,
    *,
    settings: Settings,
    db: Database,
    clock: FrozenClock,
    values: dict[str, str],
    requests: int,
) -> list[Timing]:
    timings: list[Timing] = []
    clients: dict[Role, Any] = {}
    try:
        for page in PAGES:
            client = clients.get(page.role)
            if client is None:
                client = ui_client(settings, db, clock).__enter__()
                sign_in(client, f"bench-{page.role.value}")
                clients[page.role] = client
            path = page.path.format(**values)
            first = client.get(path)
            if first.status_code == 404:
                print(f"  {kind}: {page.name}: 404, not on this branch: left out")
                continue
            samples, cpu = [], []
            for _ in range(requests):
                started, started_cpu = time.perf_counter(), time.process_time()
                answer = client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            median, p95 = statistics.median(samples), _p95(samples)
            timings.append(Timing(page.name, kind, median, p95, _p95(cpu), answer.status_code))
            print(f"  {kind}: {page.name}: p95 {timings[-1].p95_ms:.0f} ms")
    finally:
        for client in clients.values():
            client.__exit__(None, None, None)
    return timings


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def _table(timings: list[Timing], kinds: list[str]) -> str:
    by_page: dict[str, dict[str, Timing]] = {}
    for timing in timings:
        by_page.setdefault(timing.page, {})[timing.database] = timing
    header = (
        "| page | "
        + " | ".join(f"{k} median ms | {k} p95 ms | {k} p95 CPU ms" for k in kinds)
        + " |"
    )
    lines = [header, "|---|" + "---:|---:|---:|" * len(kinds)]
    for page, found in by_page.items():
        cells = []
        for kind in kinds:
            measured = found.get(kind)
            if measured is None:
                cells += ["—", "—", "—"]
                continue
            mark = "" if measured.p95_ms <= TARGET_MS else " ✗"
            status = "" if measured.status == 200 else f" ({measured.status})"
            cells += [
                f"{measured.median_ms:.0f}",
                f"{measured.p95_ms:.0f}{mark}{status}",
                f"{measured.cpu_p95_ms:.0f}",
            ]
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN)
    parser.add_argument("--pages", default="", help="only the pages whose name contains this")
    args = parser.parse_args()
    PAGES[:] = [page for page in PAGES if args.pages in page.name]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    timings: list[Timing] = []
    for kind in kinds:
        if kind == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite:///{Path(folder) / 'ui.db'}"
                timings += run_database(kind, url, args.orders, args.requests)
        else:
            with postgres_database(args.pg_admin_url) as url:
                timings += run_database(kind, url, args.orders, args.requests)
    print()
    print(
        f"{args.orders} orders, {args.requests} requests per page, target p95 ≤ {TARGET_MS:.0f} ms"
    )
    print(_table(timings, kinds))


if __name__ == "__main__":
    main()
