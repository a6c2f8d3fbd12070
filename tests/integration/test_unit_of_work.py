"""Post-commit hooks of the unit of work: after a commit only, and never its undoing; a
duplicate key as the domain's ``AlreadyExists``."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from smbridge.domain.webhook import JournalEntry
from smbridge.intake.repository import JournalRepository
from smbridge.kernel.database.errors import AlreadyExists
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def entry(key: str) -> JournalEntry:
    return JournalEntry(
        event_key=key,
        event_type="order.paid",
        received_at=T0,
        last_received_at=T0,
        body="{}",
        headers={},
        sm_order_id=None,
        attempts=1,
    )


def test_hooks_run_after_a_commit_once(db: Database) -> None:
    ran: list[str] = []
    with db.unit_of_work() as uow:
        uow.repo(JournalRepository).add(entry("k1"))
        uow.after_commit(lambda: ran.append("first"))
        assert ran == []
        uow.commit()
        assert ran == ["first"]
        uow.commit()  # a second commit runs only what was registered since
    assert ran == ["first"]


def test_hooks_never_run_without_a_commit(db: Database) -> None:
    ran: list[str] = []
    with db.unit_of_work() as uow:
        uow.after_commit(lambda: ran.append("rolled back"))
        uow.rollback()
        uow.commit()
    with db.unit_of_work() as uow:
        uow.after_commit(lambda: ran.append("no commit"))
    assert ran == []


def test_a_failing_hook_leaves_the_commit_and_the_next_hooks(db: Database) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    with db.unit_of_work() as uow:
        uow.repo(JournalRepository).add(entry("k2"))
        uow.after_commit(broken)
        uow.after_commit(lambda: ran.append("next"))
        uow.commit()
    assert ran == ["next"]
    with db.unit_of_work(read_only=True) as uow:
        assert uow.repo(JournalRepository).by_key("k2") is not None


def test_commit_listeners_see_every_commit_of_their_database_only(db: Database) -> None:
    seen: list[UnitOfWork] = []
    listening = db.with_commit_listener(seen.append)
    with listening.unit_of_work() as uow:
        uow.commit()
    with listening.unit_of_work() as rolled_back:
        rolled_back.repo(JournalRepository).add(entry("k3"))
    with db.unit_of_work() as plain:
        plain.commit()
    assert seen == [uow]
    assert db.commit_listeners == ()


def test_a_duplicate_key_at_commit_is_already_exists_and_undoes_the_whole_transaction(
    db: Database,
) -> None:
    with db.unit_of_work() as uow:
        uow.repo(JournalRepository).add(entry("k4"))
        uow.commit()
    ran: list[str] = []
    with db.unit_of_work() as uow:
        uow.session.add(entry("k5"))  # no flush before the commit: the commit finds it
        uow.session.add(entry("k4"))
        uow.after_commit(lambda: ran.append("hook"))
        with pytest.raises(AlreadyExists):
            uow.commit()
    assert ran == []
    with db.unit_of_work(read_only=True) as uow:
        assert uow.repo(JournalRepository).by_key("k4") is not None
        assert uow.repo(JournalRepository).by_key("k5") is None
    with db.unit_of_work() as uow:  # the database takes the next transaction as usual
        uow.repo(JournalRepository).add(entry("k5"))
        uow.commit()


def test_a_duplicate_key_at_a_repositorys_flush_is_already_exists(db: Database) -> None:
    with db.unit_of_work() as uow:
        uow.repo(JournalRepository).add(entry("k6"))
        uow.commit()
    with pytest.raises(AlreadyExists), db.unit_of_work() as uow:
        uow.repo(JournalRepository).add(entry("k6"))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no server
def test_a_pooled_connection_whose_session_the_server_ended_is_not_handed_out(
    db: Database,
) -> None:
    """As after a restart of PostgreSQL: the next transaction gets a live connection."""
    with db.engine.connect() as connection:
        first = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    other = create_engine(db.engine.url, poolclass=NullPool)  # not a pooled connection
    with other.connect() as connection:  # another session ends ours, as a shutdown does
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    other.dispose()
    time.sleep(0.2)  # the ended session's last words reach our socket
    with db.unit_of_work() as uow:
        second = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert second != first
