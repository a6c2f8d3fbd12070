"""The reports' use cases: read the figures (queries.py) and lay them out as plain reports.

A report is a table (typed cells: dates, counts, Decimal money, minutes, percentages), a few
summary figures, and the series of its chart. A store's staff see their own store only:
the use case forces the store, whatever the request asked for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from smbridge.domain.status import OrderStatus
from smbridge.kernel.database.unit_of_work import Database
from smbridge.reports.period import ReportScope
from smbridge.reports.queries import HISTOGRAM_CAP, Durations, ReportQueries
from smbridge.reports.rollup import RolledUpQueries

Cell = int | str | date | Decimal | None

TENTH = Decimal("0.1")
CENT = Decimal("0.01")


class Kind(StrEnum):
    DATE = "date"
    TEXT = "text"
    COUNT = "count"
    MONEY = "money"
    MINUTES = "minutes"
    SECONDS = "seconds"
    PERCENT = "percent"


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # Russian, for people
    kind: Kind


@dataclass(frozen=True)
class Series:
    name: str
    values: list[Decimal]


@dataclass(frozen=True)
class Chart:
    kind: str  # bar | line
    labels: list[str]
    series: list[Series]
    unit: str


@dataclass(frozen=True)
class Report:
    slug: str
    title: str
    note: str  # what is counted and how, said on the page
    scope: ReportScope
    columns: list[Column]
    rows: list[tuple[Cell, ...]]
    chart: Chart
    summary: list[tuple[str, Cell]] = field(default_factory=list)

    def column(self, key: str) -> list[Cell]:
        index = [c.key for c in self.columns].index(key)
        return [row[index] for row in self.rows]

    def figure(self, title: str) -> Cell:
        return dict(self.summary)[title]


Builder = Callable[[ReportQueries, ReportScope], Report]


@dataclass(frozen=True)
class ReportKind:
    slug: str
    title: str
    build: Builder


def build_report(
    db: Database, slug: str, scope: ReportScope, *, own_store_id: int | None
) -> Report:
    """One report; ``own_store_id`` is the viewer's store for a store's staff (None: office)."""
    kind = REPORTS[slug]
    if own_store_id is not None:
        scope = scope.for_store(own_store_id)
    with db.unit_of_work(read_only=True) as uow:
        return kind.build(uow.repo(RolledUpQueries), scope)


def store_choices(db: Database) -> list[tuple[int, str]]:
    """The stores a report can be narrowed to, by name."""
    with db.unit_of_work(read_only=True) as uow:
        return uow.repo(ReportQueries).stores()


# -- the reports ------------------------------------------------------------------------------

STATUS_TITLES = {
    OrderStatus.NEW: "Новый",
    OrderStatus.IN_ASSEMBLY: "В сборке",
    OrderStatus.ASSEMBLED: "Собран",
    OrderStatus.READY: "Готов к выдаче",
    OrderStatus.HANDED_OVER: "Передан курьеру",
    OrderStatus.DELIVERED: "Доставлен",
    OrderStatus.CANCELLED: "Отменён",
}
SIDE_TITLES = {"sm": "СберМаркет", "store": "Магазин", "smbridge": "Интеграция"}


def _orders_by_day(read: ReportQueries, scope: ReportScope) -> Report:
    found = {row.day: row for row in read.orders_by_day(scope)}
    rows: list[tuple[Cell, ...]] = []
    totals: list[int] = []
    for day in scope.days:
        row = found.get(day)
        total, delivered, cancelled = (
            (row.total, row.delivered, row.cancelled) if row else (0, 0, 0)
        )
        rows.append((day, total, delivered, cancelled, _share(cancelled, total)))
        totals.append(total)
    return Report(
        "orders-by-day",
        "Заказы по дням",
        "Заказы, полученные от СберМаркета за период, по дню получения (время Москвы).",
        scope,
        [
            Column("day", "День", Kind.DATE),
            Column("total", "Заказов", Kind.COUNT),
            Column("delivered", "Доставлено", Kind.COUNT),
            Column("cancelled", "Отменено", Kind.COUNT),
            Column("cancelled_share", "Доля отмен, %", Kind.PERCENT),
        ],
        rows,
        Chart(
            "bar",
            [_day_label(day) for day in scope.days],
            [Series("Заказов", [Decimal(total) for total in totals])],
            "заказов",
        ),
        [("Всего заказов", sum(totals))],
    )


def _orders_by_store(read: ReportQueries, scope: ReportScope) -> Report:
    rows: list[tuple[Cell, ...]] = [
        (
            row.store_name or "Без магазина",
            row.total,
            row.delivered,
            row.cancelled,
            _share(row.cancelled, row.total),
        )
        for row in read.orders_by_store(scope)
    ]
    return Report(
        "orders-by-store",
        "Заказы по магазинам",
        "Заказы, полученные за период, по магазину; «Без магазина» — ждут сопоставления "
        "магазина СМ.",
        scope,
        [
            Column("store", "Магазин", Kind.TEXT),
            Column("total", "Заказов", Kind.COUNT),
            Column("delivered", "Доставлено", Kind.COUNT),
            Column("cancelled", "Отменено", Kind.COUNT),
            Column("cancelled_share", "Доля отмен, %", Kind.PERCENT),
        ],
        rows,
        Chart(
            "bar",
            [str(row[0]) for row in rows],
            [Series("Заказов", [Decimal(str(row[1])) for row in rows])],
            "заказов",
        ),
        [("Всего заказов", sum(int(str(row[1])) for row in rows))],
    )


def _orders_by_status(read: ReportQueries, scope: ReportScope) -> Report:
    counts = read.orders_by_status(scope)
    total = sum(counts.values())
    rows: list[tuple[Cell, ...]] = [
        (
            STATUS_TITLES[status],
            counts.get(status.value, 0),
            _share(counts.get(status.value, 0), total),
        )
        for status in OrderStatus
    ]
    return Report(
        "orders-by-status",
        "Заказы по статусам",
        "Текущий статус заказов, полученных за период.",
        scope,
        [
            Column("status", "Статус", Kind.TEXT),
            Column("total", "Заказов", Kind.COUNT),
            Column("share", "Доля, %", Kind.PERCENT),
        ],
        rows,
        Chart(
            "bar",
            [str(row[0]) for row in rows],
            [Series("Заказов", [Decimal(str(row[1])) for row in rows])],
            "заказов",
        ),
        [("Всего заказов", total)],
    )


def _time_report(
    slug: str, title: str, note: str, read: Callable[[ReportScope], Durations], *, late: bool
) -> Builder:
    def build(queries: ReportQueries, scope: ReportScope) -> Report:
        del queries
        durations = read(scope)
        columns = [
            Column("day", "День", Kind.DATE),
            Column("count", "Заказов", Kind.COUNT),
            Column("avg", "Среднее, мин", Kind.MINUTES),
            Column("max", "Максимум, мин", Kind.MINUTES),
        ]
        if late:
            columns += [
                Column("late", "С опозданием", Kind.COUNT),
                Column("late_share", "Доля опозданий, %", Kind.PERCENT),
            ]
        rows: list[tuple[Cell, ...]] = []
        for day in durations.by_day:
            row: tuple[Cell, ...] = (
                day.day,
                day.count,
                _minutes(day.total_seconds / day.count),
                _minutes(day.max_seconds),
            )
            if late:
                row += (day.positive, _share(day.positive, day.count))
            rows.append(row)
        count = sum(day.count for day in durations.by_day)
        total = sum((day.total_seconds for day in durations.by_day), Decimal(0))
        summary: list[tuple[str, Cell]] = [
            ("Заказов", count),
            ("Среднее, мин", _minutes(total / count) if count else None),
            ("Медиана, мин", percentile(durations.histogram, Decimal("0.5"))),
            ("90-й процентиль, мин", percentile(durations.histogram, Decimal("0.9"))),
            (
                "Максимум, мин",
                _minutes(max(day.max_seconds for day in durations.by_day)) if count else None,
            ),
        ]
        if late:
            late_count = sum(day.positive for day in durations.by_day)
            summary += [
                ("С опозданием", late_count),
                ("Доля опозданий, %", _share(late_count, count)),
            ]
        return Report(
            slug,
            title,
            note,
            scope,
            columns,
            rows,
            Chart(
                "line",
                [_day_label(day.day) for day in durations.by_day],
                [Series("Среднее, мин", [row[2] for row in rows])],  # type: ignore[misc]
                "мин",
            ),
            summary,
        )

    return build


def _time_kind(slug: str, title: str, note: str, method: str, *, late: bool = False) -> ReportKind:
    def build(queries: ReportQueries, scope: ReportScope) -> Report:
        return _time_report(slug, title, note, getattr(queries, method), late=late)(queries, scope)

    return ReportKind(slug, title, build)


def _cancellations(read: ReportQueries, scope: ReportScope) -> Report:
    found = read.cancellations(scope)
    total = sum(row.count for row in found)
    rows: list[tuple[Cell, ...]] = [
        (
            SIDE_TITLES.get(row.side or "", row.side or "—"),
            _clip(row.reason) or "Без причины",
            row.count,
            _share(row.count, total),
        )
        for row in found
    ]
    by_side: dict[str, int] = {}
    for row in rows:
        by_side[str(row[0])] = by_side.get(str(row[0]), 0) + int(str(row[2]))
    return Report(
        "cancellations",
        "Отмены по причинам и сторонам",
        "Отменённые заказы из полученных за период: кто отменил (СберМаркет, магазин, "
        "интеграция) и причина. Показаны 50 самых частых сочетаний.",
        scope,
        [
            Column("side", "Кто отменил", Kind.TEXT),
            Column("reason", "Причина", Kind.TEXT),
            Column("count", "Отмен", Kind.COUNT),
            Column("share", "Доля, %", Kind.PERCENT),
        ],
        rows,
        Chart(
            "bar",
            list(by_side),
            [Series("Отмен", [Decimal(n) for n in by_side.values()])],
            "отмен",
        ),
        [("Всего отмен", total)],
    )


def _positions(read: ReportQueries, scope: ReportScope) -> Report:
    found = read.positions(scope)
    rows: list[tuple[Cell, ...]] = [
        (
            row.day,
            row.lines,
            row.replaced,
            _share(row.replaced, row.lines),
            row.short,
            _share(row.short, row.lines),
        )
        for row in found
    ]
    lines = sum(row.lines for row in found)
    replaced = sum(row.replaced for row in found)
    short = sum(row.short for row in found)
    return Report(
        "positions",
        "Замены и недовложения",
        "Позиции СберМаркета в собранных заказах, полученных за период. Доля замен = замененные "
        "позиции ÷ все позиции × 100; доля недовложений = позиции, собранные в меньшем "
        "количестве, чем заказано (без замен; вес весового товара не считается) ÷ все "
        "позиции × 100.",
        scope,
        [
            Column("day", "День", Kind.DATE),
            Column("lines", "Позиций", Kind.COUNT),
            Column("replaced", "Заменено", Kind.COUNT),
            Column("replaced_share", "Доля замен, %", Kind.PERCENT),
            Column("short", "Недовложено", Kind.COUNT),
            Column("short_share", "Доля недовложений, %", Kind.PERCENT),
        ],
        rows,
        Chart(
            "line",
            [_day_label(row.day) for row in found],
            [
                Series("Доля замен, %", [_share(r.replaced, r.lines) for r in found]),
                Series("Доля недовложений, %", [_share(r.short, r.lines) for r in found]),
            ],
            "%",
        ),
        [
            ("Позиций", lines),
            ("Доля замен, %", _share(replaced, lines)),
            ("Доля недовложений, %", _share(short, lines)),
        ],
    )


def _sales(read: ReportQueries, scope: ReportScope) -> Report:
    found = read.sales(scope)
    rows: list[tuple[Cell, ...]] = [
        (row.day, row.documents, row.total, row.discount, row.paid, row.difference) for row in found
    ]
    total = sum((row.total for row in found), Decimal("0.00"))
    return Report(
        "sales",
        "Документы продажи",
        "Документы продажи по дате документа: количество и суммы (₽). Расхождение — оплачено "
        "минус сумма документа.",
        scope,
        [
            Column("day", "Дата документа", Kind.DATE),
            Column("documents", "Документов", Kind.COUNT),
            Column("total", "Сумма", Kind.MONEY),
            Column("discount", "Скидка", Kind.MONEY),
            Column("paid", "Оплачено", Kind.MONEY),
            Column("difference", "Расхождение", Kind.MONEY),
        ],
        rows,
        Chart(
            "bar",
            [_day_label(row.day) for row in found],
            [Series("Сумма, ₽", [row.total for row in found])],
            "₽",
        ),
        [("Документов", sum(row.documents for row in found)), ("Сумма", total)],
    )


NOTIFICATION_TITLES = {
    "order.accepted": "Принят",
    "order.in_work": "В сборке",
    "order.assembled": "Собран",
    "order.ready_for_delivery": "Готов к выдаче",
    "order.canceled": "Отменён",
}


def _notifications(read: ReportQueries, scope: ReportScope) -> Report:
    notifications = read.notifications(scope)
    found, histogram = notifications.by_type, notifications.histogram
    rows: list[tuple[Cell, ...]] = [
        (
            f"{NOTIFICATION_TITLES.get(row.type, row.type)} ({row.type})",
            row.total,
            row.delivered,
            row.dead,
            row.waiting,
            _share(row.dead, row.total),
            _tenths(row.latency_seconds / row.delivered) if row.delivered else None,
            _tenths(row.max_latency_seconds) if row.delivered else None,
        )
        for row in found
    ]
    delivered = sum(row.delivered for row in found)
    total = sum(row.total for row in found)
    dead = sum(row.dead for row in found)
    latency = sum((row.latency_seconds for row in found), Decimal(0))
    return Report(
        "notifications",
        "Уведомления СберМаркету",
        "Уведомления, поставленные в очередь за период, по типу: доставлены, отказаны (dead, "
        "ждут решения оператора), ещё в очереди; задержка доставки — от постановки в очередь до "
        "ответа СМ, в секундах.",
        scope,
        [
            Column("type", "Тип", Kind.TEXT),
            Column("total", "Всего", Kind.COUNT),
            Column("delivered", "Доставлено", Kind.COUNT),
            Column("dead", "Отказ", Kind.COUNT),
            Column("waiting", "В очереди", Kind.COUNT),
            Column("dead_share", "Доля отказов, %", Kind.PERCENT),
            Column("avg_latency", "Средняя задержка, с", Kind.SECONDS),
            Column("max_latency", "Максимальная задержка, с", Kind.SECONDS),
        ],
        rows,
        Chart(
            "bar",
            [NOTIFICATION_TITLES.get(row.type, row.type) for row in found],
            [
                Series("Доставлено", [Decimal(row.delivered) for row in found]),
                Series("Отказ", [Decimal(row.dead) for row in found]),
            ],
            "уведомлений",
        ),
        [
            ("Всего", total),
            ("Доля отказов, %", _share(dead, total)),
            ("Средняя задержка, с", _tenths(latency / delivered) if delivered else None),
            ("Медиана задержки, с", percentile(histogram, Decimal("0.5"), unit=Decimal(1))),
            ("90-й процентиль задержки, с", percentile(histogram, Decimal("0.9"), unit=Decimal(1))),
        ],
    )


REPORTS: dict[str, ReportKind] = {
    kind.slug: kind
    for kind in (
        ReportKind("orders-by-day", "Заказы по дням", _orders_by_day),
        ReportKind("orders-by-store", "Заказы по магазинам", _orders_by_store),
        ReportKind("orders-by-status", "Заказы по статусам", _orders_by_status),
        _time_kind(
            "time-to-take",
            "Время до начала сборки",
            "От получения заказа до взятия в сборку, в минутах, по дню получения. Медиана и "
            "90-й процентиль — с точностью до минуты (округление вниз).",
            "time_to_take",
        ),
        _time_kind(
            "assembly-duration",
            "Длительность сборки",
            "От взятия в сборку до завершения сборки, в минутах, по дню получения. Медиана и "
            "90-й процентиль — с точностью до минуты (округление вниз).",
            "assembly_duration",
        ),
        _time_kind(
            "lateness",
            "Опоздание сборки",
            "Завершение сборки минус срок сборки, в минутах: больше нуля — опоздание, меньше — "
            "запас. Медиана и 90-й процентиль — с точностью до минуты (округление вниз).",
            "lateness",
            late=True,
        ),
        ReportKind("cancellations", "Отмены", _cancellations),
        ReportKind("positions", "Замены и недовложения", _positions),
        ReportKind("sales", "Документы продажи", _sales),
        ReportKind("notifications", "Уведомления СберМаркету", _notifications),
    )
}


# -- figures ----------------------------------------------------------------------------------


def percentile(
    histogram: Sequence[tuple[int, int]], q: Decimal, *, unit: Decimal = Decimal(1)
) -> Decimal | None:
    """The q-quantile (nearest rank) of a histogram of whole units, rounded down to the unit.

    A value beyond HISTOGRAM_CAP was counted in the cap's bucket: the quantile says the cap.
    """
    total = sum(count for _, count in histogram)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket, count in sorted(histogram):
        seen += count
        if seen >= rank:
            return Decimal(max(-HISTOGRAM_CAP, min(bucket, HISTOGRAM_CAP))) * unit
    raise AssertionError("unreachable")


def _share(part: int, whole: int) -> Decimal:
    if whole == 0:
        return Decimal("0.0")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(TENTH, ROUND_HALF_UP)


def _minutes(seconds: Decimal) -> Decimal:
    return (seconds / 60).quantize(TENTH, ROUND_HALF_UP)


def _tenths(value: Decimal) -> Decimal:
    return value.quantize(TENTH, ROUND_HALF_UP)


def _day_label(day: date) -> str:
    return day.strftime("%d.%m")


def _clip(text: str | None, limit: int = 200) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"
