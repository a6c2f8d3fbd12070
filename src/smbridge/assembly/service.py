"""How every assembly API call runs: token → store, idempotency, one transaction.

A state-changing call with a ``requestId`` stores its answer in the same transaction as its
effect; the same ``requestId`` again gets that answer and changes nothing. After the commit
the order's new notifications are handed to the dispatcher for prompt delivery.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel

from smbridge.accounts.service import AuditNote
from smbridge.assembly.errors import Conflict, Forbidden, InvalidRequest
from smbridge.assembly.repository import ApiTokenRepository, IdempotencyKeys, StoredAnswer
from smbridge.domain.assembly import AssemblyError, CountedRefusal
from smbridge.domain.pickup import HandoverPolicy
from smbridge.domain.status import TransitionRefused
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.errors import AlreadyExists, retrying_conflicts
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork


@dataclass(frozen=True)
class AssemblyPolicy:
    notify_assembled: bool = True  # order.assembled is optional for SM
    handover: HandoverPolicy = field(default_factory=HandoverPolicy)


@dataclass
class CallContext:
    """What a method sees: the unit of work, the caller's store, the time of the call."""

    uow: UnitOfWork
    store_id: int
    now: datetime
    policy: AssemblyPolicy


class JsonAnswer(dict[str, Any]):
    """A result a method built as JSON itself, in its response model's shape (for a large
    listing, or the order card of the hot calls, where validating it through pydantic would
    cost more than reading it). A reading method may leave its times aware datetimes:
    ``views.answer_json`` writes them as pydantic does, in C. A changing method's answer is
    kept (``StoredAnswer``), so it must be plain JSON already (``cards.plain``)."""


Handler = Callable[[CallContext, Any], BaseModel | JsonAnswer]


@dataclass(frozen=True)
class Method:
    name: str
    handler: Handler
    request: type[BaseModel]
    response: type[BaseModel]
    changes_state: bool
    summary: str


@dataclass(frozen=True)
class AssemblyResponse:
    """A successful call's answer: its status and result, new or the stored first answer."""

    status: int
    result: dict[str, Any]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Call:
    """One call of a method. A picking app names its store by its ``token``; the web UI's
    signed-in staff come with their ``store_id`` instead (``token`` empty): from there the
    call runs the same way, the same idempotency by requestId included."""

    token: str
    method: Method
    request_id: str | None
    data: BaseModel
    store_id: int | None = None
    #: The signed-in person's record of the change, written in the call's transaction: the
    #: change and who made it commit together, or neither does.
    audit: AuditNote | None = None

    def __post_init__(self) -> None:
        if self.audit is not None and not self.method.changes_state:
            raise ValueError(f"{self.method.name} changes nothing: there is nothing to audit")

    @property
    def keyed(self) -> bool:
        """Only state-changing calls with a requestId are remembered."""
        return self.request_id is not None and self.method.changes_state


def execute(db: Database, call: Call, policy: AssemblyPolicy, clock: Clock) -> AssemblyResponse:
    """Run one API call; raises ``AssemblyRefused`` for every answer that is not a success.

    Raises ``DatabaseUnavailable`` when the database cannot take the call now: its one
    transaction was rolled back whole, so the picker's app may send it again (with the
    same requestId, a call that did commit is answered as the first time).
    """
    return retrying_conflicts(lambda: _execute_keyed(db, call, policy, clock), call.method.name)


def _execute_keyed(
    db: Database, call: Call, policy: AssemblyPolicy, clock: Clock
) -> AssemblyResponse:
    try:
        return _execute_once(db, call, policy, clock)
    except AlreadyExists:
        if not call.keyed:
            raise
        # A concurrent call with the same requestId committed first: answer as it did.
        return _execute_once(db, call, policy, clock)


def _execute_once(
    db: Database, call: Call, policy: AssemblyPolicy, clock: Clock
) -> AssemblyResponse:
    with db.unit_of_work(read_only=not call.method.changes_state) as uow:
        request_hash = _fingerprint(call.method.name, call.data)
        if call.store_id is not None:
            store_id = call.store_id
            if call.keyed and call.request_id is not None:
                stored = uow.repo(IdempotencyKeys).get(store_id, call.request_id)
                if stored is not None:
                    return _replay(stored, request_hash)
        elif call.keyed and call.request_id is not None:
            store_id, stored = _authenticate_keyed(uow, call.token, call.request_id)
            if stored is not None:
                return _replay(stored, request_hash)
        else:
            store_id = _authenticate(uow, call.token)
        context = CallContext(uow, store_id, clock(), policy)
        result = _run(call.method, context, call.data)
        if call.keyed and call.request_id is not None:
            answer = StoredAnswer(call.method.name, request_hash, 200, result)
            uow.repo(IdempotencyKeys).add(store_id, call.request_id, answer, context.now)
        if call.audit is not None:
            call.audit.write(uow, context.now)
        if call.method.changes_state:
            uow.commit()
        return AssemblyResponse(200, result)


