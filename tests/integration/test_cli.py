"""The ``smbridge`` admin commands against real databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from smbridge.entrypoints.cli import context
from smbridge.entrypoints.cli.main import app
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database import migrations
from smbridge.kernel.database.tables import (
    metadata,
    orders,
    sm_notifications,
    stores,
    webhook_journal,
)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import get_settings
from tests.factories import (
    add_store,
    envelope,
    order_payload,
    ready_with_an_unweighed_substitute,
)
from tests.support.clock import FrozenClock

runner = CliRunner()


@pytest.fixture
def use_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SMBRIDGE_LOG_JSON", "false")
    monkeypatch.setattr(context.console, "width", 240)  # no wrapping inside table cells
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def invoke(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> str:
    monkeypatch.setenv("SMBRIDGE_DATABASE_URL", url)
    get_settings.cache_clear()
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_db_upgrade_creates_every_table_on_a_new_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, use_database: None
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    head = migrations.head_revision()
    assert f"revision {head}" in invoke(monkeypatch, url, "db", "upgrade")
    assert f"revision {head}" in invoke(monkeypatch, url, "db", "upgrade")  # nothing to do
    db = Database.from_settings(get_settings())
    assert set(inspect(db.engine).get_table_names()) >= set(metadata.tables)
    with db.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    db.dispose()


def refused(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> str:
    monkeypatch.setenv("SMBRIDGE_DATABASE_URL", url)
    get_settings.cache_clear()
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    return " ".join(result.output.split())  # rich wraps long lines


def store_rows(db: Database) -> list[tuple[object, ...]]:
    s = stores.c
    columns = (s.sm_store_id, s.name, s.timezone, s.telegram_chat_id, s.assembly_lead_minutes)
    with db.engine.connect() as c:
        return [tuple(row) for row in c.execute(select(*columns, s.active).order_by(s.id))]


def test_stores_create_refuses_an_existing_store_and_update_changes_only_what_is_given(
    db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch, use_database: None
) -> None:
    create = ("stores", "create", "--sm-id", "101", "--name", "Ленина")
    invoke(monkeypatch, database_url, *create, "--chat", "-1001", "--lead-minutes", "40")
    for command in ("create", "add"):  # add: the older name, just as careful
        said = refused(
            monkeypatch, database_url, "stores", command, "--sm-id", "101", "--name", "X"
        )
        assert "уже есть" in said
    assert store_rows(db) == [("101", "Ленина", "Europe/Moscow", "-1001", 40, True)]

    update = ("stores", "update", "--sm-id", "101")
    invoke(monkeypatch, database_url, *update, "--name", "Ленина 1", "--timezone", "Asia/Omsk")
    assert store_rows(db) == [("101", "Ленина 1", "Asia/Omsk", "-1001", 40, True)]
    invoke(monkeypatch, database_url, *update, "--chat", "", "--lead-minutes", "0")
    assert store_rows(db) == [("101", "Ленина 1", "Asia/Omsk", None, None, True)]
    assert "нет" in refused(
        monkeypatch, database_url, "stores", "update", "--sm-id", "9", "--name", "Y"
    )
    listed = invoke(monkeypatch, database_url, "stores", "list")
    assert "Ленина 1" in listed
    assert "Asia/Omsk" in listed


def test_a_store_time_zone_must_be_in_the_tz_database(
    db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch, use_database: None
) -> None:
    create = ("stores", "create", "--sm-id", "101", "--name", "Ленина")
    said = refused(monkeypatch, database_url, *create, "--timezone", "Mars/Base")
    assert "Неизвестный часовой пояс «Mars/Base»" in said
    assert store_rows(db) == []
    monkeypatch.setenv("SMBRIDGE_DEFAULT_TIMEZONE", "Asia/Yekaterinburg")
    invoke(monkeypatch, database_url, *create)  # none given: the default-timezone setting
    assert store_rows(db)[0][2] == "Asia/Yekaterinburg"
    update = ("stores", "update", "--sm-id", "101", "--timezone", "Europe/Moskow")
    assert "Europe/Moskow" in refused(monkeypatch, database_url, *update)
    assert store_rows(db)[0][2] == "Asia/Yekaterinburg"  # unchanged


def test_stores_and_pickers_are_deactivated_never_deleted(
    db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch, use_database: None
) -> None:
    invoke(monkeypatch, database_url, "stores", "create", "--sm-id", "101", "--name", "Ленина")
    policy = IntakePolicy(notify_accepted=True)
    invoke(monkeypatch, database_url, "stores", "deactivate", "--sm-id", "101")
    assert "отключён" in refused(
        monkeypatch, database_url, "stores", "deactivate", "--sm-id", "101"
    )
    body = envelope("order.created", order_payload("H1", storeID="101"))
    assert ingest_webhook(db, parse_webhook(body), policy, FrozenClock()).status_code == 200
    with db.engine.connect() as c:  # a deactivated store takes no order: it waits
        assert c.execute(select(orders.c.store_id)).scalar_one() is None
    activated = invoke(monkeypatch, database_url, "stores", "activate", "--sm-id", "101")
    assert "orders that waited for it, now its new orders: 1" in activated
    assert store_rows(db)[0][-1] is True

    invoke(monkeypatch, database_url, "pickers", "add", "--store", "101", "--name", "Анна")
    invoke(monkeypatch, database_url, "pickers", "deactivate", "1")
    assert "no" in invoke(monkeypatch, database_url, "pickers", "list", "--store", "101")
    assert "отключён" in refused(monkeypatch, database_url, "pickers", "deactivate", "1")
    assert "не найден" in refused(monkeypatch, database_url, "pickers", "deactivate", "7")
    with db.engine.connect() as c:
        assert c.execute(select(stores.c.id)).all() != []


def test_events_replay_applies_a_failed_order_after_its_store_is_fixed(
    db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch, use_database: None
) -> None:
    add_store(db, timezone="Europe/Moskow")  # misspelt: the order cannot be promised
    ingest_webhook(
        db, parse_webhook(envelope("order.created", order_payload())), IntakePolicy(), FrozenClock()
    )
    assert "Europe/Moskow" in invoke(monkeypatch, database_url, "events", "list")

    monkeypatch.setenv("SMBRIDGE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    failing = runner.invoke(app, ["events", "replay", "--all-failed"])
    assert failing.exit_code == 1, failing.output  # still no store: says so
    assert ": failed" in failing.output

    invoke(
        monkeypatch,
        database_url,
        "stores",
        "update",
        "--sm-id",
        "101",
        "--timezone",
        "Europe/Moscow",
    )
    assert "applied" in invoke(monkeypatch, database_url, "events", "replay", "--all-failed")
    with db.engine.connect() as c:
        assert c.execute(select(orders.c.number)).scalar_one() == "SM00000001"
        assert c.execute(select(webhook_journal.c.status)).scalar_one() == "applied"


def test_stores_add_adopts_the_orders_that_waited_for_the_store(
    db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch, use_database: None
) -> None:
    policy = IntakePolicy(notify_accepted=True)
    for sm_id, store in (("H1", "101"), ("H2", "101"), ("H3", "202")):
        body = envelope("order.created", order_payload(sm_id, storeID=store))
        assert ingest_webhook(db, parse_webhook(body), policy, FrozenClock()).status_code == 200

    added = invoke(monkeypatch, database_url, "stores", "add", "--sm-id", "101", "--name", "Ленина")
    assert "orders that waited for it, now its new orders: 2" in added
    with db.engine.connect() as c:
        placed = c.execute(select(orders.c.sm_order_id, orders.c.store_id).order_by(orders.c.id))
        assert [tuple(r) for r in placed] == [("H1", 1), ("H2", 1), ("H3", None)]
        sent = c.execute(select(sm_notifications.c.sm_order_id, sm_notifications.c.type))
        assert sorted(sent) == [("H1", "order.accepted"), ("H2", "order.accepted")]


def test_events_replay_needs_exactly_one_selection(
    monkeypatch: pytest.MonkeyPatch, use_database: None
) -> None:
    assert runner.invoke(app, ["events", "replay"]).exit_code == 2
    assert runner.invoke(app, ["events", "replay", "--id", "1", "--all-failed"]).exit_code == 2


def test_a_refused_final_contents_is_corrected_and_resent_rebuilt(
    db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch, use_database: None
) -> None:
    add_store(db)
    policy = IntakePolicy(notify_accepted=False)
    ingest_webhook(
        db, parse_webhook(envelope("order.created", order_payload())), policy, FrozenClock()
    )
    ready_with_an_unweighed_substitute(db, 1, datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    with db.engine.begin() as c:  # SM refused it: a weighed good without weight
        c.execute(sm_notifications.update().values(state="dead", attempts=1))

    monkeypatch.setenv("SMBRIDGE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    for bad in (["--line", "9", "--grams", "1302"], ["--line", "3", "--grams", "-1"]):
        refused = runner.invoke(app, ["orders", "set-weight", "--order", "H1234567890", *bad])
        assert refused.exit_code == 2, refused.output
    invoke(
        monkeypatch,
        database_url,
        *("orders", "set-weight", "--order", "H1234567890", "--line", "3", "--grams", "1302"),
    )
    assert "queued again: 1 of 1" in invoke(
        monkeypatch, database_url, "notifications", "resend", "--id", "1"
    )
    with db.engine.connect() as c:
        state, payload = c.execute(
            select(sm_notifications.c.state, sm_notifications.c.payload)
        ).one()
    assert state == "pending"
    assert payload["order"]["positions"] == [
        {"id": "100500", "quantity": 2},
        {"id": "200300", "quantity": 0, "weight": "0", "replacedByID": "200301"},
        {"id": "200301", "quantity": 1, "weight": "1302"},
    ]


def test_chats_are_set_and_listed(
    db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch, use_database: None
) -> None:
    invoke(monkeypatch, database_url, "stores", "add", "--sm-id", "101", "--name", "Ленина")
    invoke(monkeypatch, database_url, "pickers", "add", "--store", "101", "--name", "Анна")
    invoke(monkeypatch, database_url, "chats", "set", "--store", "101", "--chat", "-100777")
    invoke(monkeypatch, database_url, "chats", "set", "--picker", "1", "--chat", "5551")
    listed = invoke(monkeypatch, database_url, "chats", "list")
    assert "-100777" in listed
    assert "5551" in listed
    assert runner.invoke(app, ["chats", "set", "--chat", "1"]).exit_code == 2
