"""A requestId is remembered for the configured retention, then purged by the scheduler."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from smbridge.assembly import schemas
from smbridge.assembly.jobs import HOUSEKEEPING
from smbridge.assembly.methods import METHODS
from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.assembly.service import (
    AssemblyPolicy,
    AssemblyResponse,
    Call,
    execute,
    purge_idempotency_keys,
    token_hash,
)
from smbridge.domain.picker import Picker
from smbridge.entrypoints.scheduled_jobs import build_jobs
from smbridge.kernel.database.tables import idempotency_keys
from smbridge.kernel.database.unit_of_work import Database
from smbridge.scheduler.runner import JobContext
from smbridge.settings import Settings
from tests.conftest import make_settings
from tests.factories import add_store
from tests.support.clock import FrozenClock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RETENTION = timedelta(hours=72)


def a_picker(db: Database) -> int:
    store = add_store(db)
    assert store.id is not None
    with db.unit_of_work() as uow:
        uow.repo(ApiTokenRepository).add(store.id, token_hash("tsd"), "ТСД", T0)
        picker = Picker(store_id=store.id, name="Анна")
        uow.repo(PickerRepository).add(picker)
        uow.commit()
        assert picker.id is not None
        return picker.id


def call(db: Database, method: str, picker: int, at: datetime, request_id: str | None) -> int:
    """Run a shift call at a moment; returns the shift id it answered with."""
    data = schemas.PickerRef(pickerId=picker)
    result: AssemblyResponse = execute(
        db, Call("tsd", METHODS[method], request_id, data), AssemblyPolicy(), lambda: at
    )
    shift_id: int = result.result["shiftId"]
    return shift_id


def keys(db: Database) -> int:
    with db.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(idempotency_keys)).scalar_one())


def test_a_key_is_kept_for_the_retention_then_purged_and_counts_as_new(db: Database) -> None:
    picker = a_picker(db)
    first = call(db, "openShift", picker, T0, "open-1")
    call(db, "closeShift", picker, T0 + timedelta(hours=8), "close-1")
    late = T0 + RETENTION - timedelta(seconds=1)
    assert call(db, "openShift", picker, late, "open-1") == first  # answered from memory

    assert purge_idempotency_keys(db, late, RETENTION) == 0
    assert keys(db) == 2
    assert purge_idempotency_keys(db, T0 + RETENTION + timedelta(seconds=1), RETENTION) == 1
    assert keys(db) == 1  # close-1 is younger and stays

    again = call(db, "openShift", picker, T0 + RETENTION + timedelta(minutes=1), "open-1")
    assert again != first  # a new request: a new shift


def test_the_housekeeping_job_purges_by_the_retention_setting(
    db: Database, database_url: str
) -> None:
    picker = a_picker(db)
    call(db, "openShift", picker, T0, "open-1")
    settings: Settings = make_settings(database_url, idempotency_retention_hours=1)
    job = next(j for j in build_jobs(settings, db, FrozenClock(T0)) if j.name == HOUSEKEEPING)
    assert job.interval == timedelta(seconds=settings.job_housekeeping_seconds)

    late = T0 + timedelta(minutes=59)
    context = JobContext(db, late, FrozenClock(late), threading.Event())
    assert job.run(context) == {"idempotency_keys_purged": 0}
    later = T0 + timedelta(minutes=61)
    context = JobContext(db, later, FrozenClock(later), threading.Event())
    assert job.run(context) == {"idempotency_keys_purged": 1}
    assert keys(db) == 0
