"""``smbridge db copy`` moves every row from SQLite to PostgreSQL and back: stores, pickers,
chats, tokens, orders, the journal, the queues; counted per table, refusing a non-empty
target, and numbering past what the source issued."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from smbridge.assembly.staffing import add_picker_in, issue_token_in, set_chat_in
from smbridge.entrypoints.cli import context
from smbridge.entrypoints.cli.main import app
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database import numbering
from smbridge.kernel.database.tables import metadata, orders
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings, get_settings
from tests.factories import add_store, envelope, order_payload
from tests.support.clock import FrozenClock
from tests.support.environment import create_postgres_database, drop_postgres_database


@pytest.fixture
def other_kind_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the other kind: the copy's target."""
    if database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'copied.db'}"
        return
    name, url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(name)


def seed(db: Database, clock: FrozenClock) -> None:
    store = add_store(db)
    assert store.id is not None
    with db.unit_of_work() as uow:
        picker = add_picker_in(uow, store.id, "Анна", "5001")
        uow.commit()
    with db.unit_of_work() as uow:
        assert set_chat_in(uow, "-100200", store_id=store.id, picker_id=None)
        issue_token_in(uow, store.id, "ТСД 1", clock())
        uow.commit()
    assert picker.id is not None
    policy = IntakePolicy(notify_accepted=True)
    for n in range(1, 6):
        body = envelope("order.created", order_payload(f"H{n}"))
        assert ingest_webhook(db, parse_webhook(body), policy, clock).status_code == 200
        clock.advance(timedelta(minutes=3))
    parked = envelope("order.paid", order_payload("H99"))
    assert ingest_webhook(db, parse_webhook(parked), policy, clock).status_code == 202
    with db.engine.begin() as c:  # a restore's floor, that the copy must keep
        numbering.set_floor(c, 40, clock(), "restore of test.backup")


def everything(url: str) -> dict[str, list[dict[str, Any]]]:
    found = Database.from_settings(Settings(database_url=url))
    try:
        with found.engine.connect() as c:
            return {
                table.name: [
                    dict(row)
                    for row in c.execute(
                        select(table).order_by(*table.primary_key.columns)
                    ).mappings()
                ]
                for table in metadata.sorted_tables
            }
    finally:
        found.dispose()


def copy(monkeypatch: pytest.MonkeyPatch, source: str, target: str) -> Any:
    monkeypatch.setattr(context.console, "width", 400)
    get_settings.cache_clear()
    return CliRunner().invoke(app, ["db", "copy", "--from", source, "--to", target])


def test_db_copy_moves_every_row_to_the_other_kind_of_database(
    db: Database, database_url: str, other_kind_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FrozenClock()
    seed(db, clock)
    done = copy(monkeypatch, database_url, other_kind_url)
    assert done.exit_code == 0, done.output
    assert "│ orders " in done.output
    assert "│ api_tokens " in done.output

    source, target = everything(database_url), everything(other_kind_url)
    assert source == target
    assert len(target["orders"]) == 5
    assert all(target[name] for name in ("stores", "pickers", "api_tokens", "webhook_journal"))
    assert target["stores"][0]["telegram_chat_id"] == "-100200"

    copied = Database.from_settings(Settings(database_url=other_kind_url))
    try:
        body = envelope("order.created", order_payload("H6"))
        assert ingest_webhook(copied, parse_webhook(body), IntakePolicy(), clock).status_code == 200
        with copied.engine.connect() as c:
            number = c.execute(select(orders.c.number).where(orders.c.sm_order_id == "H6"))
            assert number.scalar_one() == "SM00000041"  # past the floor it came with
    finally:
        copied.dispose()

    again = copy(monkeypatch, database_url, other_kind_url)
    assert again.exit_code == 2, again.output
    assert "the target is not empty" in again.output


def test_db_copy_refuses_a_missing_source_and_copying_onto_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "missing.db"
    refused = copy(monkeypatch, f"sqlite:///{missing}", f"sqlite:///{tmp_path / 'new.db'}")
    assert refused.exit_code == 2, refused.output
    assert "no database file" in refused.output
    assert not missing.exists()
    itself = copy(monkeypatch, f"sqlite:///{missing}", f"sqlite:///{missing}")
    assert itself.exit_code == 2, itself.output
    assert "the same database" in itself.output
