"""The client for SM's notification API, in both generations (SM-API.md §2).

Classic: ``Client-Token`` + ``Api-Version: 3.0`` on a configurable path. OFM (Kuper): OAuth2
client credentials; the token is cached until shortly before it expires, and a 401 makes
the next request fetch a new one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

import httpx


class SmApiGeneration(StrEnum):
    CLASSIC = "classic"
    OFM = "ofm"


class SmAnswerKind(StrEnum):
    DELIVERED = "delivered"  # 200 processed, 202 already processed
    RETRY = "retry"  # timeouts, connection errors, 5xx, 429, 401 after a refresh
    REFUSED = "refused"  # 422 invalid/out of order, 405 not accepted, other 4xx


@dataclass(frozen=True)
class SmAnswer:
    kind: SmAnswerKind
    status: int | None  # None: no HTTP answer at all
    detail: str  # the response body or the error, cut short
    retry_after: timedelta | None = None  # SM's Retry-After on a 429 or 503

    @classmethod
    def from_response(cls, response: httpx.Response) -> SmAnswer:
        code = response.status_code
        if code in (200, 202):
            kind = SmAnswerKind.DELIVERED
        elif code in (401, 408, 409, 425, 429) or code >= 500:
            kind = SmAnswerKind.RETRY
        else:
            kind = SmAnswerKind.REFUSED
        wait = retry_after(response.headers.get("retry-after")) if code in (429, 503) else None
        return cls(kind, code, response.text[:2000], wait)


def retry_after(value: str | None) -> timedelta | None:
    """A Retry-After of whole seconds. The HTTP-date form (and anything else) is ignored:
    the dispatcher's own backoff applies, which never sends sooner than SM can take."""
    text = (value or "").strip()
    if not text.isdigit() or len(text) > 6:  # more than 11 days is not a wait but a fault
        return None
    return timedelta(seconds=int(text))


class NotificationSender(Protocol):
    def send(self, body: dict[str, Any]) -> SmAnswer: ...


@dataclass(frozen=True)
class SmApiConfig:
    base_url: str
    generation: SmApiGeneration = SmApiGeneration.CLASSIC
    classic_path: str = "/v1/notifications"
    classic_token: str = ""
    ofm_auth_path: str = "/auth/token"
    ofm_path: str = "/ofm/api/v1/notifications"
    client_id: str = ""
    client_secret: str = ""
    timeout_seconds: float = 10.0


class SmClient:
    """Sends one notification; thread-safe (one per process, shared by dispatcher threads)."""

    def __init__(self, config: SmApiConfig, http: httpx.Client | None = None) -> None:
        self._config = config
        self._http = http or httpx.Client(
            base_url=config.base_url,
            timeout=httpx.Timeout(config.timeout_seconds, connect=3.0),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )
        self._token = _TokenCache(self._http, config)

    def close(self) -> None:
        self._http.close()

    def send(self, body: dict[str, Any]) -> SmAnswer:
        try:
            result = self._post(body)
            if result.status == 401 and self._config.generation is SmApiGeneration.OFM:
                self._token.forget()  # SM-API: a 401 means get a new token, retry once
                result = self._post(body)
        except (httpx.HTTPError, KeyError, ValueError) as exc:  # incl. a bad token answer
            return SmAnswer(SmAnswerKind.RETRY, None, f"{type(exc).__name__}: {exc}"[:2000])
        return result

    def _post(self, body: dict[str, Any]) -> SmAnswer:
        if self._config.generation is SmApiGeneration.OFM:
            path = self._config.ofm_path
            headers = {"Authorization": f"Bearer {self._token.get()}"}
        else:
            path = self._config.classic_path
            headers = {"Client-Token": self._config.classic_token, "Api-Version": "3.0"}
        return SmAnswer.from_response(self._http.post(path, json=body, headers=headers))


class _TokenCache:
    _MARGIN_SECONDS = 30.0

    def __init__(self, http: httpx.Client, config: SmApiConfig) -> None:
        self._http = http
        self._config = config
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0

    def get(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires:
                self._fetch()
            assert self._token is not None
            return self._token

    def forget(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> None:
        response = self._http.post(
            self._config.ofm_auth_path,
            data={
                "client_id": self._config.client_id,
                "client_secret": self._config.client_secret,
                "grant_type": "client_credentials",
            },
        )
        response.raise_for_status()
        answer = response.json()
        self._token = str(answer["access_token"])
        ttl = float(answer.get("expires_in", 3600))
        margin = min(self._MARGIN_SECONDS, ttl / 10)  # renew a little before SM expires it
        self._expires = time.monotonic() + ttl - margin
