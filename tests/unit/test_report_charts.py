"""The SVG charts: well-formed, scaled, labelled, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

from smbridge.reports import charts
from smbridge.reports.export import report_csv
from smbridge.reports.period import ReportScope
from smbridge.reports.service import Chart, Column, Kind, Report, Series

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output


def test_bars_are_scaled_to_a_round_top() -> None:
    svg = _parse(
        charts.bar_chart(
            ["01.11", "02.11"],
            [("Заказов", [Decimal(50), Decimal(100)])],
            title="Заказы",
            unit="заказов",
        )
    )
    bars = svg.findall(f"{SVG}rect[@class='bar']")
    assert len(bars) == 2
    heights = [float(bar.get("height", "0")) for bar in bars]
    plot = charts.HEIGHT - charts.TOP - charts.BOTTOM
    assert heights[1] == plot  # 100 is the top of the axis (1, 2, 2.5, 5 x 10^n)
    assert heights[0] == plot / 2
    values = [t.text for t in svg.findall(f"{SVG}text[@class='axis-value']")]
    assert values == ["0", "25", "50", "75", "100"]
    labels = [t.text for t in svg.findall(f"{SVG}text[@class='axis-label']")]
    assert labels == ["01.11", "02.11"]
    assert svg.findtext(f"{SVG}title") == "Заказы"


def test_negative_values_go_below_the_zero_line() -> None:
    svg = _parse(
        charts.bar_chart(["a", "b"], [("x", [Decimal(-5), Decimal(10)])], title="t", unit="мин")
    )
    axis = svg.find(f"{SVG}line[@class='axis']")
    assert axis is not None
    zero = float(axis.get("y1", "0"))
    below, above = svg.findall(f"{SVG}rect[@class='bar']")
    assert float(below.get("y", "0")) == zero  # hangs down from zero
    assert float(above.get("y", "0")) + float(above.get("height", "0")) == zero


def test_a_line_chart_has_one_polyline_per_series_and_a_legend() -> None:
    svg = _parse(
        charts.line_chart(
            ["01", "02", "03"],
            [
                ("Замены", [Decimal("4.5"), None, Decimal("5.5")]),
                ("Недовложения", [Decimal(1)] * 3),
            ],
            title="Доли",
            unit="%",
        )
    )
    lines = svg.findall(f"{SVG}polyline")
    assert len(lines) == 2
    assert len(lines[0].get("points", "").split()) == 2  # the missing point is skipped
    assert [t.text for t in svg.findall(f"{SVG}text[@class='legend']")] == [
        "Замены",
        "Недовложения",
    ]
    assert [t.text for t in svg.findall(f"{SVG}text[@class='axis-value']")][-1] == "10"


def test_texts_are_escaped_and_long_label_lists_thinned() -> None:
    labels = [f"<{n}>" for n in range(60)]
    svg = charts.bar_chart(labels, [("a&b", [Decimal(1)] * 60)], title='"x" <script>', unit="u")
    assert "<script>" not in svg
    tree = _parse(svg)
    written = tree.findall(f"{SVG}text[@class='axis-label']")
    assert 0 < len(written) <= charts.MAX_LABELS
    assert written[0].text == "<0>"


def test_an_empty_chart_is_still_a_chart() -> None:
    tree = _parse(charts.line_chart([], [("a", [])], title="Пусто", unit="мин"))
    assert tree.findall(f"{SVG}polyline") == []


def test_csv_guards_texts_that_look_like_formulas_but_not_numbers() -> None:
    report = Report(
        "x",
        "X",
        "",
        ReportScope(date(2026, 11, 1), date(2026, 11, 2)),
        [Column("reason", "Причина", Kind.TEXT), Column("n", "Сумма", Kind.MONEY)],
        [("=HYPERLINK(1)", Decimal("-1.50")), ("a;b", None)],
        Chart("bar", [], [Series("s", [])], ""),
    )
    assert report_csv(report).decode().splitlines() == [
        "\ufeffПричина;Сумма",
        "'=HYPERLINK(1);-1,50",
        '"a;b";',
    ]
