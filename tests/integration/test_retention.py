"""The retention purge deletes each kind of row past its retention (and only those), and
removes the customer's personal data from orders finished long enough ago; in batches, on
both databases, through the scheduler's job."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from smbridge.entrypoints.scheduled_jobs import build_jobs
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.tables import (
    job_runs,
    orders,
    sm_notifications,
    telegram_archive,
    webhook_journal,
)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.lifecycle.jobs import RETENTION
from smbridge.lifecycle.service import Retention, purge
from smbridge.scheduler.runner import JobContext
from tests.conftest import make_settings
from tests.factories import add_store, envelope, order_payload
from tests.support.clock import FROZEN_NOW, FrozenClock

NOW = FROZEN_NOW
OLD = NOW - timedelta(days=100)
RECENT = NOW - timedelta(days=10)
RETENTION_90 = Retention(
    journal=timedelta(days=90),
    sm_notifications=timedelta(days=90),
    telegram_archive=timedelta(days=90),
    job_runs=timedelta(days=90),
    personal_data=timedelta(days=90),
    batch=2,  # several batches for a handful of rows
)


def receive(db: Database, at: datetime, sm_id: str, kind: str = "order.created") -> None:
    body = envelope(kind, order_payload(sm_id))
    ingest_webhook(db, parse_webhook(body), IntakePolicy(notify_accepted=True), FrozenClock(at))


def finish(db: Database, sm_id: str, at: datetime, status: str = "delivered") -> None:
    column = "delivered_at" if status == "delivered" else "cancelled_at"
    with db.engine.begin() as c:
        c.execute(
            update(orders)
            .where(orders.c.sm_order_id == sm_id)
            .values(status=status, **{column: at})
        )


def seed(db: Database) -> None:
    add_store(db)
    for sm_id in ("OLD1", "OLD2", "OLD3"):
        receive(db, OLD - timedelta(days=1), sm_id)
    receive(db, OLD, "GONE", "order.paid")  # parked: waits for a person, never purged
    receive(db, RECENT, "NEW1")
    finish(db, "OLD1", OLD)
    finish(db, "OLD2", OLD, "cancelled")
    with db.engine.begin() as c:  # only its address (and SM's customer document) names it
        c.execute(
            update(orders)
            .where(orders.c.sm_order_id == "OLD2")
            .values(customer_name=None, customer_phone=None, comment=None)
        )
    finish(db, "NEW1", RECENT)  # delivered, but recently: keeps its customer
    # OLD3 is still active: its customer is needed whatever its age
    with db.engine.begin() as c:
        c.execute(update(sm_notifications).values(state="delivered"))
        for at in (OLD, OLD, OLD, RECENT):
            c.execute(
                telegram_archive.insert().values(
                    outbox_id=1,
                    text="x",
                    status="sent",
                    created_at=at,
                    archived_at=at,
                    attempts=1,
                    message_ids=[1],
                )
            )
            c.execute(job_runs.insert().values(job="j", owner="o", started_at=at, counts={}))


def count(db: Database, table: Any, *where: Any) -> int:
    with db.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def customer(db: Database, sm_id: str) -> tuple[Any, ...]:
    with db.engine.connect() as c:
        row = c.execute(
            select(
                orders.c.customer_name,
                orders.c.customer_phone,
                orders.c.comment,
                orders.c.customer,
                orders.c.address,
            ).where(orders.c.sm_order_id == sm_id)
        ).one()
    return tuple(row)


def test_purge_deletes_what_is_past_its_retention_and_clears_finished_customers(
    db: Database,
) -> None:
    seed(db)
    journal_before = count(db, webhook_journal)
    kept_customer = customer(db, "NEW1")
    assert kept_customer[0] == "Иван Петров"

    counts = purge(db, NOW, RETENTION_90)

    assert counts == {
        "journal_deleted": 3,  # the three old order.created; the parked one stays
        "sm_notifications_deleted": 3,
        "telegram_archive_deleted": 3,
        "job_runs_deleted": 3,
        "orders_personal_data_cleared": 2,  # OLD1 delivered, OLD2 cancelled
    }
    assert count(db, webhook_journal) == journal_before - 3
    assert count(db, webhook_journal, webhook_journal.c.status == "parked") == 1
    assert count(db, telegram_archive) == count(db, job_runs) == 1
    assert count(db, orders) == 4  # orders themselves are kept (numbers, reports)
    for gone in ("OLD1", "OLD2"):
        assert customer(db, gone) == (None, None, None, {}, {})
    assert customer(db, "NEW1") == kept_customer
    assert customer(db, "OLD3")[0] == "Иван Петров"

    assert set(purge(db, NOW, RETENTION_90).values()) == {0}  # nothing left to do


def test_the_retention_job_runs_with_the_settings_and_keeps_for_ever_at_zero(
    db: Database, database_url: str
) -> None:
    seed(db)
    settings = make_settings(
        database_url, retention_journal_days=0, personal_data_days=30, retention_batch=1
    )
    job = next(j for j in build_jobs(settings, db, FrozenClock(NOW)) if j.name == RETENTION)
    assert job.interval == timedelta(seconds=settings.job_retention_seconds)
    counts = job.run(JobContext(db, NOW, FrozenClock(NOW), threading.Event()))
    assert "journal_deleted" not in counts  # 0 days: kept for ever
    assert counts["orders_personal_data_cleared"] == 2
    assert counts["telegram_archive_deleted"] == 3

    stopped = threading.Event()
    stopped.set()  # a scheduler shutting down: no batch is started
    seed_more = JobContext(db, NOW + timedelta(days=400), FrozenClock(NOW), stopped)
    assert set(job.run(seed_more).values()) == {0}
