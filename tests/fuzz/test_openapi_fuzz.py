"""Schemathesis, in-process, against both services' OpenAPI documents on both databases.

Cases come from the documents (valid ones, and ones that break them on purpose); some get
the ids of real orders, pickers and stores so the calls reach the use cases, not only the
validation. The rule: zero 5xx, every 4xx a JSON error body, no webhook kept as failed.
The runs are derandomized and bounded by max_examples, so CI sees the same cases each time.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis import GenerationMode

from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.assembly.service import token_hash
from smbridge.domain.picker import Picker
from smbridge.domain.webhook import EventType
from smbridge.entrypoints.assembly_app import create_assembly_app
from smbridge.entrypoints.hook_app import create_hook_app
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings
from tests.factories import add_store, envelope, order_payload
from tests.fuzz.rules import check_answer, failed_from_input, fuzz_settings, report
from tests.support.clock import FROZEN_NOW, FrozenClock

pytestmark = pytest.mark.fuzz
EXAMPLES = 400  # per service and database: about 10 s each on this machine
FUZZ = fuzz_settings(EXAMPLES)


def cases(app: Any) -> st.SearchStrategy[schemathesis.Case[Any]]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return st.one_of(
        schema.as_strategy(GenerationMode.POSITIVE), schema.as_strategy(GenerationMode.NEGATIVE)
    )


def send(case: schemathesis.Case[Any], headers: dict[str, str], statuses: Counter[int]) -> None:
    response = case.call(headers=headers)
    statuses[response.status_code] += 1
    content_type = response.headers.get("content-type", [""])[0]
    check_answer(response.status_code, content_type, response.content, case.operation.label)


def with_real_ids(body: object, draw: Any, real: dict[str, list[Any]]) -> None:
    """Now and then a generated id becomes a real one (of either store), in place."""
    data = body.get("requestData") if isinstance(body, dict) else None
    if isinstance(data, dict):
        for field, values in real.items():
            if field in data and draw(st.booleans()):
                data[field] = draw(st.sampled_from(values))


# --- the assembly API (and the ERP's) -------------------------------------------------------


def seed_two_stores(db: Database) -> dict[str, list[Any]]:
    """Two stores with a token each, a picker on shift in each, an order taken in store A."""
    pickers, numbers = [], []
    for sm_id, token, sm_order in (("101", "token-a", "H1"), ("202", "token-b", "H2")):
        store = add_store(db, sm_id)
        assert store.id is not None
        with db.unit_of_work() as uow:
            uow.repo(ApiTokenRepository).add(store.id, token_hash(token), "ТСД", FROZEN_NOW)
            picker = Picker(store_id=store.id, name="Анна")
            uow.repo(PickerRepository).add(picker)
            uow.commit()
            pickers.append(picker.id)
        hook = parse_webhook(envelope("order.created", order_payload(sm_order, storeID=sm_id)))
        numbers.append(
            ingest_webhook(db, hook, IntakePolicy(notify_accepted=False), FrozenClock()).body[
                "number"
            ]
        )
    return {"pickerId": pickers, "orderNumber": numbers, "lineNo": [1, 2, 3]}


def test_assembly_api_answers_every_case_without_5xx(db: Database, settings: Settings) -> None:
    real = seed_two_stores(db)
    app = create_assembly_app(
        settings.model_copy(update={"erp_token": SecretStr("erp")}), db, clock=FrozenClock()
    )
    statuses: Counter[int] = Counter()

    @FUZZ
    @given(case=cases(app), token=st.sampled_from(["token-a", "token-b", "nobody"]), data=st.data())
    def run(case: schemathesis.Case[Any], token: str, data: st.DataObject) -> None:
        with_real_ids(case.body, data.draw, real)
        send(case, {"Client-Token": token, "X-ERP-Token": "erp"}, statuses)

    run()
    report("assembly", db, statuses)
    assert statuses[200] > 0  # some calls got through to the use cases


# --- the hook -------------------------------------------------------------------------------


def test_hook_answers_every_case_without_5xx_and_keeps_nothing_failed(
    db: Database, settings: Settings
) -> None:
    add_store(db, "101")
    app = create_hook_app(settings, db, clock=FrozenClock())
    kinds = st.sampled_from([*(k.value for k in EventType), "order.changed", "order.cancelled"])
    statuses: Counter[int] = Counter()

    @FUZZ
    @given(case=cases(app), kind=kinds, data=st.data())
    def run(case: schemathesis.Case[Any], kind: str, data: st.DataObject) -> None:
        body: Any = case.body  # changed in place
        if isinstance(body, dict) and data.draw(st.booleans()):  # a known event, our store
            body["event_type"] = kind
            if isinstance(body.get("payload"), dict):
                body["payload"]["storeID"] = "101"
                body["payload"]["originalOrderId"] = data.draw(st.sampled_from(["H1", "H2"]))
        send(case, {"Client-Token": "test-token"}, statuses)

    run()
    report("hook", db, statuses)
    assert statuses[200] > 0
    assert failed_from_input(db) == 0
