"""The retention purge at scale: a database of N orders over a year (bench/seed_orders.py:
positions, notifications, journal, sales documents), then one purge with 90-day retention
and personal data cleared after 90 days, while a probe writes a tiny transaction every
20 ms: how long the purge takes and how long a writer ever waited for it (batches keep each
transaction short).

    PYTHONPATH=src .venv/bin/python -m bench.retention --orders 1000000

1 M orders are what issue 15 asks for; on a small shared box run what fits (--orders 200000).
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import timedelta

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select, text, update
from tests.support.environment import throwaway_database

from bench.seed_orders import DEFAULT_END, seed
from smbridge.kernel.database import migrations
from smbridge.kernel.database.tables import orders, sm_notifications, webhook_journal
from smbridge.kernel.database.unit_of_work import Database
from smbridge.lifecycle.service import Retention, purge
from smbridge.settings import Settings

PROBE_EVERY = 0.02


class Probe:
    """A writer beside the purge: the longest any of its one-row transactions took."""

    def __init__(self, db: Database) -> None:
        self.db, self.longest, self.writes = db, 0.0, 0
        self.stop = threading.Event()
        with db.engine.begin() as c:
            c.execute(text("INSERT INTO job_leases (job) VALUES ('bench-probe')"))
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            with self.db.unit_of_work() as uow:
                uow.session.execute(
                    text("UPDATE job_leases SET owner = :o WHERE job = 'bench-probe'"),
                    {"o": str(self.writes)},
                )
                uow.commit()
            self.longest = max(self.longest, time.perf_counter() - started)
            self.writes += 1
            time.sleep(PROBE_EVERY)


def measure(url: str, args: argparse.Namespace) -> dict[str, float]:
    db = Database.from_settings(Settings(database_url=url))
    try:
        migrations.upgrade(db.engine)
        seeded = seed(db.engine, orders_count=args.orders, days=args.days)
        with db.engine.begin() as c:  # the seed names no customer: as SM's orders do
            c.execute(
                update(orders).values(
                    customer_name="Иван Петров",
                    customer_phone="+79991111111",
                    address={"city": "Москва", "street": "Ленина", "house": "1"},
                )
            )
        with db.engine.connect() as c:
            journal = c.execute(select(func.count()).select_from(webhook_journal)).scalar_one()
            notes = c.execute(select(func.count()).select_from(sm_notifications)).scalar_one()
        days = timedelta(days=90)
        retention = Retention(days, days, days, days, days, batch=args.batch)
        probe = Probe(db)
        probe.thread.start()
        started = time.perf_counter()
        counts = purge(db, DEFAULT_END, retention)
        seconds = time.perf_counter() - started
        probe.stop.set()
        probe.thread.join()
        with db.engine.connect() as c:
            left = c.execute(select(func.count()).select_from(orders)).scalar_one()
        assert left == args.orders  # orders are kept, only their customers cleared
        return {
            "seed": seeded.seconds,
            "journal": journal,
            "notifications": notes,
            "journal_deleted": counts["journal_deleted"],
            "notes_deleted": counts["sm_notifications_deleted"],
            "cleared": counts["orders_personal_data_cleared"],
            "purge": seconds,
            "probe_ms": probe.longest * 1000,
            "probe_writes": probe.writes,
        }
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=360, help="the orders' span, days")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    table = Table(
        title=f"retention purge: {args.orders:,} orders over {args.days} days, 90-day "
        f"retention, batches of {args.batch}"
    )
    for column in (
        "database",
        "seed, s",
        "journal rows",
        "deleted",
        "notifications",
        "deleted",
        "orders cleared",
        "purge, s",
        "rows/s",
        "longest probe write, ms",
    ):
        table.add_column(column)
    for kind in args.databases.split(","):
        with throwaway_database(kind) as url:
            r = measure(url, args)
        rows = r["journal_deleted"] + r["notes_deleted"] + r["cleared"]
        table.add_row(
            kind,
            f"{r['seed']:.0f}",
            f"{r['journal']:,.0f}",
            f"{r['journal_deleted']:,.0f}",
            f"{r['notifications']:,.0f}",
            f"{r['notes_deleted']:,.0f}",
            f"{r['cleared']:,.0f}",
            f"{r['purge']:.1f}",
            f"{rows / r['purge']:,.0f}",
            f"{r['probe_ms']:.0f} ({r['probe_writes']:,.0f} writes)",
        )
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
