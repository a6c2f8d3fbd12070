"""Sales documents as the ERP takes them: JSON (API and files) and CSV files."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from smbridge.domain.sales import SalesDocument

CSV_COLUMNS = (
    "document",
    "date",
    "order",
    "sm_order",
    "line",
    "sku",
    "name",
    "quantity",
    "weight_grams",
    "price",
    "discount_price",
    "amount",
    "discount",
    "replaces_sku",
)


def as_json(document: SalesDocument) -> dict[str, Any]:
    """Money and weights as decimal strings: the ERP must not see binary floats."""
    return {
        "id": document.id,
        "number": document.number,
        "date": document.document_date.isoformat(),
        "createdAt": document.created_at.isoformat(),
        "storeId": document.store_id,
        "orderNumber": document.order_number,
        "smOrderId": document.sm_order_id,
        "customer": {"name": document.customer_name, "inn": document.customer_inn},
        "total": str(document.total),
        "discount": str(document.discount),
        "paidAmount": _text(document.paid_amount),
        "difference": _text(document.difference),
        "lines": [
            {
                "lineNo": line.line_no,
                "sku": line.sku,
                "name": line.name,
                "quantity": str(line.quantity),
                "weightGrams": _text(line.weight_grams),
                "price": str(line.price),
                "discountPrice": str(line.discount_price),
                "amount": str(line.amount),
                "discount": str(line.discount),
                "replacesSku": line.replaces_sku,
            }
            for line in document.lines
        ],
    }


def as_csv(document: SalesDocument) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in document.lines:
        writer.writerow(
            (
                document.number,
                document.document_date.isoformat(),
                document.order_number,
                document.sm_order_id,
                line.line_no,
                line.sku,
                line.name,
                line.quantity,
                _text(line.weight_grams) or "",
                line.price,
                line.discount_price,
                line.amount,
                line.discount,
                line.replaces_sku or "",
            )
        )
    return out.getvalue()


def write_files(document: SalesDocument, directory: Path) -> None:
    """``<number>.json`` and ``<number>.csv``, each appearing whole or not at all."""
    directory.mkdir(parents=True, exist_ok=True)
    _atomic_write(
        directory / f"{document.number}.json",
        orjson.dumps(as_json(document), option=orjson.OPT_INDENT_2),
    )
    _atomic_write(directory / f"{document.number}.csv", as_csv(document).encode("utf-8-sig"))


def _atomic_write(path: Path, content: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    with os.fdopen(handle, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
