"""The reports' queries: each aggregates in SQL (GROUP BY) over one period and, optionally,
one store, on SQLite and PostgreSQL alike. They return rows of plain values; the use cases
(service.py) turn them into reports.

Orders count in the period they were *received* in (``orders.received_at``, indexed with
and without the store: migration 0015); sales documents by their document date; notifications
to SM by when they were queued. Days are the stores' days (period.REPORT_ZONE).

Percentiles are not SQL on SQLite; so the time reports also read a histogram of whole
minutes (or seconds) grouped in SQL, a few hundred rows at most, and service.py takes the
median and p90 from it: exact to the bucket (rounded down to the whole minute or second).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Interval,
    Select,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.sql.elements import KeyedColumnElement

from smbridge.domain.notification import DeliveryState
from smbridge.domain.pick import PositionSource
from smbridge.domain.status import OrderStatus
from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import (
    order_positions,
    orders,
    report_days,
    sales_documents,
    sm_notifications,
    stores,
)
from smbridge.reports.period import ReportScope

#: The longest duration a histogram tells apart; longer ones fall into its last bucket.
HISTOGRAM_CAP = 24 * 60
#: The most groups a report by free text (cancellation reasons) shows.
MAX_REASONS = 50


@dataclass(frozen=True)
class DayCounts:
    day: date
    total: int
    delivered: int
    cancelled: int


@dataclass(frozen=True)
class StoreCounts:
    store_id: int | None
    store_name: str | None
    total: int
    delivered: int
    cancelled: int

    def plus(self, later: StoreCounts) -> StoreCounts:
        """Both periods' counts, under the later period's name of the store."""
        return StoreCounts(
            self.store_id,
            later.store_name,
            self.total + later.total,
            self.delivered + later.delivered,
            self.cancelled + later.cancelled,
        )


@dataclass(frozen=True)
class DayDurations:
    """Of one day's orders: how many have the duration, its sum and maximum (seconds), and
    how many of them are positive (late, for the lateness report)."""

    day: date
    count: int
    total_seconds: Decimal
    max_seconds: Decimal
    positive: int

    def plus(self, other: DayDurations) -> DayDurations:
        return DayDurations(
            self.day,
            self.count + other.count,
            self.total_seconds + other.total_seconds,
            max(self.max_seconds, other.max_seconds),
            self.positive + other.positive,
        )


@dataclass(frozen=True)
class Durations:
    by_day: list[DayDurations]
    histogram: list[tuple[int, int]]  # (bucket: whole units, rounded down; count), in order


@dataclass(frozen=True)
class CancellationCount:
    side: str | None  # sm | store | smbridge
    reason: str | None
    count: int


@dataclass(frozen=True)
class DayPositions:
    day: date
    lines: int  # SM's lines of the orders assembled
    replaced: int
    short: int


@dataclass(frozen=True)
class DaySales:
    day: date
    documents: int
    total: Decimal
    discount: Decimal
    paid: Decimal
    difference: Decimal


@dataclass(frozen=True)
class NotificationCounts:
    type: str
    total: int
    delivered: int
    dead: int
    waiting: int  # pending or sending
    latency_seconds: Decimal  # sum over the delivered ones
    max_latency_seconds: Decimal

    def plus(self, other: NotificationCounts) -> NotificationCounts:
        return NotificationCounts(
            self.type,
            self.total + other.total,
            self.delivered + other.delivered,
            self.dead + other.dead,
            self.waiting + other.waiting,
            self.latency_seconds + other.latency_seconds,
            max(self.max_latency_seconds, other.max_latency_seconds),
        )


@dataclass(frozen=True)
class Notifications:
    by_type: list[NotificationCounts]
    histogram: list[tuple[int, int]]  # (whole seconds, rounded down; count), in order


class ReportQueries(SessionRepository):
    """One query per report (the time reports: one for the days, one for the histogram)."""

    # -- orders ------------------------------------------------------------------------------

    def orders_by_day(self, scope: ReportScope) -> list[DayCounts]:
        day = self._day(orders.c.received_at, scope)
        query = self._orders_in(select(day, *_status_counts()), scope).group_by(day).order_by(day)
        return [DayCounts(_date(row[0]), *map(int, row[1:])) for row in self._rows(query)]

    def orders_by_store(self, scope: ReportScope) -> list[StoreCounts]:
        # Grouped by ``store_id + 0``: SQLite would otherwise walk the (store, received)
        # index to group in order and read each row; this way the covering index is read.
        store = (orders.c.store_id + 0).label("store_id")
        counts = self._orders_in(select(store, *_status_counts()), scope).group_by(store).subquery()
        query = (
            select(counts, stores.c.name)
            .select_from(counts.outerjoin(stores, stores.c.id == counts.c.store_id))
            .order_by(counts.c[1].desc(), counts.c.store_id)
        )
        return [
            StoreCounts(row[0], row[4], int(row[1]), int(row[2]), int(row[3]))
            for row in self._rows(query)
        ]

    def orders_by_status(self, scope: ReportScope) -> dict[str, int]:
        query = self._orders_in(select(orders.c.status, func.count()), scope).group_by(
            orders.c.status
        )
        return {str(status): int(count) for status, count in self._rows(query)}

    # -- times -------------------------------------------------------------------------------

    def time_to_take(self, scope: ReportScope) -> Durations:
        """Received -> taken into assembly, in minutes."""
        return self._durations(scope, orders.c.taken_at, orders.c.received_at, 60)

    def assembly_duration(self, scope: ReportScope) -> Durations:
        """Taken -> assembled, in minutes."""
        return self._durations(scope, orders.c.assembled_at, orders.c.taken_at, 60)

    def lateness(self, scope: ReportScope) -> Durations:
        """Assembled minus the assembly deadline (``expected_assembly_at``): > 0 is late."""
        return self._durations(scope, orders.c.assembled_at, orders.c.expected_assembly_at, 60)

    def _durations(
        self,
        scope: ReportScope,
        later: KeyedColumnElement[Any],
        earlier: KeyedColumnElement[Any],
        unit_seconds: int,
    ) -> Durations:
        seconds = self._seconds(later, earlier)
        day = self._day(orders.c.received_at, scope)
        bucket = self._bucket(seconds, unit_seconds)
        # One pass: by day and bucket; the days' figures and the histogram are sums of it.
        query = (
            self._orders_in(
                select(
                    day,
                    bucket,
                    func.count(),
                    func.sum(seconds),
                    func.max(seconds),
                    func.sum(case((seconds > 0, 1), else_=0)),
                ),
                scope,
            )
            .where(later.is_not(None), earlier.is_not(None))
            .group_by(day, bucket)
        )
        days: dict[date, DayDurations] = {}
        histogram: dict[int, int] = {}
        for row in self._rows(query):
            the_day, count = _date(row[0]), int(row[2])
            histogram[int(row[1])] = histogram.get(int(row[1]), 0) + count
            part = DayDurations(the_day, count, _dec(row[3]), _dec(row[4]), int(row[5]))
            seen = days.get(the_day)
            days[the_day] = part if seen is None else seen.plus(part)
        return Durations([days[key] for key in sorted(days)], sorted(histogram.items()))

    # -- cancellations and positions ---------------------------------------------------------

    def cancellations(self, scope: ReportScope) -> list[CancellationCount]:
        query = (
            self._orders_in(
                select(orders.c.cancelled_by, orders.c.cancel_reason, func.count()), scope
            )
            .where(orders.c.status == OrderStatus.CANCELLED.value)
            .group_by(orders.c.cancelled_by, orders.c.cancel_reason)
            .order_by(func.count().desc(), orders.c.cancelled_by, orders.c.cancel_reason)
            .limit(MAX_REASONS)
        )
        return [CancellationCount(row[0], row[1], int(row[2])) for row in self._rows(query)]

    def positions(self, scope: ReportScope) -> list[DayPositions]:
        """SM's lines of the orders whose assembly finished: replaced, and short (fewer picked
        than asked, not replaced; a weighed line's weight is not a shortage)."""
        line = order_positions.c
        replaced = line.replaced_by_sku.is_not(None)
        short = and_(
            line.replaced_by_sku.is_(None),
            line.picked_quantity.is_not(None),
            self._number(line.picked_quantity) < self._number(line.quantity),
        )
        day = self._day(orders.c.received_at, scope)
        query = (
            self._orders_in(
                select(
                    day,
                    func.count(),
                    func.sum(case((replaced, 1), else_=0)),
                    func.sum(case((short, 1), else_=0)),
                ).select_from(orders.join(order_positions, line.order_id == orders.c.id)),
                scope,
            )
            .where(orders.c.assembled_at.is_not(None), line.source == PositionSource.SM.value)
            .group_by(day)
            .order_by(day)
        )
        return [DayPositions(_date(row[0]), *map(int, row[1:])) for row in self._rows(query)]

    # -- sales documents ---------------------------------------------------------------------

    def sales(self, scope: ReportScope) -> list[DaySales]:
        doc = sales_documents.c
        query = select(
            doc.document_date,
            func.count(),
            self._money_sum(doc.total),
            self._money_sum(doc.discount),
            self._money_sum(doc.paid_amount),
            self._money_sum(doc.difference),
        ).where(doc.document_date >= scope.first_day, doc.document_date < scope.end_day)
        if scope.store_id is not None:
            query = query.where(doc.store_id == scope.store_id)
        query = query.group_by(doc.document_date).order_by(doc.document_date)
        return [
            DaySales(_date(row[0]), int(row[1]), *(self._money(v) for v in row[2:]))
            for row in self._rows(query)
        ]

    # -- notifications to SM -----------------------------------------------------------------

    def notifications(self, scope: ReportScope) -> Notifications:
        """By type; and the delivered ones' latency (queued -> delivered) in whole seconds."""
        note = sm_notifications.c
        delivered = and_(
            note.state == DeliveryState.DELIVERED.value, note.delivered_at.is_not(None)
        )
        latency = case((delivered, self._seconds(note.delivered_at, note.created_at)), else_=None)
        bucket = case((delivered, self._bucket(latency, 1)), else_=None)
        # One pass, by type, state and latency bucket: a few hundred rows.
        query = self._notifications_in(
            select(
                note.type, note.state, bucket, func.count(), func.sum(latency), func.max(latency)
            ),
            scope,
        ).group_by(note.type, note.state, bucket)
        by_type: dict[str, NotificationCounts] = {}
        histogram: dict[int, int] = {}
        for kind, state, second, found, total, longest in self._rows(query):
            count = int(found)
            part = NotificationCounts(
                str(kind),
                count,
                count if state == DeliveryState.DELIVERED else 0,
                count if state == DeliveryState.DEAD else 0,
                count if state in (DeliveryState.PENDING, DeliveryState.SENDING) else 0,
                _dec(total),
                _dec(longest),
            )
            seen = by_type.get(part.type)
            by_type[part.type] = part if seen is None else seen.plus(part)
            if second is not None:
                histogram[int(second)] = histogram.get(int(second), 0) + count
        return Notifications([by_type[key] for key in sorted(by_type)], sorted(histogram.items()))

    # -- the daily roll-up (rollup.py) ------------------------------------------------------

    def fingerprints(self, first_day: date, end_day: date) -> dict[date, str]:
        """Per day of [first_day, end_day), all stores: what its figures depend on, in a few
        counts and latest changes. Orders: how many, and the latest ``updated_at`` (every
        change of an order or its lines moves it). Notifications: how many, delivered, dead,
        and the latest delivery. Sales documents by their date: how many, the newest. A day
        with none of them is absent."""
        scope = ReportScope(first_day, end_day)
        day = self._day(orders.c.received_at, scope)
        found: dict[date, list[str]] = {}
        order_query = self._orders_in(
            select(day, func.count(), func.max(orders.c.updated_at)), scope
        ).group_by(day)
        for the_day, count, latest in self._rows(order_query):
            found[_date(the_day)] = [f"o{count}:{_stamp(latest)}", "n0", "s0"]
        note = sm_notifications.c
        note_day = self._day(note.created_at, scope)
        note_query = self._notifications_in(
            select(
                note_day,
                func.count(),
                func.sum(case((note.state == DeliveryState.DELIVERED.value, 1), else_=0)),
                func.sum(case((note.state == DeliveryState.DEAD.value, 1), else_=0)),
                func.max(note.delivered_at),
            ),
            scope,
        ).group_by(note_day)
        for the_day, count, delivered, dead, latest in self._rows(note_query):
            parts = found.setdefault(_date(the_day), ["o0", "", "s0"])
            parts[1] = f"n{count}:{delivered}:{dead}:{_stamp(latest)}"
        # Sales documents never change their sums once made: how many and the newest will do.
        doc = sales_documents.c
        sales_query = (
            select(doc.document_date, func.count(), func.max(doc.id))
            .where(doc.document_date >= first_day, doc.document_date < end_day)
            .group_by(doc.document_date)
        )
        for the_day, count, newest in self._rows(sales_query):
            parts = found.setdefault(_date(the_day), ["o0", "n0", ""])
            parts[2] = f"s{count}:{newest}"
        return {key: "|".join(parts) for key, parts in found.items()}

    def rolled_fingerprints(self, first_day: date, end_day: date) -> dict[date, str]:
        query = select(report_days.c.day, report_days.c.fingerprint).where(
            report_days.c.day >= first_day, report_days.c.day < end_day
        )
        return {_date(row[0]): str(row[1]) for row in self._rows(query)}

    def rolled_figures(self, scope: ReportScope, name: str) -> dict[date, Any]:
        """The rolled days' figures of one report (``name``); a day rolled up before that
        report was is absent. Only that part of each day's JSON is read and decoded."""
        query = (
            select(report_days.c.day, report_days.c.figures[name])
            .where(report_days.c.day >= scope.first_day, report_days.c.day < scope.end_day)
            .order_by(report_days.c.day)
        )
        # A missing key is SQL NULL on PostgreSQL but JSON null on SQLite: both read as None.
        return {_date(day): part for day, part in self._rows(query) if part is not None}

    def save_rolled_day(
        self, day: date, fingerprint: str, figures: dict[str, Any], now: datetime
    ) -> None:
        self.forget_rolled_days([day])
        self._session.execute(
            insert(report_days).values(
                day=day, fingerprint=fingerprint, figures=figures, computed_at=now
            )
        )

    def forget_rolled_days(self, days: list[date]) -> None:
        if days:
            self._session.execute(delete(report_days).where(report_days.c.day.in_(days)))

    def stores(self) -> list[tuple[int, str]]:
        query = select(stores.c.id, stores.c.name).order_by(stores.c.name, stores.c.id)
        return [(int(row[0]), str(row[1])) for row in self._session.execute(query)]

    # -- building blocks ---------------------------------------------------------------------

    @property
    def _sqlite(self) -> bool:
        return self._session.get_bind().dialect.name == "sqlite"

    def _rows(self, query: Select[Any]) -> list[Any]:
        return list(self._session.execute(query))

    @staticmethod
    def _orders_in(query: Select[Any], scope: ReportScope) -> Select[Any]:
        query = query.where(orders.c.received_at >= scope.start, orders.c.received_at < scope.end)
        if scope.store_id is not None:
            query = query.where(orders.c.store_id == scope.store_id)
        return query

    @staticmethod
    def _notifications_in(query: Select[Any], scope: ReportScope) -> Select[Any]:
        note = sm_notifications.c
        query = query.where(note.created_at >= scope.start, note.created_at < scope.end)
        if scope.store_id is not None:
            mine = select(orders.c.id).where(orders.c.store_id == scope.store_id)
            query = query.where(note.order_id.in_(mine))
        return query

    def _day(self, column: KeyedColumnElement[Any], scope: ReportScope) -> ColumnElement[Any]:
        """The day of a UTC time in the report zone."""
        minutes = int(scope.utc_offset / timedelta(minutes=1))
        if self._sqlite:
            return func.date(column, f"{minutes:+d} minutes")
        shifted = func.timezone("UTC", column) + literal(timedelta(minutes=minutes), Interval)
        return func.date(shifted)

    def _seconds(
        self, later: KeyedColumnElement[Any], earlier: KeyedColumnElement[Any]
    ) -> ColumnElement[Any]:
        """Seconds from earlier to later, rounded to the millisecond."""
        if self._sqlite:
            return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)
        return func.round(func.extract("epoch", later - earlier), 3)

    def _bucket(self, seconds: ColumnElement[Any], unit_seconds: int) -> ColumnElement[Any]:
        """Whole units, rounded down, capped at HISTOGRAM_CAP either way."""
        units = seconds / unit_seconds
        if self._sqlite:  # CAST truncates towards zero: shift to positive to round down
            floored = cast(units + 1_000_000, Integer) - 1_000_000
        else:
            floored = cast(func.floor(units), Integer)
        return case(
            (floored > HISTOGRAM_CAP, HISTOGRAM_CAP),
            (floored < -HISTOGRAM_CAP, -HISTOGRAM_CAP),
            else_=floored,
        )

    def _number(self, column: KeyedColumnElement[Any]) -> ColumnElement[Any]:
        """A decimal column as a comparable number (SQLite keeps them as text)."""
        return cast(column, Float) if self._sqlite else column

    def _money_sum(self, column: KeyedColumnElement[Any]) -> ColumnElement[Any]:
        """An exact sum of money: NUMERIC on PostgreSQL; on SQLite, where money is text, a sum
        of whole kopecks in integers (exact: money has two decimals)."""
        if self._sqlite:
            return func.coalesce(func.sum(cast(func.round(cast(column, Float) * 100), Integer)), 0)
        return func.coalesce(func.sum(column), 0)

    def _money(self, value: Any) -> Decimal:
        if self._sqlite:
            return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))
        return Decimal(value).quantize(Decimal("0.01"))


def _status_counts() -> list[ColumnElement[Any]]:
    return [
        func.count(),
        func.sum(case((orders.c.status == OrderStatus.DELIVERED.value, 1), else_=0)),
        func.sum(case((orders.c.status == OrderStatus.CANCELLED.value, 1), else_=0)),
    ]


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _stamp(value: Any) -> str:
    """A latest change as text: the same moment reads the same on both databases."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _dec(value: Any) -> Decimal:
    return Decimal(0) if value is None else Decimal(str(value))
