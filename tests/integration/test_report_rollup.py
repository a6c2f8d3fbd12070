"""The all-stores reports read settled days from the daily roll-up: the figures equal the
live ones, and a change on a rolled day is rolled up again at the next run."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

from sqlalchemy import delete, func, select, update

from smbridge.entrypoints.scheduled_jobs import build_jobs
from smbridge.kernel.database.tables import report_days, sales_documents, sm_notifications
from smbridge.kernel.database.unit_of_work import Database
from smbridge.reports.jobs import REPORT_ROLLUP
from smbridge.reports.rollup import first_unsettled_day, roll_up
from smbridge.reports.service import build_report
from smbridge.scheduler.runner import JobContext
from smbridge.settings import Settings
from tests.support.clock import FrozenClock
from tests.support.report_quarter import PERIOD, seed_quarter, utc

ROLLED = (
    "orders-by-day",
    "orders-by-store",
    "time-to-take",
    "assembly-duration",
    "lateness",
    "positions",
    "notifications",
    "sales",
)
#: A week after the quarter's frozen now: every day of it is settled.
LATER = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def all_reports(db: Database) -> dict[str, object]:
    return {slug: build_report(db, slug, PERIOD, own_store_id=None) for slug in ROLLED}


def rolled_days(db: Database) -> list[date]:
    with db.engine.connect() as connection:
        return sorted(connection.scalars(select(report_days.c.day)))


def test_a_day_settles_two_days_after_its_end() -> None:
    # 5 December 12:00 Moscow: 3 December ended 36 hours ago, 2 December 60 hours ago.
    assert first_unsettled_day(LATER) == date(2026, 12, 3)


def test_rolled_up_reports_equal_the_live_ones(db: Database) -> None:
    seed_quarter(db)
    live = all_reports(db)
    counts = roll_up(db, LATER)
    assert counts["days_rolled_up"] == len(rolled_days(db)) > 0
    assert set(PERIOD.days) <= set(rolled_days(db))
    assert all_reports(db) == live
    assert roll_up(db, LATER)["days_rolled_up"] == 0  # nothing changed: nothing recomputed


def test_unsettled_days_are_not_rolled_up(db: Database) -> None:
    seed_quarter(db)
    roll_up(db, datetime(2026, 11, 29, 9, 0, tzinfo=UTC))  # 12:00 Moscow on the 29th
    assert rolled_days(db)
    assert max(rolled_days(db)) < date(2026, 11, 27)
    assert all_reports(db) == {
        slug: build_report(db, slug, PERIOD, own_store_id=None) for slug in ROLLED
    }


def test_a_change_on_a_rolled_day_is_rolled_up_again(db: Database) -> None:
    seed_quarter(db)
    roll_up(db, LATER)
    with db.engine.begin() as connection:
        changed = connection.execute(
            update(sm_notifications)
            .where(sm_notifications.c.state != "delivered")
            .values(state="delivered", delivered_at=utc(28, 23))
        ).rowcount
    assert changed > 0
    stale = build_report(db, "notifications", PERIOD, own_store_id=None)
    counts = roll_up(db, LATER)
    assert counts["days_rolled_up"] >= 1
    fresh = build_report(db, "notifications", PERIOD, own_store_id=None)
    assert fresh != stale
    with db.engine.begin() as connection:
        connection.execute(update(sm_notifications).values(state="dead"))
    roll_up(db, LATER)
    all_dead = build_report(db, "notifications", PERIOD, own_store_id=None)
    assert set(all_dead.column("delivered")) == {0}
    assert sum(int(str(n)) for n in all_dead.column("dead")) == sum(
        int(str(n)) for n in all_dead.column("total")
    )


def test_days_rolled_up_before_sales_were_read_live_then_rolled_up_again(db: Database) -> None:
    seed_quarter(db)
    live = all_reports(db)
    roll_up(db, LATER)
    with db.engine.begin() as connection:  # as an earlier release left them
        for day, fingerprint, figures in connection.execute(
            select(report_days.c.day, report_days.c.fingerprint, report_days.c.figures)
        ).all():
            older = {key: value for key, value in figures.items() if key != "sales"}
            connection.execute(
                update(report_days)
                .where(report_days.c.day == day)
                .values(fingerprint=fingerprint.rsplit("|", 1)[0], figures=older)
            )
    assert all_reports(db) == live
    assert roll_up(db, LATER)["days_rolled_up"] == len(rolled_days(db))
    assert all_reports(db) == live


def test_a_sales_document_gone_from_a_rolled_day_is_rolled_up_again(db: Database) -> None:
    seed_quarter(db)
    roll_up(db, LATER)
    before = build_report(db, "sales", PERIOD, own_store_id=None)
    with db.engine.begin() as connection:
        newest = connection.scalar(
            select(func.max(sales_documents.c.id)).where(
                sales_documents.c.document_date >= PERIOD.first_day,
                sales_documents.c.document_date < PERIOD.end_day,
            )
        )
        connection.execute(delete(sales_documents).where(sales_documents.c.id == newest))
    assert roll_up(db, LATER)["days_rolled_up"] == 1
    after = build_report(db, "sales", PERIOD, own_store_id=None)
    assert sum(int(str(n)) for n in after.column("documents")) == (
        sum(int(str(n)) for n in before.column("documents")) - 1
    )


def test_the_scheduler_runs_the_roll_up(db: Database, settings: Settings) -> None:
    seed_quarter(db)
    clock = FrozenClock(LATER)
    jobs = {job.name: job for job in build_jobs(settings, db, clock)}
    counts = jobs[REPORT_ROLLUP].run(JobContext(db, LATER, clock, threading.Event()))
    assert counts["days_rolled_up"] == len(rolled_days(db)) > 0
