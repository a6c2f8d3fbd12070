"""A report as CSV for Excel as Russian offices run it.

UTF-8 with a byte order mark (without it Excel reads UTF-8 as cp1251), ``;`` between fields
(Russian Excel's list separator: a comma is its decimal mark), decimal commas in numbers and
dates as DD.MM.YYYY, so Excel reads them as numbers and dates. CRLF line ends.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from smbridge.reports.service import Cell, Report

BOM = "\ufeff"
SEPARATOR = ";"


def report_csv(report: Report) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=SEPARATOR, lineterminator="\r\n")
    writer.writerow([column.title for column in report.columns])
    for row in report.rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue().encode("utf-8")


def filename(report: Report) -> str:
    scope = report.scope
    store = f"-store{scope.store_id}" if scope.store_id is not None else ""
    return f"{report.slug}-{scope.first_day.isoformat()}-{scope.end_day.isoformat()}{store}.csv"


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, Decimal):
        return f"{value:f}".replace(".", ",")
    text = str(value)
    # A text Excel would take for a formula is written as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
