"""In-memory stand-ins for the database, for fast tests of use cases (no SQL, no HTTP).

``FakeDatabase`` and ``FakeUnitOfWork`` subclass the real ``Database`` and ``UnitOfWork``,
and each fake repository subclasses the real repository it replaces, overriding the methods
the use cases call. So a use case takes the fakes unchanged and mypy checks every override
against the real signature; ``uow.repo(OrderRepository)`` hands out a ``FakeOrders``.

Commit semantics are honest, not merely convenient: a unit of work works on its own deep
copy of the committed tables, and only ``commit`` makes its copy the committed state. What a
unit of work changed without committing is gone when it ends (or on ``rollback``), exactly
as a transaction that was rolled back. Post-commit hooks run after a commit, never after a
rollback. A method of a real repository that no fake overrides fails loudly (the fake has
no session), so a use case cannot silently reach past the fakes.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from smbridge.assembly.cards import BoardLine, CardPosition, CardState, card_of, summary_of
from smbridge.assembly.repository import (
    ApiTokenRepository,
    AssemblyOrders,
    IdempotencyKeys,
    OrderCards,
    PickerRepository,
    StoredAnswer,
)
from smbridge.domain.notification import DeliveryState, Notification
from smbridge.domain.order import NewOrder, Order
from smbridge.domain.pick import PickRecord
from smbridge.domain.picker import Picker, Shift
from smbridge.domain.pickup import CODE_IN_USE
from smbridge.domain.sales import SalesDocument
from smbridge.domain.status import ACTIVE, OrderStatus
from smbridge.domain.store import Store
from smbridge.domain.telegram import MessageStatus, OutgoingMessage
from smbridge.domain.webhook import JournalEntry, JournalStatus
from smbridge.intake.repository import JournalRepository
from smbridge.kernel.database.errors import AlreadyExists, WriteConflict
from smbridge.kernel.database.unit_of_work import (
    Database,
    Repository,
    RepositoryT,
    UnitOfWork,
)
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.orders.repository import OrderRepository, StoreRepository
from smbridge.sales.repository import SalesDocuments
from smbridge.telegram.outbox import TelegramOutbox

# --- the tables ------------------------------------------------------------------------------


@dataclass
class ApiToken:
    """A row of api_tokens: only the token's SHA-256 is kept, as in the real table."""

    id: int
    store_id: int
    token_sha256: str
    label: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass
class KeptAnswer:
    """A row of idempotency_keys."""

    store_id: int
    request_id: str
    answer: StoredAnswer
    created_at: datetime


@dataclass
class Tables:
    """What one database holds, as plain lists of domain objects (rows in id order)."""

    stores: list[Store] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    pickers: list[Picker] = field(default_factory=list)
    shifts: list[Shift] = field(default_factory=list)
    api_tokens: list[ApiToken] = field(default_factory=list)
    idempotency_keys: list[KeptAnswer] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    telegram_outbox: list[OutgoingMessage] = field(default_factory=list)
    journal: list[JournalEntry] = field(default_factory=list)
    sales_documents: list[SalesDocument] = field(default_factory=list)
    #: The last id each table gave out; one sequence per table, as the real ones
    #: (our order number is made from the order's id).
    last_ids: Counter[str] = field(default_factory=Counter)

    def next_id(self, table: str) -> int:
        self.last_ids[table] += 1
        return self.last_ids[table]


def _duplicate(table: str, key: object) -> AlreadyExists:
    """What the unit of work makes of the real table's unique constraint."""
    return AlreadyExists(f"{table}: duplicate key {key!r}")


# --- the repositories ------------------------------------------------------------------------
# Each takes the unit of work's tables instead of a session, and never calls the real
# __init__: a real method the fake does not override finds no ``_session`` and fails.


class FakeStores(StoreRepository):
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def by_sm_id(self, sm_store_id: str) -> Store | None:
        return next((s for s in self._tables.stores if s.sm_store_id == sm_store_id), None)

    def get(self, store_id: int) -> Store | None:
        return next((s for s in self._tables.stores if s.id == store_id), None)

    def by_import_key(self, import_key: str) -> Store | None:
        return next((s for s in self._tables.stores if s.import_key == import_key), None)

    def all(self) -> Sequence[Store]:
        return list(self._tables.stores)

    def add(self, store: Store) -> None:
        if self.by_sm_id(store.sm_store_id) is not None:
            raise _duplicate("stores", store.sm_store_id)
        store.id = self._tables.next_id("stores")
        self._tables.stores.append(store)


