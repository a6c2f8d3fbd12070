"""Sales documents: right lines and totals, exactly once, exported to the ERP."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from smbridge.domain import sales
from smbridge.domain.assembly import Substitute
from smbridge.entrypoints.assembly_app import create_assembly_app
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.tables import sales_documents
from smbridge.kernel.database.unit_of_work import Database
from smbridge.orders.repository import OrderRepository
from smbridge.sales.repository import SalesDocuments
from smbridge.sales.service import create_documents, document_number, write_export_files
from smbridge.settings import Settings
from tests.conftest import make_settings
from tests.factories import add_store, envelope, order_payload, position, weighed_position
from tests.support.clock import FrozenClock

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def delivered_order(db: Database, sm_id: str, paid: str | None = "306.40") -> None:
    payload = order_payload(
        sm_id,
        positions=[
            position("100500", quantity=2, price="89.90", discountPrice="79.90"),
            weighed_position("100505", grams="1250", price="129.00", discountPrice="119.00"),
            position("100502", quantity=1, price="64.00", discountPrice="64.00"),
        ],
    )
    ingest_webhook(
        db,
        parse_webhook(envelope("order.created", payload)),
        IntakePolicy(notify_accepted=False),
        FrozenClock(NOW),
    )
    with db.unit_of_work() as uow:
        order = uow.repo(OrderRepository).by_sm_id(sm_id)
        assert order is not None
        order.take(1, NOW)
        order.record_pick(1, Decimal(2), None, None, NOW)
        order.record_pick(2, Decimal(1), Decimal(1187), None, NOW)
        order.replace(3, Substitute("100509", "Гречка 900 г", Decimal(1), Decimal("139.00")), NOW)
        order.finish(1, NOW)
        order.mark_ready(NOW)
        order.deliver(NOW)
        if paid is not None:
            order.record_payment(Decimal(paid), "paid", NOW)
        uow.commit()


def documents(db: Database) -> int:
    with db.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(sales_documents)).scalar_one())


def test_a_document_has_the_final_contents_and_reconciles_payment(db: Database) -> None:
    add_store(db)
    delivered_order(db, "H1", paid="300.00")
    counts = create_documents(db, FrozenClock(NOW))
    assert (counts.created, counts.with_difference) == (1, 1)
    with db.unit_of_work() as uow:
        order = uow.repo(OrderRepository).by_sm_id("H1")
        assert order is not None
        assert order.id is not None
        document = uow.repo(SalesDocuments).by_order(order.id)
        assert document is not None
        lines = [
            (x.sku, x.quantity, x.weight_grams, x.amount, x.discount, x.replaces_sku)
            for x in document.lines
        ]
        assert lines == [
            ("100500", Decimal(2), None, Decimal("159.80"), Decimal("20.00"), None),
            ("100505", Decimal(1), Decimal(1187), Decimal("141.25"), Decimal("11.87"), None),
            ("100509", Decimal(1), None, Decimal("139.00"), Decimal("0.00"), "100502"),
        ]
        assert (document.total, document.discount) == (Decimal("440.05"), Decimal("31.87"))
        assert (document.paid_amount, document.difference) == (
            Decimal("300.00"),
            Decimal("-140.05"),
        )
        assert document.number == f"Р-{order.id:08d}"
        assert document.document_date.isoformat() == "2026-11-28"


def test_only_delivered_orders_get_one(db: Database) -> None:
    add_store(db)
    delivered_order(db, "H1")
    ingest_webhook(
        db,
        parse_webhook(envelope("order.created", order_payload("H2"))),
        IntakePolicy(),
        FrozenClock(NOW),
    )
    assert create_documents(db, FrozenClock(NOW)).created == 1
    assert create_documents(db, FrozenClock(NOW)).created == 0
    assert documents(db) == 1


def test_two_overlapping_runs_make_exactly_one_per_order(db: Database) -> None:
    add_store(db)
    for n in range(40):
        delivered_order(db, f"H{n}")
    results = []
    runs = [
        threading.Thread(
            target=lambda: results.append(create_documents(db, FrozenClock(NOW), batch=7))
        )
        for _ in range(2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=120)
    assert documents(db) == 40
    assert sum(r.created for r in results) == 40


def test_a_batch_that_meets_another_runs_document_goes_one_order_at_a_time(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_store(db)
    for n in range(3):
        delivered_order(db, f"H{n}")
    with db.unit_of_work() as uow:
        found = [uow.repo(OrderRepository).by_sm_id(f"H{n}") for n in range(3)]
        backlog = [order.id for order in found if order is not None and order.id is not None]
        order = found[1]
        assert order is not None
        assert order.id is not None
        # Another run's document for H1, written after this run read its backlog and
        # before it wrote its batch; H1's link is left out, so this run's batch meets it.
        made = sales.document_for(order, document_number(order.id), NOW, NOW.date())
        uow.repo(SalesDocuments).add_batch([made])
        uow.commit()
    reads = iter([backlog, []])
    monkeypatch.setattr("smbridge.sales.service._orders_without_document", lambda *_: next(reads))
    counts = create_documents(db, FrozenClock(NOW))
    assert (counts.created, counts.already_there) == (2, 1)
    assert documents(db) == 3


def test_a_backlog_offering_documented_orders_again_ends_the_run(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_store(db)
    delivered_order(db, "H1")
    assert create_documents(db, FrozenClock(NOW)).created == 1
    with db.unit_of_work() as uow:
        order = uow.repo(OrderRepository).by_sm_id("H1")
        assert order is not None
        assert order.id is not None
        offered = [order.id]
    calls: list[int] = []

    def stale_backlog(*_: Any) -> list[int]:
        calls.append(1)
        assert len(calls) < 10, "the run kept asking for the same batch"
        return offered

    monkeypatch.setattr("smbridge.sales.service._orders_without_document", stale_backlog)
    assert create_documents(db, FrozenClock(NOW)).created == 0
    assert len(calls) == 1
    assert documents(db) == 1


def test_a_run_that_dies_halfway_is_completed_by_the_next(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_store(db)
    for n in range(10):
        delivered_order(db, f"H{n}")
    real = sales.document_for
    made: list[int] = []

    def dies_at_the_sixth(*args: object, **kwargs: object) -> sales.SalesDocument:
        if len(made) == 5:
            raise RuntimeError("power cut")
        made.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("smbridge.sales.service.document_for", dies_at_the_sixth)
    with pytest.raises(RuntimeError):
        create_documents(db, FrozenClock(NOW), batch=5)
    assert documents(db) == 5  # the first batch was committed whole, the second not at all
    monkeypatch.undo()
    assert create_documents(db, FrozenClock(NOW), batch=5).created == 5
    assert documents(db) == 10


def test_files_are_written_once_for_each_document(db: Database, tmp_path: Path) -> None:
    add_store(db)
    delivered_order(db, "H1", paid=None)
    create_documents(db, FrozenClock(NOW))
    assert write_export_files(db, tmp_path, FrozenClock(NOW)) == 1
    assert write_export_files(db, tmp_path, FrozenClock(NOW)) == 0
    (json_file,) = tmp_path.glob("*.json")
    (csv_file,) = tmp_path.glob("*.csv")
    exported = json.loads(json_file.read_text())
    assert (exported["total"], exported["paidAmount"], exported["lines"][1]["weightGrams"]) == (
        "440.05",
        None,
        "1187",
    )
    rows = csv_file.read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("document;date;order")
    assert len(rows) == 4
    assert list(tmp_path.glob(".*.tmp")) == []


def test_erp_lists_new_documents_and_acknowledges_them(db: Database, database_url: str) -> None:
    add_store(db)
    for n in range(3):
        delivered_order(db, f"H{n}")
    create_documents(db, FrozenClock(NOW))
    settings: Settings = make_settings(database_url, erp_token="erp-secret")
    with TestClient(create_assembly_app(settings, db, clock=FrozenClock(NOW))) as client:
        headers = {"X-ERP-Token": "erp-secret"}
        assert client.get("/erp/sales-documents").status_code == 403
        listed = client.get("/erp/sales-documents", headers=headers).json()["documents"]
        assert [d["smOrderId"] for d in listed] == ["H0", "H1", "H2"]
        first = listed[0]["id"]
        answer = client.post("/erp/sales-documents/ack", json={"ids": [first]}, headers=headers)
        assert answer.json() == {"acknowledged": 1}
        again = client.get("/erp/sales-documents", headers=headers).json()["documents"]
        assert [d["smOrderId"] for d in again] == ["H1", "H2"]
        assert client.post(
            "/erp/sales-documents/ack", json={"ids": [first]}, headers=headers
        ).json() == {"acknowledged": 0}


def test_erp_token_and_body_size_are_checked_before_the_body_is_parsed(
    db: Database, database_url: str
) -> None:
    settings = make_settings(database_url, erp_token="erp-secret", api_max_body_bytes=1024)
    url = "/erp/sales-documents/ack"
    with TestClient(create_assembly_app(settings, db, clock=FrozenClock())) as client:
        wrong = {"X-ERP-Token": "wrong", "Content-Type": "application/json"}
        refused = client.post(url, content=b"{not json", headers=wrong)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
        right = {**wrong, "X-ERP-Token": "erp-secret"}
        large = client.post(url, content=b'{"ids": [1]}' + b" " * 1024, headers=right)
        assert (large.status_code, large.json()["error"]["code"]) == (413, "payload_too_large")
        assert client.post(url, content=b'{"ids": [1]}', headers=right).json() == {
            "acknowledged": 0
        }


def test_the_erp_api_documents_exactly_the_answers_it_gives(
    db: Database, database_url: str
) -> None:
    """Each operation's requests, good and bad in every way its clients could get wrong
    (including those a 415 or a 422 would be for), against the statuses its OpenAPI lists."""
    settings = make_settings(database_url, erp_token="erp-secret", api_max_body_bytes=1024)
    token = {"X-ERP-Token": "erp-secret"}
    as_text = {**token, "Content-Type": "text/plain"}
    as_json = {**token, "Content-Type": "application/json"}
    large = b'{"ids": [1]}' + b" " * 1024
    requests: dict[tuple[str, str], list[dict[str, Any]]] = {
        ("get", "/erp/sales-documents"): [
            {"headers": token},
            {"headers": {}},
            {"headers": token, "params": {"limit": 0}},
            {"headers": token, "params": {"limit": "many"}},
            {"headers": as_json, "content": large},
        ],
        ("post", "/erp/sales-documents/ack"): [
            {"headers": token, "json": {"ids": [1]}},
            {"headers": {}, "json": {"ids": [1]}},
            {"headers": token, "json": {"ids": []}},
            {"headers": token, "json": {"ids": ["one"]}},
            {"headers": token, "json": {"requestData": {"ids": [1]}}},
            {"headers": as_json, "content": b"{not json"},
            {"headers": as_text, "content": b'{"ids": [1]}'},
            {"headers": as_json, "content": large},
        ],
    }
    with TestClient(create_assembly_app(settings, db, clock=FrozenClock())) as client:
        paths = client.get("/openapi.json").json()["paths"]
        for (method, url), variants in requests.items():
            answered = {client.request(method.upper(), url, **v).status_code for v in variants}
            declared = {int(status) for status in paths[url][method]["responses"]}
            assert answered == declared, (method, url)
