"""The SM notification client for both API generations, against a scripted HTTP transport."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from smbridge.notifications.sm_client import SmAnswerKind, SmApiConfig, SmApiGeneration, SmClient

BODY = {"event": {"type": "order.in_work", "payload": {"order_id": "H1"}}}
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, **config: object) -> SmClient:
    cfg = SmApiConfig(base_url="https://sm.test", **config)  # type: ignore[arg-type]
    return SmClient(
        cfg, httpx.Client(base_url=cfg.base_url, transport=httpx.MockTransport(handler))
    )


def test_classic_sends_client_token_and_api_version_on_its_path() -> None:
    seen: list[httpx.Request] = []

    def sm(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    result = client(sm, classic_token="sm-issued", classic_path="/v3/notifications").send(BODY)

    assert result.kind is SmAnswerKind.DELIVERED
    (request,) = seen
    assert request.url.path == "/v3/notifications"
    assert request.headers["Client-Token"] == "sm-issued"
    assert request.headers["Api-Version"] == "3.0"
    assert request.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, SmAnswerKind.DELIVERED),
        (202, SmAnswerKind.DELIVERED),
        (422, SmAnswerKind.REFUSED),
        (405, SmAnswerKind.REFUSED),
        (400, SmAnswerKind.REFUSED),
        (401, SmAnswerKind.RETRY),
        (429, SmAnswerKind.RETRY),
        (500, SmAnswerKind.RETRY),
        (503, SmAnswerKind.RETRY),
    ],
)
def test_answers_map_to_kinds(status: int, kind: SmAnswerKind) -> None:
    result = client(lambda _r: httpx.Response(status, text="why")).send(BODY)
    assert (result.kind, result.status, result.detail) == (kind, status, "why")


def test_no_answer_at_all_is_retried() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    result = client(down).send(BODY)
    assert (result.kind, result.status) == (SmAnswerKind.RETRY, None)
    assert "ConnectError" in result.detail


class OfmServer:
    def __init__(self) -> None:
        self.tokens_issued = 0
        self.valid: set[str] = set()
        self.authorizations: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            form = parse_qs(request.content.decode())
            assert form == {
                "client_id": ["me"],
                "client_secret": ["s3cret"],
                "grant_type": ["client_credentials"],
            }
            self.tokens_issued += 1
            token = f"t{self.tokens_issued}"
            self.valid = {token}
            return httpx.Response(200, json={"access_token": token, "expires_in": 3600})
        assert request.url.path == "/ofm/api/v1/notifications"
        auth = request.headers.get("Authorization", "")
        self.authorizations.append(auth)
        ok = auth.removeprefix("Bearer ") in self.valid
        return httpx.Response(200 if ok else 401)


def test_ofm_fetches_a_token_once_and_reuses_it() -> None:
    server = OfmServer()
    ofm = client(server, generation=SmApiGeneration.OFM, client_id="me", client_secret="s3cret")
    assert [ofm.send(BODY).kind for _ in range(3)] == [SmAnswerKind.DELIVERED] * 3
    assert server.tokens_issued == 1
    assert server.authorizations == ["Bearer t1"] * 3


def test_ofm_401_gets_a_new_token_and_retries_once() -> None:
    server = OfmServer()
    ofm = client(server, generation=SmApiGeneration.OFM, client_id="me", client_secret="s3cret")
    ofm.send(BODY)
    server.valid = set()  # SM revoked it
    result = ofm.send(BODY)
    assert result.kind is SmAnswerKind.DELIVERED
    assert server.tokens_issued == 2
    assert server.authorizations == ["Bearer t1", "Bearer t1", "Bearer t2"]


def test_ofm_token_endpoint_failure_is_retried_later() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500 if request.url.path == "/auth/token" else 200)

    ofm = client(broken, generation=SmApiGeneration.OFM, client_id="me", client_secret="x")
    assert ofm.send(BODY).kind is SmAnswerKind.RETRY
