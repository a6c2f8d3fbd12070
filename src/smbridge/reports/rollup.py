"""The daily roll-up of the all-stores reports whose live aggregation is slow.

Over a quarter, the orders by day and by store, the time reports and the positions,
notifications and sales reports aggregate every order, line, notification or document of all
stores (100,000-400,000 rows); a page must answer in 200 ms. Their figures add up across
days (counts, sums, maxima, histograms), so the roll-up job keeps each *settled* day's
figures in ``report_days`` — computed by the very queries the live reports run, for that one
day — and a report reads the rolled days and aggregates only the others (the last few) live.

A settled day ended at least ``SETTLE`` ago: its orders are delivered or cancelled and its
notifications delivered. A later change (a dead letter re-sent, a forced status) is found by
the day's fingerprint (counts and latest changes) and the day rolled up again at the next
run. Until then the all-stores reports show the day as the last run saw it; a store's own
reports are always live (they read one store's rows, fast enough).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from smbridge.kernel.database.unit_of_work import Database
from smbridge.reports.period import MAX_DAYS, REPORT_ZONE, ReportScope
from smbridge.reports.queries import (
    DayCounts,
    DayDurations,
    DayPositions,
    DaySales,
    Durations,
    NotificationCounts,
    Notifications,
    ReportQueries,
    StoreCounts,
)

#: How long after its end a day is settled (rolled up rather than aggregated live).
SETTLE = timedelta(days=2)
#: The time reports, by their query's name.
DURATIONS = ("time_to_take", "assembly_duration", "lateness")
_POSITION_COUNTS = ("lines", "replaced", "short")
_ORDER_COUNTS = ("total", "delivered", "cancelled")


def first_unsettled_day(now: datetime) -> date:
    """Days before this one are settled at ``now``."""
    return (now.astimezone(REPORT_ZONE) - SETTLE).date()


# -- the job -----------------------------------------------------------------------------------


def roll_up(db: Database, now: datetime, *, stop: threading.Event | None = None) -> dict[str, int]:
    """Roll up every settled day of the longest report period whose fingerprint changed
    (or that was never rolled up); forget the rolled days that have no rows any more."""
    end = first_unsettled_day(now)
    first = end - timedelta(days=MAX_DAYS)
    with db.unit_of_work(read_only=True) as uow:
        read = uow.repo(ReportQueries)
        current = read.fingerprints(first, end)
        rolled = read.rolled_fingerprints(first, end)
    stale = sorted(day for day, print_ in current.items() if rolled.get(day) != print_)
    gone = sorted(set(rolled) - set(current))
    done = 0
    for day in stale:
        if stop is not None and stop.is_set():
            break
        _roll_up_day(db, day, now)
        done += 1
    if gone:
        with db.unit_of_work() as uow:
            uow.repo(ReportQueries).forget_rolled_days(gone)
            uow.commit()
    return {"days_checked": len(current), "days_rolled_up": done, "days_forgotten": len(gone)}


def _roll_up_day(db: Database, day: date, now: datetime) -> None:
    end = day + timedelta(days=1)
    with db.unit_of_work() as uow:
        read = uow.repo(ReportQueries)
        # The fingerprint first: a change landing between the two is then in the figures but
        # not in the fingerprint, and the next run rolls the day up again (never the reverse).
        fingerprint = read.fingerprints(day, end).get(day)
        if fingerprint is None:
            return
        read.save_rolled_day(day, fingerprint, day_figures(read, ReportScope(day, end)), now)
        uow.commit()


def day_figures(read: ReportQueries, scope: ReportScope) -> dict[str, Any]:
    """One day's figures of the rolled-up reports, as JSON."""
    figures: dict[str, Any] = {
        name: _durations_json(getattr(read, name)(scope)) for name in DURATIONS
    }
    figures["positions"] = [_json(asdict(row)) for row in read.positions(scope)]
    notes = read.notifications(scope)
    figures["notifications"] = {
        "by_type": [_json(asdict(row)) for row in notes.by_type],
        "histogram": notes.histogram,
    }
    figures["sales"] = [_json(asdict(row)) for row in read.sales(scope)]
    figures["orders_by_day"] = [_json(asdict(row)) for row in read.orders_by_day(scope)]
    figures["orders_by_store"] = [asdict(row) for row in read.orders_by_store(scope)]
    return figures


# -- the reports' side ---------------------------------------------------------------------------


