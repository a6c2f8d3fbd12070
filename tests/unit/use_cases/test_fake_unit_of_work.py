"""The fakes keep a transaction's promises: only a commit is seen, hooks follow commits."""

from __future__ import annotations

import pytest

from smbridge.domain.store import Store
from smbridge.kernel.database.unit_of_work import UnitOfWork
from smbridge.orders.repository import StoreRepository
from tests.support.fakes import FakeDatabase


def add(uow: UnitOfWork, sm_store_id: str) -> Store:
    store = Store(sm_store_id=sm_store_id, name=f"Магазин {sm_store_id}")
    uow.repo(StoreRepository).add(store)
    return store


def stored_ids(db: FakeDatabase) -> list[str]:
    with db.unit_of_work(read_only=True) as uow:
        return [s.sm_store_id for s in uow.repo(StoreRepository).all()]


def test_what_is_not_committed_is_not_seen_by_the_next_unit_of_work(db: FakeDatabase) -> None:
    with db.unit_of_work() as uow:
        add(uow, "1")
        assert [s.sm_store_id for s in uow.repo(StoreRepository).all()] == ["1"]
    assert stored_ids(db) == []


def test_a_rollback_drops_the_changes_and_hooks_so_far_but_not_what_follows(
    db: FakeDatabase,
) -> None:
    ran: list[str] = []
    with db.unit_of_work() as uow:
        add(uow, "1")
        uow.after_commit(lambda: ran.append("dropped"))
        uow.rollback()
        add(uow, "2")
        uow.after_commit(lambda: ran.append("kept"))
        uow.commit()
    assert stored_ids(db) == ["2"]
    assert ran == ["kept"]


def test_hooks_run_after_the_commit_and_never_without_one(db: FakeDatabase) -> None:
    seen: list[list[str]] = []
    with db.unit_of_work() as uow:
        add(uow, "1")
        uow.after_commit(lambda: seen.append(stored_ids(db)))
    assert seen == []
    with db.unit_of_work() as uow:
        add(uow, "1")
        uow.after_commit(lambda: seen.append(stored_ids(db)))
        uow.commit()
    assert seen == [["1"]]  # the hook already saw the committed store


def test_an_object_changed_after_its_commit_changes_nothing_stored(db: FakeDatabase) -> None:
    with db.unit_of_work() as uow:
        store = add(uow, "1")
        uow.commit()
        store.name = "переименован без commit"
    assert db.committed.stores[0].name == "Магазин 1"


def test_commit_listeners_see_every_commit_of_the_shared_database(db: FakeDatabase) -> None:
    committed: list[int] = []
    listening = db.with_commit_listener(lambda uow: committed.append(len(stored_ids(db))))
    with listening.unit_of_work() as uow:
        add(uow, "1")
        uow.commit()
    assert committed == [1]
    assert stored_ids(db) == ["1"]  # the copy with a listener writes to the same tables


def test_a_read_only_unit_of_work_refuses_to_commit(db: FakeDatabase) -> None:
    with db.unit_of_work(read_only=True) as uow, pytest.raises(RuntimeError):
        uow.commit()
