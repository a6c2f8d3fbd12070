"""Creating sales documents: exactly one per delivered order.

Runs may overlap (a lost lease) or die halfway. Each batch is one transaction; the
document number comes from the order and both it and ``order_id`` are unique, so a second
writer fails instead of duplicating, and that batch is then retried one order at a time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog

from smbridge.domain.order import Order
from smbridge.domain.sales import SalesDocument, document_for
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.errors import AlreadyExists
from smbridge.kernel.database.unit_of_work import Database
from smbridge.orders.repository import OrderRepository, StoreRepository
from smbridge.sales.export import write_files
from smbridge.sales.repository import SalesDocuments

log = structlog.get_logger(__name__)


@dataclass
class SalesCounts:
    created: int = 0
    already_there: int = 0
    with_difference: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def document_number(order_id: int) -> str:
    return f"Р-{order_id:08d}"


def create_documents(
    db: Database,
    clock: Clock,
    batch: int = 200,
    stop: threading.Event | None = None,
) -> SalesCounts:
    counts = SalesCounts()
    while stop is None or not stop.is_set():
        ids = _orders_without_document(db, batch)
        if not ids:
            break
        made_before = counts.created
        try:
            _create(db, ids, clock(), counts)
        except AlreadyExists:  # another run made some of them: go one by one
            for order_id in ids:
                try:
                    _create(db, [order_id], clock(), counts)
                except AlreadyExists:
                    counts.already_there += 1
        if counts.created == made_before:
            # Nothing new from a whole batch: the backlog offers orders documented already
            # (an overlapping run, or a query out of step with the link); asking again would
            # get the same batch for ever. The next run starts afresh.
            log.warning("sales.batch_made_nothing", orders=len(ids))
            break
    return counts


def _orders_without_document(db: Database, limit: int) -> list[int]:
    with db.unit_of_work(read_only=True) as uow:
        return uow.repo(SalesDocuments).orders_without_document(limit)


def _create(db: Database, order_ids: list[int], now: datetime, counts: SalesCounts) -> None:
    with db.unit_of_work() as uow:
        zones = {store.id: ZoneInfo(store.timezone) for store in uow.repo(StoreRepository).all()}
        made = [
            _document(order, zones, now)
            for order in uow.repo(OrderRepository).by_ids(order_ids)
            if order.sales_document_id is None
        ]
        documents = uow.repo(SalesDocuments)
        documents.add_batch(made)
        if not made:
            return  # an overlapping run documented them all
        documents.link_orders(made)
        uow.commit()
    counts.created += len(made)
    for document in made:
        if document.difference:
            counts.with_difference += 1
            log.warning(
                "sales.paid_differs",
                order_number=document.order_number,
                difference=str(document.difference),
            )


def _document(order: Order, zones: dict[int | None, ZoneInfo], now: datetime) -> SalesDocument:
    zone = zones.get(order.store_id, ZoneInfo("UTC"))
    delivered = (order.delivered_at or now).astimezone(zone).date()
    assert order.id is not None
    return document_for(order, document_number(order.id), now, delivered)


def write_export_files(
    db: Database,
    directory: Path,
    clock: Clock,
    batch: int = 200,
) -> int:
    """Files for every document that has none yet (a crash before writing is caught up)."""
    written = 0
    while True:
        with db.unit_of_work() as uow:
            documents = uow.repo(SalesDocuments).without_files(batch)
            if not documents:
                return written
            for document in documents:
                write_files(document, directory)
                document.files_written_at = clock()
            uow.commit()
            written += len(documents)
