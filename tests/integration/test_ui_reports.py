"""The reports' pages: the form, a report as a table and an SVG chart, its CSV; who may see
which store."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from smbridge.domain.staff import Role
from smbridge.kernel.database.tables import pickers
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from tests.support.clock import FrozenClock
from tests.support.report_quarter import seed_quarter
from tests.support.ui import add_staff, sign_in, ui_client

PERIOD = "period_from=2026-11-26&period_to=2026-11-28"


@pytest.fixture
def stores(db: Database) -> tuple[int, int]:
    return seed_quarter(db)


def _client_of(
    settings: Settings, db: Database, clock: FrozenClock, role: Role, store_id: int | None = None
) -> TestClient:
    picker_id = None
    if role is Role.PICKER:
        with db.engine.begin() as connection:
            picker_id = connection.execute(
                insert(pickers)
                .values(store_id=store_id, name="Сборщик", active=True)
                .returning(pickers.c.id)
            ).scalar_one()
    add_staff(
        db, login=f"u-{role.value}", role=role, store_id=store_id, picker_id=picker_id, now=clock()
    )
    client = ui_client(settings, db, clock)
    client.__enter__()
    sign_in(client, f"u-{role.value}")
    return client


def test_operations_see_a_report_with_its_table_chart_and_csv(
    settings: Settings, db: Database, clock: FrozenClock, stores: tuple[int, int]
) -> None:
    client = _client_of(settings, db, clock, Role.OPERATIONS)
    try:
        index = client.get("/ui/reports/")
        assert index.status_code == 200
        assert "/ui/reports/lateness?period_from=" in index.text
        page = client.get(f"/ui/reports/orders-by-day?{PERIOD}")
        assert page.status_code == 200, page.text
        assert "<svg" in page.text
        assert 'class="bar"' in page.text
        assert "26.11.2026" in page.text
        assert "28.11.2026" in page.text
        assert f'href="/ui/reports/orders-by-day.csv?{PERIOD.replace("&", "&amp;")}"' in page.text
        both = client.get(f"/ui/reports/orders-by-store?{PERIOD}")
        assert "Магазин А" in both.text
        assert "Магазин Б" in both.text
        csv = client.get(f"/ui/reports/sales.csv?{PERIOD}")
        assert csv.status_code == 200
        assert csv.headers["content-type"].startswith("text/csv")
        assert "attachment" in csv.headers["content-disposition"]
        lines = csv.content.decode("utf-8").split("\r\n")
        assert lines[0] == "\ufeffДата документа;Документов;Сумма;Скидка;Оплачено;Расхождение"
        assert lines[1] == "26.11.2026;2;1334,61;10,50;1334,56;-0,05"
    finally:
        client.__exit__(None, None, None)


def test_a_store_manager_sees_only_their_store(
    settings: Settings, db: Database, clock: FrozenClock, stores: tuple[int, int]
) -> None:
    a, b = stores
    client = _client_of(settings, db, clock, Role.STORE_MANAGER, store_id=a)
    try:
        page = client.get(f"/ui/reports/orders-by-store?{PERIOD}&store={b}")
        assert page.status_code == 200
        assert "Магазин А" in page.text
        assert "Магазин Б" not in page.text
        assert 'name="store"' not in page.text  # no store to choose
        csv = client.get(f"/ui/reports/orders-by-store.csv?{PERIOD}&store={b}")
        assert "Магазин Б" not in csv.content.decode("utf-8")
    finally:
        client.__exit__(None, None, None)


def test_a_picker_is_refused(
    settings: Settings, db: Database, clock: FrozenClock, stores: tuple[int, int]
) -> None:
    client = _client_of(settings, db, clock, Role.PICKER, store_id=stores[0])
    try:
        assert client.get("/ui/reports/").status_code == 403
        assert client.get(f"/ui/reports/orders-by-day?{PERIOD}").status_code == 403
        assert client.get(f"/ui/reports/sales.csv?{PERIOD}").status_code == 403
    finally:
        client.__exit__(None, None, None)


def test_nobody_signed_in_is_sent_to_sign_in(
    settings: Settings, db: Database, clock: FrozenClock
) -> None:
    with ui_client(settings, db, clock) as client:
        answer = client.get("/ui/reports/sales.csv")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/ui/login")


def test_a_wrong_period_or_report_is_refused(
    settings: Settings, db: Database, clock: FrozenClock, stores: tuple[int, int]
) -> None:
    client = _client_of(settings, db, clock, Role.ADMIN)
    try:
        assert client.get("/ui/reports/no-such").status_code == 404
        reversed_period = "period_from=2026-11-28&period_to=2026-11-01"
        assert client.get(f"/ui/reports/sales?{reversed_period}").status_code == 422
        assert client.get("/ui/reports/sales?period_from=2020-01-01").status_code == 422
        assert client.get("/ui/reports/sales?period_from=junk").status_code == 422
        assert client.get("/ui/reports/sales?store=-1").status_code == 422
        # the default: the last 30 days to today (the frozen now: 28 November)
        default = client.get("/ui/reports/orders-by-day")
        assert default.status_code == 200
        assert 'value="2026-10-30"' in default.text
        assert 'value="2026-11-28"' in default.text
    finally:
        client.__exit__(None, None, None)
