"""Every report query reaches its rows through an index, on both databases (EXPLAIN)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import event

from smbridge.kernel.database.unit_of_work import Database
from smbridge.reports.period import ReportScope
from smbridge.reports.service import REPORTS, build_report

#: What a report may read whole: the stores (a few dozen rows), and its own grouped rows.
SMALL = ("stores", "anon_")


def _statements(db: Database, slug: str, scope: ReportScope) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        build_report(db, slug, scope, own_store_id=None)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    return seen


def _plan(db: Database, statement: str, parameters: Any) -> list[str]:
    with db.engine.connect() as connection:
        if db.engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return [str(row[-1]) for row in rows]
        # Whatever the planner prefers on a tiny table, an index must be there to use.
        connection.exec_driver_sql("SET enable_seqscan = off")
        rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters)
        return [str(row[0]) for row in rows]


@pytest.mark.parametrize("store_id", [None, 1])
@pytest.mark.parametrize("slug", list(REPORTS))
def test_report_queries_use_indexes(db: Database, slug: str, store_id: int | None) -> None:
    scope = ReportScope(date(2026, 11, 1), date(2026, 12, 1), store_id)
    statements = _statements(db, slug, scope)
    assert statements
    for statement, parameters in statements:
        plan = _plan(db, statement, parameters)
        if db.engine.dialect.name == "sqlite":
            whole = [step for step in plan if step.startswith("SCAN ") and "INDEX" not in step]
        else:
            whole = [step for step in plan if "Seq Scan" in step]
        assert [step for step in whole if not any(name in step for name in SMALL)] == [], plan
