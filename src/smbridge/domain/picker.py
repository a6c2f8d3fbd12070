"""Pickers («сборщики») and their shifts in a store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(eq=False)
class Picker:
    store_id: int
    name: str
    telegram_chat_id: str | None = None
    active: bool = True
    id: int | None = None


@dataclass(eq=False)
class Shift:
    picker_id: int
    store_id: int
    opened_at: datetime
    closed_at: datetime | None = None
    id: int | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
