"""``smbridge db backup`` while SM's webhooks keep arriving, then ``smbridge db restore``
into a new database: every webhook acknowledged before the backup began is in it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from smbridge.entrypoints.hook_app import create_hook_app
from smbridge.kernel.database import migrations
from smbridge.kernel.database.tables import orders, webhook_journal
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from tests.conftest import make_settings
from tests.factories import HEADERS, add_store, envelope, order_payload
from tests.support.clock import FrozenClock
from tests.support.servers import serving_as_worker

HOOK = "/sbermarket/orders/hook/"
POSTERS = 3


class Posters:
    """SM delivering new orders from a few connections; each acknowledgement (200) is
    noted with the moment its answer arrived."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.acknowledged: list[tuple[float, str]] = []
        self.failed: list[int] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._post, args=(n,)) for n in range(POSTERS)]

    def _post(self, poster: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            n = 0
            while not self.stop.is_set():
                order = f"H{poster}{n:06d}"
                body = envelope("order.created", order_payload(order))
                answer = client.post(HOOK, content=body, headers=HEADERS)
                with self.lock:
                    if answer.status_code == 200:
                        self.acknowledged.append((time.monotonic(), order))
                    else:
                        self.failed.append(answer.status_code)
                n += 1

    def acknowledged_before(self, moment: float) -> set[str]:
        with self.lock:
            return {order for at, order in self.acknowledged if at < moment}

    def acknowledged_between(self, start: float, end: float) -> int:
        with self.lock:
            return sum(1 for at, _ in self.acknowledged if start <= at <= end)


def smbridge(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The admin command in its own process, as cron runs it."""
    env = dict(os.environ, SMBRIDGE_DATABASE_URL=url, SMBRIDGE_LOG_JSON="false")
    return subprocess.run(
        [sys.executable, "-m", "smbridge", "db", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_a_backup_under_load_restores_every_webhook_acknowledged_before_it(
    db: Database, database_url: str, new_database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url)
    add_store(db)
    backup_file = tmp_path / "smbridge.backup"
    app = create_hook_app(settings, db, clock=FrozenClock())
    with serving_as_worker(app, settings) as (host, port):
        posters = Posters(f"http://{host}:{port}")
        for thread in posters.threads:
            thread.start()
        try:
            time.sleep(2)  # a database with some orders in it, and writes going on
            started = time.monotonic()
            made = smbridge(database_url, "backup", str(backup_file))
            ended = time.monotonic()
            time.sleep(0.5)
        finally:
            posters.stop.set()
            for thread in posters.threads:
                thread.join(timeout=60)
    assert made.returncode == 0, made.stdout + made.stderr
    before = posters.acknowledged_before(started)
    during = posters.acknowledged_between(started, ended)
    assert len(before) > 10
    assert during > 0, "no webhook was accepted while the backup ran"
    assert posters.failed == []

    restored = smbridge(database_url, "restore", str(backup_file), "--to", new_database_url)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    print(  # shown with -s: the figures of the report
        f"\n{make_url(database_url).get_backend_name()}: {len(before)} acknowledged before, "
        f"{during} during the backup; {made.stdout.strip()}; {restored.stdout.strip()}"
    )

    found = Database.from_settings(Settings(database_url=new_database_url))
    try:
        with found.engine.connect() as c:
            journal = set(c.execute(select(webhook_journal.c.sm_order_id)).scalars())
            stored = set(c.execute(select(orders.c.sm_order_id)).scalars())
        assert migrations.current_revision(found.engine) == migrations.head_revision()
    finally:
        found.dispose()
    assert before <= journal
    assert before <= stored
    # The snapshot is of one moment: nothing in it that SM was never told about.
    everything = {order for _, order in posters.acknowledged}
    assert stored <= everything
    if new_database_url.startswith("sqlite"):
        path = make_url(new_database_url).database
        assert path is not None
        with sqlite3.connect(path) as check:
            assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
