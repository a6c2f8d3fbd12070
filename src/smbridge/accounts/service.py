"""The use cases of staff accounts: make one, sign in and out, know who is signed in, audit.

A session is a random token in an HttpOnly cookie; the database keeps only its SHA-256, so
a copy of the database signs nobody in. Each session has its own CSRF token, which every
form and htmx request of the UI must send back.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from smbridge.accounts.passwords import hash_password, verify
from smbridge.accounts.repository import (
    AuditLog,
    LoginFailures,
    StaffAccount,
    StaffAccounts,
    StaffSession,
    StaffSessions,
)
from smbridge.domain.staff import AccountError, Role, SessionTimes, Throttle, check_binding
from smbridge.kernel.database.errors import AlreadyExists
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork

#: A PIN typed with gloves is short; a password of the office is not.
MIN_SECRET = {Role.PICKER: 4}
MIN_PASSWORD = 10
LOGIN_MAX = 64
SECRET_MAX = 128  # argon2 takes any length: the bound keeps a huge body from costing CPU


class SignInRefused(Exception):
    """Wrong login or password (one answer for both), an inactive account, or throttled."""

    def __init__(self, *, throttled: bool) -> None:
        super().__init__("throttled" if throttled else "bad credentials")
        self.throttled = throttled


@dataclass(frozen=True)
class SignedIn:
    token: str  # the cookie's value: given to the browser once, never stored
    session: StaffSession


def normal_login(login: str) -> str:
    return login.strip().lower()


def create_account(
    db: Database,
    *,
    login: str,
    display_name: str,
    role: Role,
    password: str,
    now: datetime,
    store_id: int | None = None,
    picker_id: int | None = None,
) -> int:
    login = normal_login(login)
    if not 0 < len(login) <= LOGIN_MAX or not 0 < len(display_name) <= 200:
        raise AccountError("login is 1–64 characters, the name 1–200")
    if not MIN_SECRET.get(role, MIN_PASSWORD) <= len(password) <= SECRET_MAX:
        raise AccountError(
            f"a {role} password is {MIN_SECRET.get(role, MIN_PASSWORD)}–{SECRET_MAX} characters"
        )
    check_binding(role, store_id, picker_id)
    try:
        with db.unit_of_work() as uow:
            user_id = uow.repo(StaffAccounts).add(
                login=login,
                display_name=display_name,
                role=role,
                store_id=store_id,
                picker_id=picker_id,
                password_hash=hash_password(password),
                now=now,
            )
            uow.commit()
    except AlreadyExists:  # the unique login, translated as the transaction ends
        raise AccountError(f"login {login!r} is taken") from None
    return user_id


def sign_in(
    db: Database,
    *,
    login: str,
    password: str,
    address: str,
    now: datetime,
    times: SessionTimes,
    throttle: Throttle,
) -> SignedIn:
    """A new session, or ``SignInRefused``. A failure is recorded (for the throttle) whether
    or not the login exists; a success forgets the login's failures."""
    login = normal_login(login)[:LOGIN_MAX]
    address = address[:64]
    with db.unit_of_work() as uow:
        failures = uow.repo(LoginFailures)
        if throttle.refuses(*failures.counts(login, address, now - throttle.window)):
            raise SignInRefused(throttled=True)
        found = uow.repo(StaffAccounts).with_hash(login)
        account, password_hash = found if found is not None else (None, None)
        if (
            not verify(password[:SECRET_MAX], password_hash)
            or account is None
            or not account.active
        ):
            failures.add(login, address, now)
            uow.commit()
            raise SignInRefused(throttled=False)
        failures.forget(login)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = times.expiry(now, now)
        uow.repo(StaffSessions).add(
            token_sha256=_digest(token),
            user_id=account.id,
            csrf_token=csrf,
            now=now,
            expires=expires,
        )
        uow.commit()
    return SignedIn(token, StaffSession(account, csrf, now, now, expires))


def session_of(db: Database, token: str, now: datetime, times: SessionTimes) -> StaffSession | None:
    """The live session of a cookie, or None (unknown, expired, or its account deactivated).

    A read; once in ``times.touch_every`` it also moves the session's idle expiry on."""
    if not token or len(token) > 128:
        return None
    digest = _digest(token)
    with db.unit_of_work(read_only=True) as uow:
        session = uow.repo(StaffSessions).get(digest)
    if session is None or session.expires_at <= now or not session.account.active:
        return None
    if times.needs_touch(session.seen_at, now):
        expires = times.expiry(session.created_at, now)
        with db.unit_of_work() as uow:
            uow.repo(StaffSessions).touch(digest, now, expires)
            uow.commit()
    return session


def sign_out(db: Database, token: str) -> None:
    with db.unit_of_work() as uow:
        uow.repo(StaffSessions).remove(_digest(token))
        uow.commit()


def set_active(
    db: Database, *, admin: StaffAccount, user_id: int, active: bool, reason: str, now: datetime
) -> bool:
    """Enable or disable an account; disabling ends its sessions at once. Audited."""
    with db.unit_of_work() as uow:
        changed = uow.repo(StaffAccounts).set_active(user_id, active=active)
        if not active:
            uow.repo(StaffSessions).remove_of_user(user_id)
        audit(
            uow,
            user_id=admin.id,
            action="staff.enable" if active else "staff.disable",
            target=f"staff_user:{user_id}",
            reason=reason,
            now=now,
        )
        uow.commit()
    return changed


def audit(
    uow: UnitOfWork, *, user_id: int, action: str, target: str, reason: str, now: datetime
) -> None:
    """One audit row in the caller's transaction: the action and its record commit together."""
    uow.repo(AuditLog).add(
        user_id=user_id, action=action[:64], target=target[:200], reason=reason, now=now
    )


@dataclass(frozen=True)
class AuditNote:
    """An audit row for a use case to write in its own transaction, when the caller's is
    not the one that changes (the store workstation's calls of the assembly API)."""

    user_id: int
    action: str
    target: str
    reason: str

    def write(self, uow: UnitOfWork, now: datetime) -> None:
        audit(
            uow,
            user_id=self.user_id,
            action=self.action,
            target=self.target,
            reason=self.reason,
            now=now,
        )


def purge_sign_ins(db: Database, now: datetime, throttle: Throttle) -> tuple[int, int]:
    """Delete expired sessions and failures older than the throttle's window."""
    with db.unit_of_work() as uow:
        sessions = uow.repo(StaffSessions).purge(now)
        failures = uow.repo(LoginFailures).purge(now - throttle.window)
        uow.commit()
    return sessions, failures


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
