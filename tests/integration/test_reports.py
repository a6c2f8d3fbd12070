"""The reports' figures, exactly, on both databases, from a small quarter built around the
frozen now (2026-11-28 12:00 Moscow): the period is 26-28 November, Moscow days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from smbridge.kernel.database.unit_of_work import Database
from smbridge.reports.export import BOM, report_csv
from smbridge.reports.period import PeriodRefused, ReportScope
from smbridge.reports.service import build_report, percentile
from tests.support.report_quarter import PERIOD, seed_quarter


@pytest.fixture
def quarter(db: Database) -> tuple[int, int]:
    return seed_quarter(db)


def report(db: Database, slug: str, scope: ReportScope = PERIOD, own: int | None = None) -> Any:
    return build_report(db, slug, scope, own_store_id=own)


def test_orders_by_day_count_moscow_days(db: Database, quarter: tuple[int, int]) -> None:
    found = report(db, "orders-by-day")
    assert found.rows == [
        (date(2026, 11, 26), 2, 2, 0, Decimal("0.0")),
        (date(2026, 11, 27), 2, 0, 2, Decimal("100.0")),
        (date(2026, 11, 28), 1, 0, 0, Decimal("0.0")),
    ]
    assert found.figure("Всего заказов") == 5
    assert found.chart.series[0].values == [2, 2, 1]


def test_orders_by_store_and_by_status(db: Database, quarter: tuple[int, int]) -> None:
    assert report(db, "orders-by-store").rows == [
        ("Магазин А", 3, 2, 1, Decimal("33.3")),
        ("Магазин Б", 2, 0, 1, Decimal("50.0")),
    ]
    by_status = {row[0]: row[1] for row in report(db, "orders-by-status").rows}
    assert by_status == {
        "Новый": 0,
        "В сборке": 1,
        "Собран": 0,
        "Готов к выдаче": 0,
        "Передан курьеру": 0,
        "Доставлен": 2,
        "Отменён": 2,
    }


def test_time_to_take(db: Database, quarter: tuple[int, int]) -> None:
    found = report(db, "time-to-take")
    assert found.rows == [
        (date(2026, 11, 26), 2, Decimal("15.0"), Decimal("20.0")),
        (date(2026, 11, 27), 1, Decimal("5.0"), Decimal("5.0")),
        (date(2026, 11, 28), 1, Decimal("30.0"), Decimal("30.0")),
    ]
    assert dict(found.summary) == {
        "Заказов": 4,
        "Среднее, мин": Decimal("16.3"),  # 65 / 4 = 16.25
        "Медиана, мин": Decimal(10),
        "90-й процентиль, мин": Decimal(30),
        "Максимум, мин": Decimal("30.0"),
    }


def test_assembly_duration_and_lateness(db: Database, quarter: tuple[int, int]) -> None:
    duration = report(db, "assembly-duration")
    assert duration.rows == [(date(2026, 11, 26), 2, Decimal("25.0"), Decimal("30.0"))]
    assert duration.figure("Медиана, мин") == Decimal(20)
    assert duration.figure("90-й процентиль, мин") == Decimal(30)
    late = report(db, "lateness")
    assert late.rows == [
        (date(2026, 11, 26), 2, Decimal("-5.0"), Decimal("5.0"), 1, Decimal("50.0"))
    ]
    assert late.figure("Медиана, мин") == Decimal(-15)
    assert late.figure("90-й процентиль, мин") == Decimal(5)
    assert late.figure("С опозданием") == 1


def test_cancellations_by_side_and_reason(db: Database, quarter: tuple[int, int]) -> None:
    found = report(db, "cancellations")
    assert sorted(found.rows) == [
        ("Магазин", "Нет товара", 1, Decimal("50.0")),
        ("СберМаркет", "Клиент отменил", 1, Decimal("50.0")),
    ]


def test_replacement_and_shortage_rates(db: Database, quarter: tuple[int, int]) -> None:
    found = report(db, "positions")
    assert found.rows == [
        (date(2026, 11, 26), 5, 1, Decimal("20.0"), 2, Decimal("40.0")),
    ]


def test_sales_totals_are_exact(db: Database, quarter: tuple[int, int]) -> None:
    found = report(db, "sales")
    assert found.rows == [
        (
            date(2026, 11, 26),
            2,
            Decimal("1334.61"),
            Decimal("10.50"),
            Decimal("1334.56"),
            Decimal("-0.05"),
        ),
        (date(2026, 11, 27), 1, Decimal("0.10"), Decimal("0.00"), Decimal("0.30"), Decimal("0.20")),
    ]
    assert found.figure("Сумма") == Decimal("1334.71")


def test_notification_latency_and_failures(db: Database, quarter: tuple[int, int]) -> None:
    found = report(db, "notifications")
    assert found.rows == [
        ("Принят (order.accepted)", 3, 1, 1, 1, Decimal("33.3"), Decimal("1.5"), Decimal("1.5")),
        ("В сборке (order.in_work)", 1, 1, 0, 0, Decimal("0.0"), Decimal("0.5"), Decimal("0.5")),
    ]
    assert dict(found.summary) == {
        "Всего": 4,
        "Доля отказов, %": Decimal("25.0"),
        "Средняя задержка, с": Decimal("1.0"),
        "Медиана задержки, с": Decimal(0),
        "90-й процентиль задержки, с": Decimal(1),
    }


def test_a_store_narrows_every_report(db: Database, quarter: tuple[int, int]) -> None:
    a, b = quarter
    assert report(db, "orders-by-day", PERIOD.for_store(b)).column("total") == [0, 1, 1]
    assert report(db, "notifications", PERIOD.for_store(a)).column("total") == [2, 1]
    assert report(db, "sales", PERIOD.for_store(b)).column("total") == [Decimal("100.05")]


def test_a_store_manager_is_held_to_their_store(db: Database, quarter: tuple[int, int]) -> None:
    a, b = quarter
    asked_for_b = report(db, "orders-by-store", PERIOD.for_store(b), own=a)
    assert asked_for_b.scope.store_id == a
    assert asked_for_b.rows == [("Магазин А", 3, 2, 1, Decimal("33.3"))]
    everything = report(db, "orders-by-store", PERIOD, own=a)
    assert [row[0] for row in everything.rows] == ["Магазин А"]


def test_csv_has_a_bom_a_header_and_the_rows(db: Database, quarter: tuple[int, int]) -> None:
    body = report_csv(report(db, "sales")).decode("utf-8")
    assert body.startswith(BOM)
    lines = body.removeprefix(BOM).split("\r\n")
    assert lines[0] == "Дата документа;Документов;Сумма;Скидка;Оплачено;Расхождение"
    assert lines[1] == "26.11.2026;2;1334,61;10,50;1334,56;-0,05"
    assert lines[2] == "27.11.2026;1;0,10;0,00;0,30;0,20"
    assert lines[3:] == [""]


def test_an_empty_period_is_empty(db: Database) -> None:
    found = report(db, "time-to-take")
    assert found.rows == []
    assert found.figure("Медиана, мин") is None


def test_a_reversed_or_too_long_period_is_refused() -> None:
    with pytest.raises(PeriodRefused):
        ReportScope(date(2026, 11, 28), date(2026, 11, 28))
    with pytest.raises(PeriodRefused):
        ReportScope(date(2025, 1, 1), date(2026, 11, 28))


def test_percentile_is_the_nearest_rank() -> None:
    assert percentile([(1, 1), (2, 1), (3, 1), (4, 1)], Decimal("0.5")) == 2
    assert percentile([(1, 1), (2, 1), (3, 1), (4, 1)], Decimal("0.9")) == 4
    assert percentile([(-3, 2), (7, 1)], Decimal("0.5")) == -3
    assert percentile([], Decimal("0.5")) is None