class FakeOrders(OrderRepository):
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def by_sm_id(self, sm_order_id: str, *, for_update: bool = False) -> Order | None:
        return next((o for o in self._tables.orders if o.sm_order_id == sm_order_id), None)

    def get(self, order_id: int, *, for_update: bool = False) -> Order | None:
        return next((o for o in self._tables.orders if o.id == order_id), None)

    def awaiting_store(self, *, for_update: bool = False) -> Sequence[Order]:
        return [
            o for o in self._tables.orders if o.store_id is None and o.status is OrderStatus.NEW
        ]

    def by_number(self, store_id: int, number: str, *, for_update: bool = False) -> Order | None:
        return next(
            (o for o in self._tables.orders if o.store_id == store_id and o.number == number), None
        )

    def by_ids(self, order_ids: list[int]) -> Sequence[Order]:
        return [o for o in self._tables.orders if o.id in order_ids]

    def active_for_store(self, store_id: int) -> Sequence[Order]:
        active = [o for o in self._tables.orders if o.store_id == store_id and o.status in ACTIVE]
        return sorted(active, key=lambda o: (o.expected_assembly_at, o.id or 0))

    def handout_codes_in_use(self, store_id: int) -> set[str]:
        return {
            o.handout_code
            for o in self._tables.orders
            if o.store_id == store_id and o.status in CODE_IN_USE and o.handout_code is not None
        }

    def save_handout_code(self) -> None:
        codes = Counter(
            (o.store_id, o.handout_code)
            for o in self._tables.orders
            if o.status in CODE_IN_USE and o.handout_code is not None
        )
        if any(count > 1 for count in codes.values()):
            raise WriteConflict("handout code taken concurrently")

    def add(self, order: Order) -> None:
        if self.by_sm_id(order.sm_order_id) is not None:
            raise _duplicate("orders", order.sm_order_id)
        order.id = self._tables.next_id("orders")
        self._tables.orders.append(order)

    def insert_new(self, new: NewOrder, number_prefix: str) -> int | None:
        if self.by_sm_id(new.sm_order_id) is not None:
            return None
        new.id = self._tables.next_id("orders")
        new.number = f"{number_prefix}{new.id:08d}"
        self._tables.orders.append(Order.of_new(new))
        return new.id


class FakeOrderCards(OrderCards):
    """The cards of the fake's orders; the writes change the stored ``Order`` as the real
    statements change its row."""

    def __init__(self, tables: Tables) -> None:
        self._orders = FakeOrders(tables)

    def card(self, store_id: int, number: str, *, for_update: bool) -> CardState | None:
        order = self._orders.by_number(store_id, number)
        return None if order is None else card_of(order)

    def take(self, card: CardState, picker_id: int, now: datetime) -> CardState:
        order = self._order(card)
        order.status, order.picker_id = OrderStatus.IN_ASSEMBLY, picker_id
        order.taken_at = order.updated_at = now
        return card_of(order)

    def record_pick(
        self, card: CardState, position: CardPosition, pick: PickRecord, now: datetime
    ) -> CardState:
        order = self._order(card)
        next(p for p in order.positions if p.line_no == position.line_no).pick = pick
        order.updated_at = now
        return card_of(order)

    def _order(self, card: CardState) -> Order:
        order = self._orders.get(card.id)
        assert order is not None
        return order


class FakeAssemblyOrders(AssemblyOrders):
    def __init__(self, tables: Tables) -> None:
        self._orders = FakeOrders(tables)

    def board(self, store_id: int) -> list[BoardLine]:
        return [summary_of(o) for o in self._orders.active_for_store(store_id)]


class FakePickers(PickerRepository):
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def get(self, picker_id: int) -> Picker | None:
        return next((p for p in self._tables.pickers if p.id == picker_id), None)

    def add(self, picker: Picker) -> None:
        picker.id = self._tables.next_id("pickers")
        self._tables.pickers.append(picker)

    def of_store(self, store_id: int) -> Sequence[Picker]:
        return [p for p in self._tables.pickers if p.store_id == store_id]

    def open_shift(self, picker_id: int) -> Shift | None:
        return next(
            (s for s in self._tables.shifts if s.picker_id == picker_id and s.is_open), None
        )

    def with_open_shift(self, picker_id: int) -> tuple[Picker | None, int | None]:
        picker = self.get(picker_id)
        shift = self.open_shift(picker_id) if picker is not None else None
        return picker, shift.store_id if shift is not None else None

    def add_shift(self, shift: Shift) -> None:
        shift.id = self._tables.next_id("picker_shifts")
        self._tables.shifts.append(shift)


