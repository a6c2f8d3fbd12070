"""The web UI in tests: staff accounts, a client of the assembly app (which serves /ui), and
signing in through the real form."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi.testclient import TestClient

from smbridge.accounts.service import create_account
from smbridge.domain.staff import Role
from smbridge.entrypoints.assembly_app import create_assembly_app
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from tests.support.clock import FrozenClock

PASSWORD = "пароль-123-длинный"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


def add_staff(
    db: Database,
    *,
    login: str,
    role: Role,
    now: datetime,
    store_id: int | None = None,
    picker_id: int | None = None,
    password: str = PASSWORD,
    name: str = "Сотрудник",
) -> int:
    return create_account(
        db,
        login=login,
        display_name=name,
        role=role,
        password=password,
        now=now,
        store_id=store_id,
        picker_id=picker_id,
    )


def ui_client(settings: Settings, db: Database, clock: FrozenClock) -> TestClient:
    """Use as a context manager: ``with ui_client(...) as client``."""
    return TestClient(create_assembly_app(settings, db, clock=clock), follow_redirects=False)


def sign_in(client: TestClient, login: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token for the next forms."""
    form = client.get("/ui/login")
    token = _CSRF.search(form.text)
    assert token is not None, form.text
    answer = client.post(
        "/ui/login",
        data={"login": login, "password": password, "csrf_token": token.group(1), "next": ""},
    )
    assert answer.status_code == 303, answer.text
    page = client.get(answer.headers["location"])
    csrf = _META_CSRF.search(page.text)
    assert csrf is not None, page.text
    assert csrf.group(1), page.text
    return csrf.group(1)
