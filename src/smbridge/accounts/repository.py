"""Staff accounts, sessions, failed sign-ins and the audit log, in SQL (Core: small rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from smbridge.domain.staff import Role
from smbridge.kernel.database.paging import keyset_page
from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import audit_log, login_failures, staff_sessions, staff_users


@dataclass(frozen=True)
class StaffAccount:
    id: int
    login: str
    display_name: str
    role: Role
    store_id: int | None
    picker_id: int | None
    active: bool


@dataclass(frozen=True)
class StaffSession:
    account: StaffAccount
    csrf_token: str
    created_at: datetime
    seen_at: datetime
    expires_at: datetime


_ACCOUNT_COLUMNS = (
    staff_users.c.id,
    staff_users.c.login,
    staff_users.c.display_name,
    staff_users.c.role,
    staff_users.c.store_id,
    staff_users.c.picker_id,
    staff_users.c.active,
)


def _account(row: Any) -> StaffAccount:
    return StaffAccount(
        row.id, row.login, row.display_name, Role(row.role), row.store_id, row.picker_id, row.active
    )


class StaffAccounts(SessionRepository):
    def add(
        self,
        *,
        login: str,
        display_name: str,
        role: Role,
        store_id: int | None,
        picker_id: int | None,
        password_hash: str,
        now: datetime,
    ) -> int:
        statement = insert(staff_users).values(
            login=login,
            display_name=display_name,
            role=role.value,
            store_id=store_id,
            picker_id=picker_id,
            password_hash=password_hash,
            active=True,
            created_at=now,
        )
        return int(self._session.execute(statement.returning(staff_users.c.id)).scalar_one())

    def with_hash(self, login: str) -> tuple[StaffAccount, str] | None:
        row = self._session.execute(
            select(*_ACCOUNT_COLUMNS, staff_users.c.password_hash).where(
                staff_users.c.login == login
            )
        ).one_or_none()
        return None if row is None else (_account(row), row.password_hash)

    def of_picker(self, picker_id: int) -> StaffAccount | None:
        row = self._session.execute(
            select(*_ACCOUNT_COLUMNS).where(staff_users.c.picker_id == picker_id)
        ).first()
        return None if row is None else _account(row)

    def page(self, after_id: int, limit: int) -> list[StaffAccount]:
        query = keyset_page(select(*_ACCOUNT_COLUMNS), staff_users.c.id, after_id, limit)
        rows = self._session.execute(query)
        return [_account(row) for row in rows]

    def set_password(self, user_id: int, password_hash: str) -> None:
        self._session.execute(
            update(staff_users)
            .where(staff_users.c.id == user_id)
            .values(password_hash=password_hash)
        )

    def set_active(self, user_id: int, *, active: bool) -> bool:
        result = self._session.execute(
            update(staff_users).where(staff_users.c.id == user_id).values(active=active)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class StaffSessions(SessionRepository):
    def add(
        self, *, token_sha256: str, user_id: int, csrf_token: str, now: datetime, expires: datetime
    ) -> None:
        self._session.execute(
            insert(staff_sessions).values(
                token_sha256=token_sha256,
                user_id=user_id,
                csrf_token=csrf_token,
                created_at=now,
                seen_at=now,
                expires_at=expires,
            )
        )

    def get(self, token_sha256: str) -> StaffSession | None:
        row = self._session.execute(
            select(
                *_ACCOUNT_COLUMNS,
                staff_sessions.c.csrf_token,
                staff_sessions.c.created_at,
                staff_sessions.c.seen_at,
                staff_sessions.c.expires_at,
            )
            .join(staff_users, staff_users.c.id == staff_sessions.c.user_id)
            .where(staff_sessions.c.token_sha256 == token_sha256)
        ).one_or_none()
        if row is None:
            return None
        return StaffSession(
            _account(row), row.csrf_token, row.created_at, row.seen_at, row.expires_at
        )

    def touch(self, token_sha256: str, now: datetime, expires: datetime) -> None:
        self._session.execute(
            update(staff_sessions)
            .where(staff_sessions.c.token_sha256 == token_sha256)
            .values(seen_at=now, expires_at=expires)
        )

    def remove(self, token_sha256: str) -> None:
        self._session.execute(
            delete(staff_sessions).where(staff_sessions.c.token_sha256 == token_sha256)
        )

    def remove_of_user(self, user_id: int) -> None:
        self._session.execute(delete(staff_sessions).where(staff_sessions.c.user_id == user_id))

    def purge(self, now: datetime) -> int:
        result = self._session.execute(
            delete(staff_sessions).where(staff_sessions.c.expires_at <= now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


class LoginFailures(SessionRepository):
    def add(self, login: str, address: str, now: datetime) -> None:
        self._session.execute(insert(login_failures).values(login=login, address=address, at=now))

    def counts(self, login: str, address: str, since: datetime) -> tuple[int, int]:
        recent = login_failures.c.at > since
        by_login = select(func.count()).where(login_failures.c.login == login, recent)
        by_address = select(func.count()).where(login_failures.c.address == address, recent)
        row = self._session.execute(
            select(by_login.scalar_subquery(), by_address.scalar_subquery())
        ).one()
        return int(row[0]), int(row[1])

    def forget(self, login: str) -> None:
        self._session.execute(delete(login_failures).where(login_failures.c.login == login))

    def purge(self, before: datetime) -> int:
        result = self._session.execute(delete(login_failures).where(login_failures.c.at < before))
        return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    user_login: str
    action: str
    target: str
    reason: str


class AuditLog(SessionRepository):
    def add(self, *, user_id: int, action: str, target: str, reason: str, now: datetime) -> None:
        self._session.execute(
            insert(audit_log).values(
                at=now, user_id=user_id, action=action, target=target, reason=reason
            )
        )

    def page(self, before_id: int | None, limit: int) -> list[AuditEntry]:
        """The newest entries first, ``limit`` of them older than ``before_id`` (keyset)."""
        statement = select(
            audit_log.c.id,
            audit_log.c.at,
            staff_users.c.login,
            audit_log.c.action,
            audit_log.c.target,
            audit_log.c.reason,
        ).join(staff_users, staff_users.c.id == audit_log.c.user_id)
        statement = keyset_page(statement, audit_log.c.id, before_id, limit, newest_first=True)
        return [AuditEntry(*row) for row in self._session.execute(statement)]
