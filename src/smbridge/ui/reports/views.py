"""The reports area: a form (period, store), one report per page as a table and an SVG
chart, and its CSV. For store managers (their own store, forced by the use case),
operations and admin."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from smbridge.domain.staff import STORE_ROLES, Role
from smbridge.reports import charts
from smbridge.reports.export import filename, report_csv
from smbridge.reports.period import MAX_DAYS, REPORT_ZONE, PeriodRefused, ReportScope
from smbridge.reports.service import REPORTS, Cell, Kind, Report, build_report, store_choices
from smbridge.ui.web import UI_PREFIX, Staff, UiContext, UiRefused, render, signed_in

READERS = (Role.STORE_MANAGER, Role.OPERATIONS, Role.ADMIN)
DEFAULT_DAYS = 30
_NBSP = "\u00a0"


def router(ctx: UiContext) -> APIRouter:
    pages = APIRouter(prefix=f"{UI_PREFIX}/reports", include_in_schema=False)

    @pages.get("/")
    async def index(
        request: Request,
        staff: Staff = signed_in(*READERS),
        period_from: str | None = None,
        period_to: str | None = None,
        store: str | None = None,
    ) -> HTMLResponse:
        form = await run_in_threadpool(_form, ctx, staff, period_from, period_to, store)
        return render(request, "reports/index.html", {"form": form, "reports": _menu(form)})

    @pages.get("/{slug}.csv")
    async def report_as_csv(
        slug: str,
        staff: Staff = signed_in(*READERS),
        period_from: str | None = None,
        period_to: str | None = None,
        store: str | None = None,
    ) -> Response:
        _known(slug)
        scope = _scope(ctx, staff, period_from, period_to, store)
        report = await run_in_threadpool(
            build_report, ctx.db, slug, scope, own_store_id=_own_store(staff)
        )
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{filename(report)}"',
                "Cache-Control": "no-store",
            },
        )

    @pages.get("/{slug}")
    async def report_page(
        request: Request,
        slug: str,
        *,
        staff: Staff = signed_in(*READERS),
        period_from: str | None = None,
        period_to: str | None = None,
        store: str | None = None,
    ) -> HTMLResponse:
        _known(slug)
        form = await run_in_threadpool(_form, ctx, staff, period_from, period_to, store)
        report = await run_in_threadpool(
            build_report, ctx.db, slug, form["scope"], own_store_id=_own_store(staff)
        )
        return render(
            request,
            "reports/report.html",
            {
                "form": form,
                "reports": _menu(form),
                "report": report,
                "table": _table(report),
                "summary": [
                    (title, _cell(_kind_of(title), value)) for title, value in report.summary
                ],
                "chart": _chart(report),
                "csv_url": f"{UI_PREFIX}/reports/{slug}.csv?{form['query']}",
            },
        )

    return pages


# -- the form --------------------------------------------------------------------------------


def _own_store(staff: Staff) -> int | None:
    """A store's staff see their own store only; the office sees every store."""
    if staff.role in STORE_ROLES:
        if staff.store_id is None:
            raise UiRefused(403, "Учётная запись не привязана к магазину.")
        return staff.store_id
    return None


def _known(slug: str) -> None:
    if slug not in REPORTS:
        raise UiRefused(404, "Такого отчёта нет.")


def _scope(
    ctx: UiContext, staff: Staff, period_from: str | None, period_to: str | None, store: str | None
) -> ReportScope:
    today = ctx.clock().astimezone(REPORT_ZONE).date()
    try:
        last = _date(period_to) if period_to else today
        first = _date(period_from) if period_from else last - timedelta(days=DEFAULT_DAYS - 1)
        store_id = int(store) if store else None
        if store_id is not None and not 0 < store_id < 2**31:
            raise ValueError(store)
        own = _own_store(staff)
        return ReportScope(first, last + timedelta(days=1), own if own is not None else store_id)
    except PeriodRefused:
        raise UiRefused(
            422, f"Неверный период: начало не позже конца, не больше {MAX_DAYS} дней."
        ) from None
    except ValueError:
        raise UiRefused(422, "Неверный период или магазин.") from None


def _date(text: str) -> date:
    if len(text) > 10:
        raise ValueError(text)
    return date.fromisoformat(text)


def _form(
    ctx: UiContext, staff: Staff, period_from: str | None, period_to: str | None, store: str | None
) -> dict[str, Any]:
    scope = _scope(ctx, staff, period_from, period_to, store)
    own = _own_store(staff)
    stores = [] if own is not None else store_choices(ctx.db)
    last = scope.end_day - timedelta(days=1)
    query = {"period_from": scope.first_day.isoformat(), "period_to": last.isoformat()}
    if scope.store_id is not None and own is None:
        query["store"] = str(scope.store_id)
    return {
        "scope": scope,
        "first": scope.first_day.isoformat(),
        "last": last.isoformat(),
        "store_id": scope.store_id,
        "stores": stores,
        "own_store": own is not None,
        "query": urlencode(query),
    }


def _menu(form: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (kind.slug, kind.title, f"{UI_PREFIX}/reports/{kind.slug}?{form['query']}")
        for kind in REPORTS.values()
    ]


# -- cells and the chart ---------------------------------------------------------------------


def _table(report: Report) -> list[list[tuple[str, str]]]:
    """Each row's cells as (text, css class)."""
    return [
        [_cell(column.kind, value) for column, value in zip(report.columns, row, strict=True)]
        for row in report.rows
    ]


def _kind_of(title: str) -> Kind:
    if title == "Сумма":
        return Kind.MONEY
    if title.endswith(", %"):
        return Kind.PERCENT
    return Kind.COUNT


def _cell(kind: Kind, value: Cell) -> tuple[str, str]:
    if value is None:
        return "—", "num"
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y"), ""
    if kind is Kind.MONEY and isinstance(value, Decimal):
        whole, _, cents = f"{value:,.2f}".partition(".")
        return whole.replace(",", _NBSP) + f",{cents}{_NBSP}₽", "num"
    if isinstance(value, int):
        return f"{value:,}".replace(",", _NBSP), "num"
    if isinstance(value, Decimal):
        return f"{value:f}".replace(".", ","), "num"
    return str(value), ""


def _chart(report: Report) -> Markup:
    chart = report.chart
    series = [(s.name, s.values) for s in chart.series]
    if chart.kind == "line":
        svg = charts.line_chart(chart.labels, series, title=report.title, unit=chart.unit)
    else:
        svg = charts.bar_chart(chart.labels, series, title=report.title, unit=chart.unit)
    return Markup(svg)  # noqa: S704 - charts.py escapes every text it writes
