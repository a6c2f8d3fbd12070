"""Stores are data: SM's storeID mapped to our store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(eq=False)
class Store:
    sm_store_id: str
    name: str
    timezone: str = "Europe/Moscow"
    telegram_chat_id: str | None = None
    assembly_lead_minutes: int | None = None  # None: the global default
    import_key: str | None = None
    active: bool = True
    id: int | None = None
