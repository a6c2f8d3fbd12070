"""SM's event read from its body: as it arrives at the hook, or as the journal kept it.

The one place that knows how to read a webhook: the hook's view parses what arrives, and
the replay of a failed event (failures.py) parses the body the journal stored, both here.
The field-level shape of SM's order is the models of schemas.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from smbridge.domain.sm_order import SmOrder
from smbridge.domain.webhook import EventType, event_key, normalize_event_type
from smbridge.intake.schemas import EnvelopeIn, OrderIn
from smbridge.kernel.bounds import unfit_texts

_M = TypeVar("_M", bound=BaseModel)


class BadWebhook(Exception):
    """The body is not a webhook we can accept; nothing is stored."""

    def __init__(self, code: str, message: str, details: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []


@dataclass(frozen=True)
class InboundWebhook:
    """A validated webhook: what SM sent, and what it means to us."""

    raw_type: str
    kind: EventType | None  # None: a type we do not know
    key: str
    body: str
    sm_order_id: str | None
    data: SmOrder | None


def parse_webhook(body: bytes) -> InboundWebhook:
    """Read a webhook's body; raises ``BadWebhook`` when it is not one we can accept."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadWebhook("invalid_json", f"body is not valid JSON: {exc.msg}") from None
    _require_fit_texts(document)
    envelope = _validate(EnvelopeIn, document, "")
    kind = normalize_event_type(envelope.event_type)
    key = event_key(envelope.event_type, envelope.payload, envelope.timestamp)
    text = body.decode("utf-8")
    if kind is None:
        # Unknown types are kept whatever they carry (SM adds types); no shape to check.
        sm_order_id = envelope.payload.get("originalOrderId")
        if not isinstance(sm_order_id, str | int) or len(str(sm_order_id)) > 64:
            sm_order_id = None  # nothing to index it by; the body keeps whatever it was
        return InboundWebhook(
            envelope.event_type, None, key, text, str(sm_order_id) if sm_order_id else None, None
        )
    # An order.created without positions or a store is valid too: SM would retry a 400 for
    # ever, so it gets "created" and a number and is then cancelled (intake/acceptance.py).
    order = _validate(OrderIn, envelope.payload, "payload")
    return InboundWebhook(
        envelope.event_type, kind, key, text, order.originalOrderId, order.to_domain()
    )


def _require_fit_texts(document: object) -> None:
    """No NUL can be stored, and the event key cannot hash what nests too deep."""
    problems = [{"loc": loc, "msg": why} for loc, why in unfit_texts(document)]
    if problems:
        raise BadWebhook("invalid_payload", "webhook does not have SM's shape", problems[:20])


def _validate(model: type[_M], document: object, prefix: str) -> _M:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        # Never echo the input back: it may carry a customer's name, phone or address.
        details = [
            {"loc": ".".join([prefix, *map(str, e["loc"])]).strip("."), "msg": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise BadWebhook("invalid_payload", "webhook does not have SM's shape", details) from None
