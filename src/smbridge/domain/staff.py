"""Staff of the web UI: their roles, and what each role may reach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    PICKER = "picker"
    STORE_OPERATOR = "store_operator"
    STORE_MANAGER = "store_manager"
    OPERATIONS = "operations"
    ADMIN = "admin"


#: Roles bound to one store: every order they see or change is that store's.
STORE_ROLES = frozenset({Role.PICKER, Role.STORE_OPERATOR, Role.STORE_MANAGER})
#: The office's roles: all stores.
OFFICE_ROLES = frozenset({Role.OPERATIONS, Role.ADMIN})

ROLE_TITLES = {
    Role.PICKER: "Сборщик",
    Role.STORE_OPERATOR: "Оператор магазина",
    Role.STORE_MANAGER: "Директор магазина",
    Role.OPERATIONS: "Операционный отдел",
    Role.ADMIN: "Администратор",
}


class AccountError(Exception):
    """A staff account that cannot be made as asked; ``detail`` is shown to the admin."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def check_binding(role: Role, store_id: int | None, picker_id: int | None) -> None:
    """A store role needs its store, an office role must have none; only pickers have a
    picker. Checked before an account is written, so no account can see more than its role."""
    if role in STORE_ROLES and store_id is None:
        raise AccountError(f"role {role} needs a store")
    if role in OFFICE_ROLES and store_id is not None:
        raise AccountError(f"role {role} sees every store: give no store")
    if (picker_id is not None) != (role is Role.PICKER):
        raise AccountError("a picker's account, and only it, names its picker")


@dataclass(frozen=True)
class SessionTimes:
    """When a session ends: after ``idle`` without a request, and at the latest ``longest``
    after sign-in (a shift, so a terminal left signed in overnight is signed out)."""

    idle: timedelta = timedelta(hours=2)
    longest: timedelta = timedelta(hours=14)
    #: A request extends the session only when its last extension is this old: a page view
    #: is then a read, not a write to the sessions table.
    touch_every: timedelta = timedelta(minutes=5)

    def expiry(self, created_at: datetime, now: datetime) -> datetime:
        return min(created_at + self.longest, now + self.idle)

    def needs_touch(self, seen_at: datetime, now: datetime) -> bool:
        return now - seen_at >= self.touch_every


@dataclass(frozen=True)
class Throttle:
    """How many failed sign-ins within ``window`` close the door: per login (guessing one
    account's PIN) and per address (trying many accounts from one terminal)."""

    window: timedelta = timedelta(minutes=15)
    per_login: int = 5
    per_address: int = 30

    def refuses(self, login_failures: int, address_failures: int) -> bool:
        return login_failures >= self.per_login or address_failures >= self.per_address