class RolledUpQueries(ReportQueries):
    """The report queries, reading settled days of all-stores reports from the roll-up."""

    def orders_by_day(self, scope: ReportScope) -> list[DayCounts]:
        if scope.store_id is not None:
            return super().orders_by_day(scope)
        rolled, live = self._split(scope, "orders_by_day")
        rows = [
            DayCounts(date.fromisoformat(row["day"]), *(row[key] for key in _ORDER_COUNTS))
            for figures in rolled.values()
            for row in figures
        ]
        live_query = super().orders_by_day
        rows += [row for part in live for row in live_query(part)]
        return sorted(rows, key=lambda row: row.day)

    def orders_by_store(self, scope: ReportScope) -> list[StoreCounts]:
        if scope.store_id is not None:
            return super().orders_by_store(scope)
        rolled, live = self._split(scope, "orders_by_store")
        parts = [StoreCounts(**row) for figures in rolled.values() for row in figures]
        live_query = super().orders_by_store
        parts += [row for part in live for row in live_query(part)]
        by_store: dict[int | None, StoreCounts] = {}
        for row in parts:  # the name read last wins: the live days', normally the latest
            seen = by_store.get(row.store_id)
            by_store[row.store_id] = row if seen is None else seen.plus(row)
        return sorted(by_store.values(), key=lambda row: (-row.total, row.store_id or 0))

    def time_to_take(self, scope: ReportScope) -> Durations:
        return self._merged_durations("time_to_take", super().time_to_take, scope)

    def assembly_duration(self, scope: ReportScope) -> Durations:
        return self._merged_durations("assembly_duration", super().assembly_duration, scope)

    def lateness(self, scope: ReportScope) -> Durations:
        return self._merged_durations("lateness", super().lateness, scope)

    def positions(self, scope: ReportScope) -> list[DayPositions]:
        if scope.store_id is not None:
            return super().positions(scope)
        rolled, live = self._split(scope, "positions")
        rows = [
            DayPositions(date.fromisoformat(row["day"]), *(row[key] for key in _POSITION_COUNTS))
            for figures in rolled.values()
            for row in figures
        ]
        live_query = super().positions  # bound here: a comprehension has no zero-argument super()
        rows += [row for part in live for row in live_query(part)]
        return sorted(rows, key=lambda row: row.day)

    def notifications(self, scope: ReportScope) -> Notifications:
        if scope.store_id is not None:
            return super().notifications(scope)
        rolled, live = self._split(scope, "notifications")
        parts = [
            Notifications(
                [_notification_counts(row) for row in figures["by_type"]],
                _histogram(figures["histogram"]),
            )
            for figures in rolled.values()
        ]
        live_query = super().notifications
        parts += [live_query(part) for part in live]
        by_type: dict[str, NotificationCounts] = {}
        for part in parts:
            for row in part.by_type:
                seen = by_type.get(row.type)
                by_type[row.type] = row if seen is None else seen.plus(row)
        histogram = _sum_histograms(part.histogram for part in parts)
        return Notifications([by_type[key] for key in sorted(by_type)], histogram)

    def sales(self, scope: ReportScope) -> list[DaySales]:
        if scope.store_id is not None:
            return super().sales(scope)
        rolled, live = self._split(scope, "sales")
        rows = [_day_sales(row) for figures in rolled.values() for row in figures]
        live_query = super().sales
        rows += [row for part in live for row in live_query(part)]
        return sorted(rows, key=lambda row: row.day)

    def _merged_durations(
        self, name: str, live_query: Callable[[ReportScope], Durations], scope: ReportScope
    ) -> Durations:
        if scope.store_id is not None:
            return live_query(scope)
        rolled, live = self._split(scope, name)
        parts = [_durations_of(figures) for figures in rolled.values()]
        parts += [live_query(part) for part in live]
        by_day = sorted((row for part in parts for row in part.by_day), key=lambda row: row.day)
        return Durations(by_day, _sum_histograms(part.histogram for part in parts))

    def _split(self, scope: ReportScope, name: str) -> tuple[dict[date, Any], list[ReportScope]]:
        """The scope's rolled days' figures of report ``name``, and the runs of days to
        aggregate live (a day rolled up before ``name`` was rolled is one of them until the
        job rolls it up again: its fingerprint has changed with the figures)."""
        rolled = self.rolled_figures(scope, name)
        return rolled, list(_live_runs(scope, set(rolled)))


def _live_runs(scope: ReportScope, rolled: set[date]) -> Iterator[ReportScope]:
    start: date | None = None
    for day in [*scope.days, scope.end_day]:
        missing = day < scope.end_day and day not in rolled
        if missing and start is None:
            start = day
        elif not missing and start is not None:
            yield ReportScope(start, day)
            start = None


# -- JSON both ways ------------------------------------------------------------------------------


def _json(value: Any) -> Any:
    """Dates and Decimals as text (exact), the rest as is."""
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, date | Decimal):
        return str(value)
    return value


def _durations_json(durations: Durations) -> dict[str, Any]:
    return {
        "by_day": [_json(asdict(row)) for row in durations.by_day],
        "histogram": durations.histogram,
    }


def _durations_of(found: dict[str, Any]) -> Durations:
    return Durations(
        [
            DayDurations(
                date.fromisoformat(row["day"]),
                row["count"],
                Decimal(row["total_seconds"]),
                Decimal(row["max_seconds"]),
                row["positive"],
            )
            for row in found["by_day"]
        ],
        _histogram(found["histogram"]),
    )


def _notification_counts(row: dict[str, Any]) -> NotificationCounts:
    return NotificationCounts(
        row["type"],
        row["total"],
        row["delivered"],
        row["dead"],
        row["waiting"],
        Decimal(row["latency_seconds"]),
        Decimal(row["max_latency_seconds"]),
    )


def _day_sales(row: dict[str, Any]) -> DaySales:
    return DaySales(
        date.fromisoformat(row["day"]),
        row["documents"],
        *(Decimal(row[key]) for key in ("total", "discount", "paid", "difference")),
    )


def _histogram(found: list[list[int]]) -> list[tuple[int, int]]:
    return [(int(bucket), int(count)) for bucket, count in found]


def _sum_histograms(parts: Iterable[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    total: dict[int, int] = {}
    for part in parts:
        for bucket, count in part:
            total[bucket] = total.get(bucket, 0) + count
    return sorted(total.items())
