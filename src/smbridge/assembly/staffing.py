"""Admin of a store's people and devices: pickers and their shifts, Telegram chats, API tokens.

The CLI (``smbridge pickers/tokens/chats``) and the operations UI call the same functions;
the UI's versions are audited in the same transaction (accounts.service.audit).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from smbridge.accounts.service import audit
from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.assembly.service import token_hash
from smbridge.domain.admin import AdminRefused, bounded_text, required_reason
from smbridge.domain.picker import Picker
from smbridge.kernel.database.paging import keyset_page
from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import api_tokens, picker_shifts, pickers
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork
from smbridge.orders.repository import StoreRepository

PAGE = 50


@dataclass(frozen=True)
class ShiftLine:
    id: int
    picker_id: int
    picker_name: str
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class TokenLine:
    id: int
    store_id: int
    label: str
    created_at: datetime
    revoked_at: datetime | None


class StaffPages(SessionRepository):
    """The lists of the admin pages, by id pages (no counts)."""

    def shifts(self, store_id: int, before_id: int | None, limit: int = PAGE) -> list[ShiftLine]:
        """A store's shifts, newest first."""
        s = picker_shifts.c
        query = (
            select(s.id, s.picker_id, pickers.c.name, s.opened_at, s.closed_at)
            .join(pickers, pickers.c.id == s.picker_id)
            .where(s.store_id == store_id)
        )
        query = keyset_page(query, s.id, before_id, limit, newest_first=True)
        return [ShiftLine(*row) for row in self._session.execute(query)]

    def tokens(self, after_id: int | None, limit: int = PAGE) -> list[TokenLine]:
        t = api_tokens.c
        query = select(t.id, t.store_id, t.label, t.created_at, t.revoked_at)
        query = keyset_page(query, t.id, after_id, limit)
        return [TokenLine(*row) for row in self._session.execute(query)]


# --- pickers ------------------------------------------------------------------------------------


def add_picker_in(uow: UnitOfWork, store_id: int, name: str, chat: str | None) -> Picker:
    picker = Picker(store_id=store_id, name=name, telegram_chat_id=chat)
    uow.repo(PickerRepository).add(picker)
    return picker


def add_picker(
    db: Database, store_id: int, name: str, chat: str | None, *, user_id: int, now: datetime
) -> Picker:
    checked_name = bounded_text(name, "Имя", 200, required=True) or ""
    checked_chat = bounded_text(chat, "Чат Telegram", 64, required=False)
    with db.unit_of_work() as uow:
        if uow.repo(StoreRepository).get(store_id) is None:
            raise AdminRefused(404, "Магазин не найден.")
        picker = add_picker_in(uow, store_id, checked_name, checked_chat)
        audit(
            uow,
            user_id=user_id,
            action="picker.add",
            target=f"picker:{picker.id}",
            reason=f"сборщик «{checked_name}» в магазине {store_id}",
            now=now,
        )
        uow.commit()
    return picker


def deactivate_picker_in(uow: UnitOfWork, picker_id: int, now: datetime) -> Picker:
    """A picker who left is deactivated, never deleted (orders name who picked them): no
    longer listed for hand-overs, an open shift closed. The caller commits."""
    picker = uow.repo(PickerRepository).get(picker_id)
    if picker is None:
        raise AdminRefused(404, "Сборщик не найден.")
    if not picker.active:
        raise AdminRefused(409, "Сборщик уже отключён.")
    picker.active = False
    shift = uow.repo(PickerRepository).open_shift(picker_id)
    if shift is not None:
        shift.closed_at = now
    return picker


def deactivate_picker(
    db: Database, picker_id: int, *, user_id: int, reason: str | None, now: datetime
) -> None:
    """A picker who left: no longer listed for hand-overs; an open shift is closed."""
    why = required_reason(reason)
    with db.unit_of_work() as uow:
        deactivate_picker_in(uow, picker_id, now)
        audit(
            uow,
            user_id=user_id,
            action="picker.deactivate",
            target=f"picker:{picker_id}",
            reason=why,
            now=now,
        )
        uow.commit()


def pickers_of(db: Database, store_id: int) -> list[tuple[Picker, bool]]:
    """A store's pickers, each with whether a shift is open (a store has tens of pickers)."""
    with db.unit_of_work(read_only=True) as uow:
        repo = uow.repo(PickerRepository)
        found = [
            (picker, picker.id is not None and repo.open_shift(picker.id) is not None)
            for picker in repo.of_store(store_id)
        ]
        uow.session.expunge_all()  # read as they are: the transaction's end keeps them
        return found


# --- chats --------------------------------------------------------------------------------------


def set_chat_in(
    uow: UnitOfWork, chat: str | None, *, store_id: int | None, picker_id: int | None
) -> bool:
    """Point a store's or a picker's messages at a chat (None: no chat); False: none such."""
    target: Any = (
        uow.repo(StoreRepository).get(store_id)
        if store_id is not None
        else (uow.repo(PickerRepository).get(picker_id) if picker_id is not None else None)
    )
    if target is None:
        return False
    target.telegram_chat_id = chat
    return True


def set_chat(
    db: Database,
    chat: str | None,
    *,
    store_id: int | None = None,
    picker_id: int | None = None,
    user_id: int,
    now: datetime,
) -> None:
    checked = bounded_text(chat, "Чат Telegram", 64, required=False)
    if checked is not None and not _chat_id(checked):
        raise AdminRefused(422, "Чат Telegram — число (у групп со знаком минус) или @имя.")
    with db.unit_of_work() as uow:
        if not set_chat_in(uow, checked, store_id=store_id, picker_id=picker_id):
            raise AdminRefused(404, "Магазин или сборщик не найден.")
        whose = f"store:{store_id}" if store_id is not None else f"picker:{picker_id}"
        audit(
            uow,
            user_id=user_id,
            action="chat.set",
            target=whose,
            reason=f"чат {checked or '—'}",
            now=now,
        )
        uow.commit()


def _chat_id(text: str) -> bool:
    return text.lstrip("-").isdigit() or (text.startswith("@") and len(text) > 1)


# --- API tokens ---------------------------------------------------------------------------------


def issue_token_in(uow: UnitOfWork, store_id: int, label: str, now: datetime) -> tuple[int, str]:
    """A new token for a store's picking apps: (its id, the token). Only its hash is kept,
    so the token is shown once, now."""
    token = secrets.token_urlsafe(32)
    return uow.repo(ApiTokenRepository).add(store_id, token_hash(token), label, now), token


def issue_token(
    db: Database, store_id: int, label: str, *, user_id: int, now: datetime
) -> tuple[int, str]:
    checked = bounded_text(label, "Метка", 200, required=True) or ""
    with db.unit_of_work() as uow:
        if uow.repo(StoreRepository).get(store_id) is None:
            raise AdminRefused(404, "Магазин не найден.")
        token_id, token = issue_token_in(uow, store_id, checked, now)
        audit(
            uow,
            user_id=user_id,
            action="token.issue",
            target=f"token:{token_id}",
            reason=f"магазин {store_id}, «{checked}»",
            now=now,
        )
        uow.commit()
    return token_id, token


def revoke_token(
    db: Database, token_id: int, *, user_id: int, reason: str | None, now: datetime
) -> None:
    why = required_reason(reason)
    with db.unit_of_work() as uow:
        if not uow.repo(ApiTokenRepository).revoke(token_id, now):
            raise AdminRefused(404, "Нет такого действующего токена.")
        audit(
            uow,
            user_id=user_id,
            action="token.revoke",
            target=f"token:{token_id}",
            reason=why,
            now=now,
        )
        uow.commit()
