"""The ERP's API: list sales documents it has not taken yet, and acknowledge them."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from smbridge.kernel.bounds import DbId
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.unit_of_work import Database
from smbridge.kernel.http import ApiError, admitting_route, error_responses
from smbridge.sales.export import as_json
from smbridge.sales.repository import SalesDocuments

ERP_TOKEN = {"ErpToken": {"type": "apiKey", "in": "header", "name": "X-ERP-Token"}}
ERP_SECURITY: dict[str, Any] = {"security": [{"ErpToken": []}]}


class Acknowledge(BaseModel):
    ids: list[DbId] = Field(min_length=1, max_length=1000)


def erp_router(db: Database, token: str, clock: Clock, max_body_bytes: int) -> APIRouter:
    async def authorize(request: Request) -> None:  # before the body is read
        given = request.headers.get("x-erp-token", "").encode()
        if not token or not hmac.compare_digest(given, token.encode()):
            raise ApiError(403, "forbidden", "missing or wrong X-ERP-Token")

    router = APIRouter(
        prefix="/erp/sales-documents",
        tags=["ERP"],
        route_class=admitting_route(authorize, max_body_bytes),
        responses=error_responses(400, 403, 413),
    )

    @router.get(
        "",
        summary="Sales documents the ERP has not acknowledged, oldest first",
        openapi_extra=ERP_SECURITY,
    )
    async def new_documents(limit: int = 100) -> dict[str, Any]:
        if not 1 <= limit <= 1000:
            raise ApiError(400, "invalid_limit", "limit must be between 1 and 1000")
        return await run_in_threadpool(_new, db, limit)

    @router.post("/ack", summary="Mark documents as taken by the ERP", openapi_extra=ERP_SECURITY)
    async def acknowledge(body: Acknowledge) -> dict[str, int]:
        return {"acknowledged": await run_in_threadpool(_ack, db, body.ids, clock())}

    return router


def _new(db: Database, limit: int) -> dict[str, Any]:
    with db.unit_of_work() as uow:
        return {
            "documents": [
                as_json(document) for document in uow.repo(SalesDocuments).not_exported(limit)
            ]
        }


def _ack(db: Database, ids: list[int], now: datetime) -> int:
    with db.unit_of_work() as uow:
        count = uow.repo(SalesDocuments).acknowledge(ids, now)
        uow.commit()
        return count
