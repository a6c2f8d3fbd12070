"""Staff accounts of the web UI: sign-in per role, throttling, expiry, CSRF, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from smbridge.accounts.repository import AuditLog, StaffAccounts
from smbridge.accounts.service import set_active
from smbridge.assembly.errors import NotFound
from smbridge.assembly.factory import assembly_policy
from smbridge.assembly.repository import PickerRepository
from smbridge.domain.picker import Picker
from smbridge.domain.staff import AccountError, Role
from smbridge.kernel.database.tables import staff_sessions, staff_users
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from smbridge.ui.actions import assembly_call
from smbridge.ui.web import Staff, UiContext
from tests.factories import add_store
from tests.support.clock import FROZEN_NOW, FrozenClock
from tests.support.ui import PASSWORD, add_staff, sign_in, ui_client

HOMES = {
    Role.PICKER: "/ui/picker",
    Role.STORE_OPERATOR: "/ui/store/",
    Role.STORE_MANAGER: "/ui/store/",
    Role.OPERATIONS: "/ui/ops/",
    Role.ADMIN: "/ui/ops/",
}


def _staff_of_every_role(db: Database) -> dict[Role, str]:
    store = add_store(db)
    assert store.id is not None
    picker = Picker(store_id=store.id, name="Ольга")
    with db.unit_of_work() as uow:
        uow.repo(PickerRepository).add(picker)
        uow.commit()
    logins = {}
    for role in Role:
        login = f"user-{role}"
        add_staff(
            db,
            login=login,
            role=role,
            now=FROZEN_NOW,
            store_id=None if role in (Role.OPERATIONS, Role.ADMIN) else store.id,
            picker_id=picker.id if role is Role.PICKER else None,
            password="1234" if role is Role.PICKER else PASSWORD,
        )
        logins[role] = login
    return logins


def test_each_role_signs_in_to_its_own_area_and_no_other(db: Database, settings: Settings) -> None:
    logins = _staff_of_every_role(db)
    for role, login in logins.items():
        with ui_client(settings, db, FrozenClock()) as client:
            sign_in(client, login, "1234" if role is Role.PICKER else PASSWORD)
            start = client.get("/ui/")
            assert start.headers["location"] == HOMES[role]
            assert client.get(HOMES[role]).status_code == 200
            others = {home for other, home in HOMES.items() if home != HOMES[role]}
            for home in others:
                assert client.get(home).status_code == 403, (role, home)


def test_a_page_without_a_session_sends_to_the_sign_in_page(
    db: Database, settings: Settings
) -> None:
    with ui_client(settings, db, FrozenClock()) as client:
        answer = client.get("/ui/store/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?next=/ui/store/"


def test_a_wrong_password_and_an_unknown_login_get_the_same_answer(
    db: Database, settings: Settings
) -> None:
    _staff_of_every_role(db)
    with ui_client(settings, db, FrozenClock()) as client:
        wrong = _try(client, "user-admin", "not the password")
        unknown = _try(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Неверный логин или пароль" in wrong.text
    assert "Неверный логин или пароль" in unknown.text
    assert "smb_session" not in wrong.cookies


def test_five_failures_close_the_login_for_the_window_even_to_the_right_password(
    db: Database, settings: Settings
) -> None:
    _staff_of_every_role(db)
    clock = FrozenClock()
    with ui_client(settings, db, clock) as client:
        for _ in range(5):
            assert _try(client, "USER-ADMIN", "guess").status_code == 401
        assert _try(client, "user-admin", PASSWORD).status_code == 429
        clock.advance(timedelta(minutes=15))
        assert _try(client, "user-admin", PASSWORD).status_code == 303


def test_a_session_ends_after_two_idle_hours_and_lives_on_while_used(
    db: Database, settings: Settings
) -> None:
    _staff_of_every_role(db)
    clock = FrozenClock()
    with ui_client(settings, db, clock) as client:
        sign_in(client, "user-store_operator")
        clock.advance(timedelta(minutes=110))
        assert client.get("/ui/store/").status_code == 200  # used: the idle time starts anew
        clock.advance(timedelta(minutes=110))
        assert client.get("/ui/store/").status_code == 200
        clock.advance(timedelta(hours=2))
        assert client.get("/ui/store/").status_code == 303


def test_a_form_without_the_sessions_csrf_token_is_refused(
    db: Database, settings: Settings
) -> None:
    _staff_of_every_role(db)
    with ui_client(settings, db, FrozenClock()) as client:
        csrf = sign_in(client, "user-admin")
        refused = client.post("/ui/logout", data={"csrf_token": "forged"})
        assert refused.status_code == 403
        assert "CSRF" in refused.text
        assert client.get("/ui/ops/").status_code == 200  # still signed in
        assert client.post("/ui/logout", data={"csrf_token": csrf}).status_code == 303
        assert client.get("/ui/ops/").status_code == 303
    assert _sessions(db) == 0


def test_the_sign_in_form_needs_its_own_csrf_cookie(db: Database, settings: Settings) -> None:
    _staff_of_every_role(db)
    with ui_client(settings, db, FrozenClock()) as client:
        answer = client.post(
            "/ui/login", data={"login": "user-admin", "password": PASSWORD, "csrf_token": "x"}
        )
    assert answer.status_code == 403
    assert _sessions(db) == 0


def test_after_sign_in_only_a_page_of_the_ui_is_a_destination(
    db: Database, settings: Settings
) -> None:
    _staff_of_every_role(db)
    with ui_client(settings, db, FrozenClock()) as client:
        form = client.get("/ui/login?next=/ui/reports/")
        assert 'value="/ui/reports/"' in form.text
        token = client.cookies["smb_login_csrf"]
        evil = client.post(
            "/ui/login",
            data={
                "login": "user-admin",
                "password": PASSWORD,
                "csrf_token": token,
                "next": "//evil.example/ui/",
            },
        )
    assert evil.headers["location"] == "/ui/ops/"


def test_passwords_are_kept_as_argon2_hashes_and_sessions_by_their_digest(
    db: Database, settings: Settings
) -> None:
    _staff_of_every_role(db)
    with ui_client(settings, db, FrozenClock()) as client:
        sign_in(client, "user-admin")
        cookie = client.cookies["smb_session"]
    with db.engine.connect() as connection:
        hashes = connection.execute(select(staff_users.c.password_hash)).scalars().all()
        digests = connection.execute(select(staff_sessions.c.token_sha256)).scalars().all()
    assert all(value.startswith("$argon2id$") for value in hashes)
    assert PASSWORD not in "".join(hashes)
    assert cookie not in digests


def test_a_disabled_account_is_signed_out_at_once_and_the_change_is_audited(
    db: Database, settings: Settings
) -> None:
    _staff_of_every_role(db)
    with db.unit_of_work(read_only=True) as uow:
        admin = uow.repo(StaffAccounts).with_hash("user-admin")
        operator = uow.repo(StaffAccounts).with_hash("user-store_operator")
    assert admin is not None
    assert operator is not None
    with ui_client(settings, db, FrozenClock()) as client:
        sign_in(client, "user-store_operator")
        set_active(
            db,
            admin=admin[0],
            user_id=operator[0].id,
            active=False,
            reason="уволен",
            now=FROZEN_NOW,
        )
        assert client.get("/ui/store/").status_code == 303
        assert _try(client, "user-store_operator", PASSWORD).status_code == 401
    with db.unit_of_work(read_only=True) as uow:
        entries = uow.repo(AuditLog).page(None, 10)
    assert [(e.user_login, e.action, e.reason) for e in entries] == [
        ("user-admin", "staff.disable", "уволен")
    ]


def test_a_store_role_needs_its_store_and_the_office_has_none(db: Database) -> None:
    store = add_store(db)
    with pytest.raises(AccountError):
        add_staff(db, login="a", role=Role.STORE_OPERATOR, now=FROZEN_NOW)
    with pytest.raises(AccountError):
        add_staff(db, login="b", role=Role.ADMIN, now=FROZEN_NOW, store_id=store.id)
    with pytest.raises(AccountError):
        add_staff(db, login="c", role=Role.PICKER, now=FROZEN_NOW, store_id=store.id)
    add_staff(db, login="d", role=Role.ADMIN, now=FROZEN_NOW)
    with pytest.raises(AccountError, match="taken"):
        add_staff(db, login="D", role=Role.ADMIN, now=FROZEN_NOW)


def test_the_uis_calls_are_scoped_to_the_staffs_store(db: Database, settings: Settings) -> None:
    mine, theirs = add_store(db), add_store(db, "other-store")
    assert mine.id is not None
    assert theirs.id is not None
    ctx = UiContext(db, FrozenClock(), assembly_policy(settings))
    staff = Staff(1, "op", "Оператор", Role.STORE_OPERATOR, mine.id, None, "csrf")
    assert assembly_call(ctx, staff, "getActiveOrders", {}, "r-1") == {"orders": []}
    with pytest.raises(NotFound):
        assembly_call(ctx, staff, "getOrder", {"orderNumber": "no-such"}, "r-2")


def _try(client: TestClient, login: str, password: str) -> Response:
    client.get("/ui/login")
    token = client.cookies.get("smb_login_csrf")
    return client.post(
        "/ui/login", data={"login": login, "password": password, "csrf_token": token}
    )


def _sessions(db: Database) -> int:
    with db.engine.connect() as connection:
        return len(connection.execute(select(staff_sessions.c.id)).all())
