"""Stores: SM's storeID mapped to ours. Mapping one adopts the orders that waited for it,
in the same transaction (the CLI's ``stores create/update/activate`` and the operations UI
call this). A store is never deleted (its orders and documents name it): it is deactivated,
and its new orders then wait as for an unmapped store."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from zoneinfo import available_timezones

from smbridge.accounts.service import audit
from smbridge.domain.admin import AdminRefused, bounded_text
from smbridge.domain.store import Store
from smbridge.intake.acceptance import adopt_waiting
from smbridge.intake.service import IntakePolicy
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork
from smbridge.orders.repository import StoreRepository


@dataclass(frozen=True)
class StoreForm:
    sm_store_id: str
    name: str
    timezone: str = "Europe/Moscow"
    telegram_chat_id: str | None = None
    assembly_lead_minutes: int | None = None
    import_key: str | None = None

    def checked(self) -> StoreForm:
        """The same values trimmed and within bounds (String columns, a real time zone)."""
        sm_id = bounded_text(self.sm_store_id, "storeID СберМаркета", 64, required=True)
        name = bounded_text(self.name, "Название", 200, required=True)
        zone = bounded_text(self.timezone, "Часовой пояс", 64, required=True)
        if zone not in time_zones():
            raise AdminRefused(
                422,
                f"Неизвестный часовой пояс «{zone}»: нужно имя из базы tz, например Europe/Moscow.",
            )
        lead = self.assembly_lead_minutes
        if lead is not None and not 1 <= lead <= 24 * 60:
            raise AdminRefused(422, "Время сборки: от 1 до 1440 минут.")
        return StoreForm(
            sm_id or "",
            name or "",
            zone or "",
            bounded_text(self.telegram_chat_id, "Чат Telegram", 64, required=False),
            lead,
            bounded_text(self.import_key, "storeImportKey", 64, required=False),
        )


@dataclass(frozen=True)
class StoreChanges:
    """What ``stores update`` changes; None leaves a value as it is, "" (0 for the lead time)
    clears it back to none (the global default)."""

    name: str | None = None
    timezone: str | None = None
    telegram_chat_id: str | None = None
    assembly_lead_minutes: int | None = None
    import_key: str | None = None


@cache
def time_zones() -> frozenset[str]:
    """The tz database's zone names (the system's, or the tzdata package's)."""
    return frozenset(available_timezones())


def create_store_in(
    uow: UnitOfWork, form: StoreForm, policy: IntakePolicy, now: datetime
) -> tuple[Store, int]:
    """A new store (refused if the SM storeID is mapped already: update it instead)."""
    checked = form.checked()
    if uow.repo(StoreRepository).by_sm_id(checked.sm_store_id) is not None:
        raise AdminRefused(
            409, f"Магазин со storeID {checked.sm_store_id} уже есть: измените его (update)."
        )
    return save_store_in(uow, checked, policy, now)


def update_store_in(uow: UnitOfWork, sm_store_id: str, changes: StoreChanges) -> Store:
    """Change only the values given; the others stay as they are. The caller commits."""
    store = uow.repo(StoreRepository).by_sm_id(sm_store_id)
    if store is None:
        raise AdminRefused(404, f"Магазина со storeID {sm_store_id} нет.")
    current = StoreForm(
        store.sm_store_id,
        store.name,
        store.timezone,
        store.telegram_chat_id,
        store.assembly_lead_minutes,
        store.import_key,
    )
    given = {k: v for k, v in vars(changes).items() if v is not None}
    if given.get("assembly_lead_minutes") == 0:
        given["assembly_lead_minutes"] = None
    checked = replace(current, **given).checked()  # the two name their fields alike
    store.name, store.timezone = checked.name, checked.timezone
    store.telegram_chat_id, store.import_key = checked.telegram_chat_id, checked.import_key
    store.assembly_lead_minutes = checked.assembly_lead_minutes
    return store


def set_store_active_in(
    uow: UnitOfWork, sm_store_id: str, policy: IntakePolicy, now: datetime, *, active: bool
) -> tuple[Store, int]:
    """Deactivate a store (its new orders wait as unmapped, its tokens stop working) or
    activate it again (adopting the orders that waited). The caller commits."""
    store = uow.repo(StoreRepository).by_sm_id(sm_store_id)
    if store is None:
        raise AdminRefused(404, f"Магазина со storeID {sm_store_id} нет.")
    if store.active == active:
        raise AdminRefused(409, "Магазин уже " + ("активен." if active else "отключён."))
    store.active = active
    uow.session.flush()
    return store, adopt_waiting(uow, policy, now) if active else 0


def save_store_in(
    uow: UnitOfWork, form: StoreForm, policy: IntakePolicy, now: datetime
) -> tuple[Store, int]:
    """Add a store, or update the one with this SM storeID; returns it and how many waiting
    orders it adopted. The caller commits."""
    store = uow.repo(StoreRepository).by_sm_id(form.sm_store_id)
    if store is None:
        store = Store(sm_store_id=form.sm_store_id, name=form.name)
    store.name, store.timezone, store.telegram_chat_id = (
        form.name,
        form.timezone,
        form.telegram_chat_id,
    )
    store.assembly_lead_minutes, store.import_key = form.assembly_lead_minutes, form.import_key
    uow.repo(StoreRepository).add(store)
    # In the same transaction: the orders SM sent before the store was mapped.
    return store, adopt_waiting(uow, policy, now)


def save_store(
    db: Database,
    form: StoreForm,
    policy: IntakePolicy,
    *,
    user_id: int,
    reason: str | None,
    now: datetime,
) -> tuple[Store, int]:
    checked = form.checked()
    with db.unit_of_work() as uow:
        store, adopted = save_store_in(uow, checked, policy, now)
        audit(
            uow,
            user_id=user_id,
            action="store.save",
            target=f"store:{checked.sm_store_id}",
            reason=(reason or "").strip()[:1000] or f"магазин «{checked.name}»",
            now=now,
        )
        uow.commit()
    return store, adopted


def stores(db: Database) -> list[Store]:
    """Every store (a retailer has tens, not thousands)."""
    with db.unit_of_work(read_only=True) as uow:
        found = list(uow.repo(StoreRepository).all())
        uow.session.expunge_all()  # read as they are: the transaction's end keeps them
        return found