class FakeTokens(ApiTokenRepository):
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def store_of(self, token_sha256: str) -> int | None:
        active_stores = {s.id for s in self._tables.stores if s.active}
        return next(
            (
                t.store_id
                for t in self._tables.api_tokens
                if t.token_sha256 == token_sha256
                and t.revoked_at is None
                and t.store_id in active_stores
            ),
            None,
        )

    def store_and_answer(
        self, token_sha256: str, request_id: str
    ) -> tuple[int | None, StoredAnswer | None]:
        store_id = self.store_of(token_sha256)
        if store_id is None:
            return None, None
        return store_id, FakeIdempotencyKeys(self._tables).get(store_id, request_id)

    def add(self, store_id: int, token_sha256: str, label: str, now: datetime) -> int:
        token_id = self._tables.next_id("api_tokens")
        self._tables.api_tokens.append(ApiToken(token_id, store_id, token_sha256, label, now))
        return token_id

    def revoke(self, token_id: int, now: datetime) -> bool:
        return self._revoke([t for t in self._tables.api_tokens if t.id == token_id], now) > 0

    def revoke_labelled(self, store_id: int, label: str, now: datetime) -> int:
        tokens = self._tables.api_tokens
        return self._revoke([t for t in tokens if t.store_id == store_id and t.label == label], now)

    @staticmethod
    def _revoke(tokens: list[ApiToken], now: datetime) -> int:
        live = [t for t in tokens if t.revoked_at is None]
        for token in live:
            token.revoked_at = now
        return len(live)


class FakeIdempotencyKeys(IdempotencyKeys):
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def get(self, store_id: int, request_id: str) -> StoredAnswer | None:
        kept = self._find(store_id, request_id)
        return None if kept is None else kept.answer

    def purge(self, created_before: datetime) -> int:
        keys = self._tables.idempotency_keys
        kept = [k for k in keys if k.created_at >= created_before]
        removed, keys[:] = len(keys) - len(kept), kept
        return removed

    def add(self, store_id: int, request_id: str, answer: StoredAnswer, now: datetime) -> None:
        if self._find(store_id, request_id) is not None:
            raise _duplicate("idempotency_keys", (store_id, request_id))
        self._tables.idempotency_keys.append(KeptAnswer(store_id, request_id, answer, now))

    def _find(self, store_id: int, request_id: str) -> KeptAnswer | None:
        return next(
            (
                k
                for k in self._tables.idempotency_keys
                if k.store_id == store_id and k.request_id == request_id
            ),
            None,
        )


class FakeNotificationOutbox(NotificationOutbox):
    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._queued = []

    def add(self, notification: Notification) -> None:
        notification.id = self._tables.next_id("sm_notifications")
        self._tables.notifications.append(notification)
        self._queued.append((None, notification.order_id))

    def insert(
        self,
        order_id: int,
        sm_order_id: str,
        kind: str,
        payload: dict[str, Any],
        created_at: datetime,
    ) -> None:
        self.add(Notification(order_id, sm_order_id, kind, payload, created_at))

    def get(self, notification_id: int) -> Notification | None:
        return next((n for n in self._tables.notifications if n.id == notification_id), None)

    def for_order(self, order_id: int) -> Sequence[Notification]:
        return [n for n in self._tables.notifications if n.order_id == order_id]

    def with_state(self, state: DeliveryState, limit: int) -> Sequence[Notification]:
        return [n for n in self._tables.notifications if n.state == state][:limit]

    def supersede_pending(self, order_id: int, reason: str) -> int:
        pending = [
            n
            for n in self.for_order(order_id)
            if n.state == DeliveryState.PENDING  # StrEnum: a raw string compares equal
        ]
        for notification in pending:
            notification.state, notification.last_error = DeliveryState.SUPERSEDED, reason
        return len(pending)


class FakeTelegramOutbox(TelegramOutbox):
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def add(self, message: OutgoingMessage) -> None:
        message.id = self._tables.next_id("telegram_outbox")
        self._tables.telegram_outbox.append(message)

    def get(self, message_id: int) -> OutgoingMessage | None:
        return next((m for m in self._tables.telegram_outbox if m.id == message_id), None)

    def queued(self, limit: int) -> Sequence[OutgoingMessage]:
        queue = self._tables.telegram_outbox
        return [m for m in queue if m.status == MessageStatus.QUEUED][:limit]


class FakeJournal(JournalRepository):
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def by_key(self, event_key: str) -> JournalEntry | None:
        return next((e for e in self._tables.journal if e.event_key == event_key), None)

    def get(self, entry_id: int) -> JournalEntry | None:
        return next((e for e in self._tables.journal if e.id == entry_id), None)

    def add(self, entry: JournalEntry) -> None:
        if self.by_key(entry.event_key) is not None:
            raise _duplicate("webhook_journal", entry.event_key)
        entry.id = self._tables.next_id("webhook_journal")
        self._tables.journal.append(entry)

    def insert(self, entry: JournalEntry) -> None:
        self.add(entry)

    def parked_for(self, sm_order_id: str) -> Sequence[JournalEntry]:
        return [
            e
            for e in self._tables.journal
            if e.sm_order_id == sm_order_id and e.status == JournalStatus.PARKED
        ]

    def with_status(self, status: JournalStatus, limit: int) -> Sequence[JournalEntry]:
        return [e for e in self._tables.journal if e.status == status][:limit]


