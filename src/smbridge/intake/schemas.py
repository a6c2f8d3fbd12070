"""The hook's body and answer as the OpenAPI document shows them (the view reads raw bytes
and events.py reads SM's event; these models only describe it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from smbridge.intake.events import OrderIn
from smbridge.kernel.bounds import SmId


class WebhookIn(BaseModel):
    """The webhook as the OpenAPI document shows it. parse_webhook (events.py) checks the
    same rules in two steps (an unknown event type is stored whatever its payload)."""

    model_config = ConfigDict(extra="allow")
    event_type: SmId
    payload: OrderIn
    timestamp: Any = None


class HookAnswer(BaseModel):
    status: str  # "created" (order.created), "ok" (applied), "accepted" (kept for later)
    number: str | None = None  # order.created: our order number
    expectedAssemblyTime: datetime | None = None  # order.created


def webhook_body_schema() -> dict[str, Any]:
    """The request body of the hook for OpenAPI, self-contained (the view reads raw bytes)."""
    schema = WebhookIn.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    body: dict[str, Any] = inline(schema)
    return {"required": True, "content": {"application/json": {"schema": body}}}
