"""A restore never reissues an order number (nor a sales document's, made of it): the next
order after ``smbridge db restore`` is numbered past every one issued before the restore,
including those the lost database gave after its backup."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from smbridge.entrypoints.cli import context
from smbridge.entrypoints.cli.main import app
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database import backup
from smbridge.kernel.database.tables import number_floors, orders, webhook_journal
from smbridge.kernel.database.unit_of_work import Database
from smbridge.sales.service import document_number
from smbridge.settings import Settings, get_settings
from tests.factories import add_store, envelope, order_payload
from tests.support.clock import FrozenClock


def receive(db: Database, clock: FrozenClock, *sm_ids: str) -> list[str]:
    """Orders as SM sends them; their numbers, in order."""
    for sm_id in sm_ids:
        body = envelope("order.created", order_payload(sm_id))
        assert ingest_webhook(db, parse_webhook(body), IntakePolicy(), clock).status_code == 200
    with db.engine.connect() as c:
        found = c.execute(select(orders.c.number).where(orders.c.sm_order_id.in_(sm_ids)))
        return sorted(found.scalars())


def test_the_next_number_after_a_restore_is_past_every_number_issued_before_it(
    db: Database, database_url: str, new_database_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    add_store(db)
    receive(db, clock, "H1", "H2", "H3")
    file = tmp_path / "smbridge.backup"
    backup.backup(database_url, file)
    clock.advance(timedelta(hours=1))
    lost = receive(db, clock, "H4", "H5")  # acknowledged to SM, then the machine is lost
    assert lost == ["SM00000004", "SM00000005"]

    # A week on: the estimate (twice the rate before the backup) outgrows the minimum.
    restored = backup.restore(
        file, new_database_url, min_number_gap=1, now=clock.advance(timedelta(days=7))
    )
    assert restored.numbers is not None
    assert restored.numbers.highest == 3
    assert restored.numbers.gap > 2  # 3 orders a week, 7 days since, twice over: 6

    again = Database.from_settings(Settings(database_url=new_database_url))
    try:
        (number,) = receive(again, clock, "H6")
        (second,) = receive(again, clock, "H7")
        with again.engine.connect() as c:
            floor = c.execute(select(number_floors.c.floor, number_floors.c.reason)).one()
            order_id = c.execute(select(orders.c.id).where(orders.c.sm_order_id == "H6"))
            new_id = order_id.scalar_one()
    finally:
        again.dispose()
    assert number > max(lost)
    assert second > number  # past the floor, numbers run on from the new order
    assert document_number(new_id) > document_number(5)
    assert floor == (restored.numbers.floor, "restore of smbridge.backup")
    assert number == f"SM{restored.numbers.floor + 1:08d}"


def test_restore_command_reports_the_jump_and_skip_numbers_moves_again(
    db: Database,
    database_url: str,
    new_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_store(db)
    receive(db, FrozenClock(), "H1", "H2")
    file = tmp_path / "smbridge.backup"
    backup.backup(database_url, file)
    monkeypatch.setattr(context.console, "width", 400)
    monkeypatch.setenv("SMBRIDGE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        done = runner.invoke(app, ["db", "restore", str(file), "--to", new_database_url])
        assert done.exit_code == 0, done.output
        assert "highest known 2, the next one is 10003" in done.output
        monkeypatch.setenv("SMBRIDGE_DATABASE_URL", new_database_url)
        get_settings.cache_clear()
        skipped = runner.invoke(app, ["db", "skip-numbers", "--number-gap", "500"])
        assert skipped.exit_code == 0, skipped.output
        assert "highest known 10002, the next one is 10503" in skipped.output
    finally:
        get_settings.cache_clear()


def test_a_backup_file_is_readable_by_its_owner_only(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    add_store(db)
    file = tmp_path / "smbridge.backup"
    careless = os.umask(0)  # the files would be world-readable under this umask
    try:
        backup.backup(database_url, file)
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        backup.backup(database_url, file, force=True)
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    finally:
        os.umask(careless)


def test_an_order_lost_in_a_restore_comes_back_from_its_parked_events(
    db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_store(db)
    clock = FrozenClock()
    receive(db, clock, "H1")  # the restored database knows H1; H4 was lost with the machine
    for kind in ("order.paid", "order.canceled"):
        body = envelope(kind, order_payload("H4"))
        assert ingest_webhook(db, parse_webhook(body), IntakePolicy(), clock).status_code == 202
    monkeypatch.setattr(context.console, "width", 400)
    monkeypatch.setenv("SMBRIDGE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        listed = runner.invoke(app, ["events", "list", "--status", "parked"])
        assert listed.output.count("H4") == 2, listed.output
        adopted = runner.invoke(app, ["events", "adopt", "--sm-order", "H4"])
        assert adopted.exit_code == 0, adopted.output
        assert "order H4 adopted as SM00000002" in adopted.output
        again = runner.invoke(app, ["events", "adopt", "--sm-order", "H4"])
        assert again.exit_code == 2, again.output
        unknown = runner.invoke(app, ["events", "adopt", "--sm-order", "H9"])
        assert unknown.exit_code == 2, unknown.output
    finally:
        get_settings.cache_clear()
    with db.engine.connect() as c:
        status = c.execute(select(orders.c.status).where(orders.c.sm_order_id == "H4"))
        assert status.scalar_one() == "cancelled"
        journal = c.execute(select(webhook_journal.c.status, webhook_journal.c.order_id))
        assert {row.status for row in journal} == {"applied"}