def _run(method: Method, context: CallContext, data: BaseModel) -> dict[str, Any]:
    try:
        result = method.handler(context, data)
        return result if isinstance(result, JsonAnswer) else result.model_dump(mode="json")
    except CountedRefusal as refused:
        # The refusal is itself a fact to keep (a wrong handout code counts towards the
        # lock, the lock's alert must go out): what the use case wrote commits, then the
        # caller hears no. Such a call's answer is not kept for its requestId: a repeat is
        # another try.
        context.uow.commit()
        kind = Conflict if refused.conflict else InvalidRequest
        raise kind(refused.code, refused.detail) from None
    except AssemblyError as refused:
        kind = Conflict if refused.conflict else InvalidRequest
        raise kind(refused.code, refused.detail) from None
    except TransitionRefused as refused:
        raise Conflict("wrong_status", str(refused)) from None


def check_token(db: Database, token: str) -> None:
    """Refuse a token that is missing, unknown, revoked or of an inactive store, before the
    request's body is read; ``execute`` checks it again inside its transaction."""
    with db.unit_of_work(read_only=True) as uow:
        _authenticate(uow, token)


class RecentTokens:
    """Tokens ``check_token`` admitted in the last ``ttl`` seconds, so that a picker's next
    calls skip the pre-check's own transaction (a tenth of a call's CPU).

    Only a shortcut for the pre-check: ``execute`` checks the token again inside each call's
    transaction, so a token revoked (or a store closed) is refused every call from the
    moment it is committed, before any of the store's data is read. Within ``ttl`` after
    that the 403 merely comes after the body was read and parsed (so a malformed body gets
    its 400/422 instead). Refused tokens are never remembered. Kept by their SHA-256, as the
    database keeps them: a worker's memory holds no usable token.

    Hand-written rather than ``cachetools.TTLCache``: cachetools is not a dependency, and
    the map needs only these two operations.
    """

    def __init__(
        self, ttl: float = 2.0, limit: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._limit = limit  # stores have a few tokens each: the bound is only a safeguard
        self._clock = clock
        self._until: dict[str, float] = {}

    def admitted(self, token: str) -> bool:
        until = self._until.get(token_hash(token))
        return until is not None and self._clock() < until

    def remember(self, token: str) -> None:
        if len(self._until) >= self._limit:
            self._until.clear()
        self._until[token_hash(token)] = self._clock() + self._ttl


def _authenticate(uow: UnitOfWork, token: str) -> int:
    store_id = uow.repo(ApiTokenRepository).store_of(token_hash(token)) if token else None
    if store_id is None:
        raise Forbidden("forbidden", "missing, unknown or revoked token")
    return store_id


def _authenticate_keyed(
    uow: UnitOfWork, token: str, request_id: str
) -> tuple[int, StoredAnswer | None]:
    """``_authenticate`` and the first answer to ``request_id``, in one statement."""
    store_id, stored = (
        uow.repo(ApiTokenRepository).store_and_answer(token_hash(token), request_id)
        if token
        else (None, None)
    )
    if store_id is None:
        raise Forbidden("forbidden", "missing, unknown or revoked token")
    return store_id, stored


def _fingerprint(method: str, data: BaseModel) -> str:
    canonical = orjson.dumps(
        {"m": method, "d": data.model_dump(mode="json")}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()


def purge_idempotency_keys(db: Database, now: datetime, retention: timedelta) -> int:
    """Forget the answers to requestIds older than the retention (the scheduler calls this)."""
    with db.unit_of_work() as uow:
        removed = uow.repo(IdempotencyKeys).purge(now - retention)
        uow.commit()
        return removed


def _replay(stored: StoredAnswer, request_hash: str) -> AssemblyResponse:
    if stored.request_sha256 != request_hash:
        raise InvalidRequest("request_id_reused", "requestId was used for another request")
    return AssemblyResponse(stored.status_code, stored.response)
