"""The one way the UI changes (or reads) an order: the assembly API's own use cases.

A page's action is a ``Call`` of an assembly method, run by ``assembly.service.execute`` for
the signed-in person's store: the same rules, the same notifications to SM, the same
idempotency by requestId (the browser makes the requestId and sends it again on a retry),
the same store scoping (another store's order is ``NotFound``).
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from smbridge.accounts.service import AuditNote
from smbridge.assembly.errors import AssemblyRefused, Forbidden, InvalidRequest
from smbridge.assembly.methods import METHODS
from smbridge.assembly.service import Call, execute
from smbridge.assembly.texts import error_text
from smbridge.assembly.views import http_status
from smbridge.kernel.bounds import RequestId
from smbridge.ui.web import Staff, UiContext, UiRefused

_REQUEST_ID = TypeAdapter(RequestId)


def assembly_call(
    ctx: UiContext,
    staff: Staff,
    method: str,
    data: dict[str, Any],
    request_id: str,
    *,
    audit: AuditNote | None = None,
) -> dict[str, Any]:
    """The method's result; raises the assembly refusals (and ``DatabaseUnavailable``).
    ``audit``: the change's record, committed with it (a refused call records nothing)."""
    if staff.store_id is None:
        raise Forbidden("forbidden", "an office account picks in no store")
    chosen = METHODS.get(method)
    if chosen is None:
        raise InvalidRequest("invalid_data", f"no method {method}")
    try:
        _REQUEST_ID.validate_python(request_id)
        parsed = chosen.request.model_validate(data)
    except ValidationError as invalid:
        raise InvalidRequest("invalid_data", _first_error(invalid)) from None
    call = Call("", chosen, request_id, parsed, store_id=staff.store_id, audit=audit)
    return execute(ctx.db, call, ctx.policy, ctx.clock).result


def refusal(refused: AssemblyRefused) -> UiRefused:
    """An assembly refusal as the page shows it: its HTTP status and Russian text."""
    return UiRefused(http_status(refused), error_text(refused.code))


def _first_error(invalid: ValidationError) -> str:
    first = invalid.errors()[0]
    return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
