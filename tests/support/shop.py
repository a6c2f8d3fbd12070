"""A store with an API token, one picker and one new order: the stage of assembly tests.

Works on any ``Database``: the fakes (tests/unit/use_cases) and the real databases
(tests/integration/test_statement_counts.py).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from smbridge.assembly.methods import METHODS
from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.assembly.service import AssemblyPolicy, Call, execute, token_hash
from smbridge.domain.picker import Picker
from smbridge.domain.store import Store
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.unit_of_work import Database
from tests.factories import TOKEN, add_store, envelope, order_payload
from tests.support.clock import FrozenClock

StageDatabase = TypeVar("StageDatabase", bound=Database)

NUMBER = "SM00000001"  # the first order's number
PICK_ALL: tuple[dict[str, Any], ...] = (
    {"orderNumber": NUMBER, "lineNo": 1, "quantity": "2"},
    {"orderNumber": NUMBER, "lineNo": 2, "quantity": "1", "weightGrams": "1310"},
)


class Shop(Generic[StageDatabase]):
    """A store with an API token, one picker and one new order."""

    def __init__(self, db: StageDatabase, clock: FrozenClock) -> None:
        self.db, self.clock = db, clock
        self.store = add_store(db)
        self.picker = Picker(store_id=store_id(self.store), name="Анна")
        with db.unit_of_work() as uow:
            uow.repo(PickerRepository).add(self.picker)
            self.token_id = uow.repo(ApiTokenRepository).add(
                store_id(self.store), token_hash(TOKEN), "test", clock()
            )
            uow.commit()
        body = envelope("order.created", order_payload())
        ingest_webhook(db, parse_webhook(body), IntakePolicy(), clock)

    def call(
        self, method: str, request_id: str | None = None, token: str = TOKEN, **data: Any
    ) -> dict[str, Any]:
        """The method's result; an ``AssemblyRefused`` when it is refused."""
        spec = METHODS[method]
        call = Call(token, spec, request_id, spec.request.model_validate(data))
        return execute(self.db, call, AssemblyPolicy(), self.clock).result

    def take(self, request_id: str | None = None) -> dict[str, Any]:
        return self.call("takeOrder", request_id, orderNumber=NUMBER, pickerId=self.picker.id)

    def on_shift(self) -> Shop[StageDatabase]:
        self.call("openShift", pickerId=self.picker.id)
        return self


def store_id(store: Store) -> int:
    assert store.id is not None
    return store.id