class FakeSalesDocuments(SalesDocuments):
    """The sales job's writes; ``number`` and ``order_id`` are unique, as in the real table."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def add(self, document: SalesDocument) -> None:
        self.add_batch([document])

    def add_batch(self, documents: list[SalesDocument]) -> None:
        kept = self._tables.sales_documents
        for document in documents:
            for key in ("number", "order_id"):
                value = getattr(document, key)
                if any(getattr(other, key) == value for other in kept):
                    raise _duplicate("sales_documents", value)
            document.id = self._tables.next_id("sales_documents")
            kept.append(document)

    def link_orders(self, documents: list[SalesDocument]) -> None:
        for document in documents:
            order = next(o for o in self._tables.orders if o.id == document.order_id)
            order.sales_document_id = document.id

    def orders_without_document(self, limit: int) -> list[int]:
        ids = [
            o.id
            for o in self._tables.orders
            if o.status is OrderStatus.DELIVERED and o.sales_document_id is None and o.id
        ]
        return sorted(ids)[:limit]

    def by_order(self, order_id: int) -> SalesDocument | None:
        return next((d for d in self._tables.sales_documents if d.order_id == order_id), None)


#: The fake that stands in for each real repository.
FAKES: dict[type[Repository], Callable[[Tables], Repository]] = {
    StoreRepository: FakeStores,
    OrderRepository: FakeOrders,
    AssemblyOrders: FakeAssemblyOrders,
    OrderCards: FakeOrderCards,
    PickerRepository: FakePickers,
    ApiTokenRepository: FakeTokens,
    IdempotencyKeys: FakeIdempotencyKeys,
    NotificationOutbox: FakeNotificationOutbox,
    TelegramOutbox: FakeTelegramOutbox,
    JournalRepository: FakeJournal,
    SalesDocuments: FakeSalesDocuments,
}


# --- the database and its unit of work -------------------------------------------------------


class _Committed:
    """The committed tables, in a box that every copy of a FakeDatabase shares (copies made
    by ``with_commit_listener`` must see one another's commits, as on one real database)."""

    def __init__(self) -> None:
        self.tables = Tables()


class FakeDatabase(Database):
    """A database in memory: no engine, no sessions, no write lock."""

    def __init__(self) -> None:  # the real one maps the domain and wants an engine: neither
        self._committed = _Committed()
        self.write_lock = None
        self.commit_listeners = ()

    @property
    def committed(self) -> Tables:
        """What the last commit left, for a test to look at (and not to change)."""
        return self._committed.tables

    def unit_of_work(self, *, read_only: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self, read_only=read_only)

    def dispose(self) -> None:
        pass

    def _commit(self, tables: Tables) -> None:
        # A copy again: objects the unit of work still holds must not reach into the
        # committed state when it goes on changing them.
        self._committed.tables = copy.deepcopy(tables)


class FakeUnitOfWork(UnitOfWork):
    """A transaction on a private copy of the committed tables; ``commit`` publishes it."""

    def __init__(self, database: FakeDatabase, *, read_only: bool = False) -> None:
        self._fake_database = database
        self._read_only = read_only
        #: The order keys this transaction locked (``lock_order_key``), in order.
        self.locked_keys: list[str] = []

    def __enter__(self) -> Self:
        self._start()
        self._after_commit: list[Callable[[], None]] = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Nothing to undo: what was not committed lives only in this unit of work's copy.
        # The objects it handed out stay readable, as the real ones (expire_on_commit=False).
        self._after_commit = []

    def _start(self) -> None:
        self._tables = copy.deepcopy(self._fake_database.committed)
        self._repositories: dict[type[Repository], Repository] = {}

    def repo(self, kind: type[RepositoryT]) -> RepositoryT:
        found = self._repositories.get(kind)
        if found is None:
            fake = FAKES.get(kind)
            if fake is None:
                raise LookupError(f"no fake stands in for {kind.__name__} (tests/support/fakes.py)")
            found = self._repositories[kind] = fake(self._tables)
        return found  # type: ignore[return-value]  # FAKES maps each real class to its subclass

    def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work must not commit")
        self._fake_database._commit(self._tables)
        # Unlike the real unit of work, a failing hook is not logged away: it fails the test.
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            hook()
        for listener in self._fake_database.commit_listeners:
            listener(self)

    def rollback(self) -> None:
        self._start()
        self._after_commit.clear()

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    def lock_order_key(self, key: str) -> None:
        self.locked_keys.append(key)  # one process, one transaction at a time: nothing to wait
