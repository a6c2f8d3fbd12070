"""The nginx front, rendered by ``smbridge nginx render``, in a real nginx before real
worker pools: TLS, allow-lists, limits, balancing and the request id."""

from __future__ import annotations

import os
import re
import socket
import ssl
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from smbridge.deploy.nginx import METRICS_BURST
from smbridge.entrypoints.stack import fresh_metrics_directory
from smbridge.kernel.database.tables import webhook_journal
from smbridge.kernel.database.unit_of_work import Database
from tests.conftest import make_settings
from tests.factories import HEADERS, add_store, envelope, order_payload, position
from tests.support.front import Front, WorkerPool, nginx_front, worker_environment, worker_pool

HOOK = "/sbermarket/orders/hook/"
SM = "127.0.0.1"  # SM's network
STORE = "127.0.0.3"  # a store's network
OFFICE = "127.0.0.4"  # the office
FOREIGN = "127.0.0.2"  # anyone else
SM_OTHER = "127.0.0.5"  # another of SM's addresses (nginx itself connects from 127.0.0.1)
API_RATE = 20  # per second per client; the flood test exceeds it
BODY_LIMIT = 64 * 1024
CONNECTIONS = 12  # requests in progress per client address (above the tests' thread pools)
FLOOD_CONNECTIONS = 10  # under CONNECTIONS: the flood meets the rate limit, not this one
FLOOD_CAP = 3000  # requests at most (at 20/s and a burst of 40, the 429s start near 60)


@pytest.fixture(scope="module")
def pools(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WorkerPool, WorkerPool]]:
    directory = tmp_path_factory.mktemp("workers")
    env = worker_environment(
        database_url,
        SMBRIDGE_HOOK_MAX_BODY_BYTES=str(BODY_LIMIT),
        SMBRIDGE_ERP_TOKEN="erp-token",
        PROMETHEUS_MULTIPROC_DIR=str(fresh_metrics_directory(directory)),
    )
    with (
        worker_pool("hook", 4, env, directory) as hook,
        worker_pool("assembly", 4, env, directory) as assembly,
    ):
        yield hook, assembly


@pytest.fixture(scope="module")
def front(
    database_url: str,
    pools: tuple[WorkerPool, WorkerPool],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Front]:
    hook, assembly = pools
    settings = make_settings(database_url, hook_max_body_bytes=BODY_LIMIT)
    with nginx_front(
        tmp_path_factory.mktemp("nginx"),
        settings,
        nginx_hook_servers=[f"127.0.0.1:{p}" for p in hook.ports],
        nginx_assembly_servers=[f"127.0.0.1:{p}" for p in assembly.ports],
        nginx_sm_networks=[f"{SM}/32", f"{SM_OTHER}/32"],
        nginx_store_networks=[f"{STORE}/32", f"{SM}/32"],
        nginx_office_networks=[f"{OFFICE}/32"],
        nginx_api_rate_per_second=API_RATE,
        nginx_connections_per_ip=CONNECTIONS,
    ) as running:
        yield running


def journal_size(db: Database) -> int:
    with db.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(webhook_journal)).scalar_one()


def test_https_answers_with_hsts_and_http_redirects_to_it(front: Front) -> None:
    with front.client() as client:
        answer = client.get("/healthz/hook")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "service": "hook"}
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    with httpx.Client() as plain:
        redirect = plain.get(f"{front.http_url}{HOOK}?x=1")
        forged = plain.get(f"{front.http_url}/", headers={"Host": "evil.example"})
    assert redirect.status_code == 301
    # the certificate's name (the stand's is "localhost"), whatever Host the client sent
    https_port = front.https_url.rsplit(":", 1)[1]
    assert forged.headers["location"] == f"https://localhost:{https_port}/"
    assert redirect.headers["location"] == f"https://localhost:{https_port}{HOOK}?x=1"


def test_http2_is_served(front: Front, db: Database) -> None:
    add_store(db)
    body = envelope("order.created", order_payload("H2000000001"))
    with front.client(http2=True) as client:
        check = client.get("/healthz/hook")
        webhook = client.post(HOOK, content=body, headers=HEADERS)
    assert (check.http_version, check.status_code) == ("HTTP/2", 200)
    assert (webhook.http_version, webhook.status_code) == ("HTTP/2", 200)
    assert journal_size(db) == 1


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_old_tls_is_refused_by_the_server(front: Front, version: ssl.TLSVersion) -> None:
    context = ssl.create_default_context(cafile=str(front.tls.certificate))
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer the old protocol
    with warnings.catch_warnings():  # Python deprecates choosing them; we do it on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = version
        context.maximum_version = version
    with pytest.raises(httpx.ConnectError) as refused, httpx.Client(verify=context) as client:
        client.get(f"{front.https_url}/healthz/hook")
    # the server's alert, not the client failing to offer the protocol
    assert "ALERT_PROTOCOL_VERSION" in str(refused.value).upper().replace(" ", "_")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_current_tls_is_accepted(front: Front, version: ssl.TLSVersion) -> None:
    context = ssl.create_default_context(cafile=str(front.tls.certificate))
    context.minimum_version = version
    context.maximum_version = version
    with httpx.Client(verify=context) as client:
        assert client.get(f"{front.https_url}/healthz/hook").status_code == 200


@pytest.mark.parametrize(
    ("source", "path", "allowed"),
    [
        (SM, HOOK, True),
        (STORE, HOOK, False),
        (FOREIGN, HOOK, False),
        (OFFICE, HOOK, False),
        (STORE, "/sbermarket/orders/api/listOrders", True),
        (FOREIGN, "/sbermarket/orders/api/listOrders", False),
        (OFFICE, "/erp/sales-documents", True),
        (SM, "/erp/sales-documents", False),
        (FOREIGN, "/healthz/hook", False),
    ],
)
def test_each_path_only_from_its_networks(
    front: Front, db: Database, source: str, path: str, allowed: bool
) -> None:
    add_store(db)
    body = envelope("order.created", order_payload())
    with front.client(source) as client:
        if path.startswith("/erp"):
            answer = client.get(path, headers={"X-ERP-Token": "erp-token"})
        else:
            answer = client.post(path, content=body, headers=HEADERS)
    entry = front.logged(answer.headers["x-request-id"])
    if allowed:  # it reached a worker, whatever the app then answered
        assert entry["upstream"].startswith("127.0.0.1:"), (answer.status_code, answer.text)
    else:
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "forbidden"
        assert entry["upstream"] == ""
        assert entry["uri"] == path  # the path asked for, not nginx's error page
        assert journal_size(db) == 0  # refused at the door: nothing stored


@pytest.mark.parametrize(
    ("source", "path", "allowed"),
    [
        (STORE, "/ui/login", True),
        (OFFICE, "/ui/login", True),
        (FOREIGN, "/ui/login", False),
        (STORE, "/ui/picker/", True),
        (OFFICE, "/ui/picker/", False),  # the picker app: from the stores' networks only
        (OFFICE, "/ui/ops/", True),
        (STORE, "/ui/ops/", False),  # operations and admin: from the office only
        (FOREIGN, "/ui/static/app.css", False),
    ],
)
def test_the_web_ui_only_from_its_networks(
    front: Front, source: str, path: str, allowed: bool
) -> None:
    with front.client(source) as client:
        answer = client.get(path)
    entry = front.logged(answer.headers["x-request-id"])
    if allowed:  # it reached a worker, whatever the app then answered
        assert entry["upstream"].startswith("127.0.0.1:"), (answer.status_code, answer.text)
    else:
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "forbidden"
        assert entry["upstream"] == ""


def test_a_flood_from_one_address_gets_429_and_others_are_served(front: Front) -> None:
    """Requests as fast as 10 connections carry them, until nginx limits the address.

    A fixed number of requests proved nothing on a slow box: under libfaketime (the moved-
    clock pass) 200 took longer than the rate and its burst allow, and all were served."""
    seen_429 = threading.Event()

    def flood(client: httpx.Client, _: int) -> httpx.Response | None:
        if seen_429.is_set():
            return None
        answer = client.get("/healthz/assembly")
        if answer.status_code == 429:
            seen_429.set()
        return answer

    sent = front.concurrently(STORE, FLOOD_CONNECTIONS, flood, range(FLOOD_CAP))
    answers = [answer for answer in sent if answer is not None]
    statuses = Counter(a.status_code for a in answers)
    assert statuses[429] > 0, statuses
    assert statuses[200] >= API_RATE, statuses
    limited = next(a for a in answers if a.status_code == 429)
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.headers["retry-after"] == "1"
    assert_hardened(limited)
    with front.client(SM) as other:  # the limit is per client address
        assert other.get("/healthz/assembly").status_code == 200


def test_an_oversized_body_is_refused_before_the_app(front: Front, db: Database) -> None:
    too_big = b'{"event_type":"order.created","payload":{"x":"' + b"x" * BODY_LIMIT + b'"}}'
    with front.client() as client:
        answer = client.post(HOOK, content=too_big, headers=HEADERS)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "body_too_large"
    assert journal_size(db) == 0


def test_unknown_paths_get_a_json_404(front: Front) -> None:
    with front.client() as client:
        answer = client.get("/wp-login.php")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


HARDENING = {
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "content-security-policy": "frame-ancestors 'none'",
}


def assert_hardened(answer: httpx.Response, tls: bool = True) -> None:
    """Each header once: a worker's own copy would make a second one."""
    for name, value in HARDENING.items():
        assert answer.headers.get_list(name) == [value], (answer.status_code, name)
    if tls:
        assert answer.headers.get_list("strict-transport-security") == ["max-age=63072000"]


def test_every_answer_carries_the_security_headers(front: Front) -> None:
    with front.client() as client:
        answers = [
            client.get("/healthz/hook"),  # the app's
            client.get("/wp-login.php"),  # nginx's 404
            client.post(HOOK, content=b"x" * (BODY_LIMIT + 1), headers=HEADERS),  # 413
        ]
    with front.client(FOREIGN) as foreign:
        answers.append(foreign.get("/healthz/hook"))  # 403
    answers.append(front.raw(b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n"))  # 400
    assert [a.status_code for a in answers] == [200, 404, 413, 403, 400]
    for answer in answers:
        assert_hardened(answer)
    with httpx.Client() as plain:
        assert_hardened(plain.get(f"{front.http_url}/"), tls=False)


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
        (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "bad_request"),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
            400,
            "header_too_large",
        ),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
    ],
    ids=["request-line", "host", "header-size", "uri-size"],
)
def test_nginx_refuses_a_malformed_request_in_json(
    front: Front, request_bytes: bytes, status: int, code: str
) -> None:
    answer = front.raw(request_bytes)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"]
    plain = front.raw(request_bytes, tls=False)  # port 80 refuses the same way
    assert (plain.status_code, plain.json()["error"]["code"]) == (status, code)


def test_plain_http_on_the_https_port_gets_a_json_400(front: Front) -> None:
    with httpx.Client() as plain:
        answer = plain.get(front.https_url.replace("https:", "http:") + "/healthz/hook")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "plain_http"
    assert_hardened(answer)


def test_nginx_workers_never_run_as_root(front: Front) -> None:
    uids = front.worker_uids()
    assert uids, "no nginx worker found"
    expected = {os.geteuid()} if os.geteuid() != 0 else None  # not root: its own user
    assert 0 not in uids
    assert expected is None or set(uids) == expected


def test_a_body_beyond_nginx_memory_buffers_reaches_the_app(front: Front, db: Database) -> None:
    """The unprivileged workers cannot write a temp file in the test's 0700 directory:
    nginx must keep such a body in memory (the old default spooled over 16 KiB to disk)."""
    add_store(db)
    positions = [position(f"{n:06d}", name=f"Товар номер {n} " + "х" * 100) for n in range(120)]
    body = envelope("order.created", order_payload("H3000000001", positions=positions))
    assert 32 * 1024 < len(body) < BODY_LIMIT
    with front.client() as client:
        answer = client.post(HOOK, content=body, headers=HEADERS)
    assert answer.status_code == 200, answer.text
    assert journal_size(db) == 1


def test_requests_are_spread_over_every_worker_of_each_pool(
    front: Front, pools: tuple[WorkerPool, WorkerPool], db: Database
) -> None:
    add_store(db)
    before = len(front.access_log())
    bodies = [envelope("order.created", order_payload(f"H9{n:09d}")) for n in range(40)]
    hooks = front.concurrently(SM, 8, lambda c, b: c.post(HOOK, content=b, headers=HEADERS), bodies)
    with front.client() as client:
        checks = [client.get("/healthz/assembly") for _ in range(12)]
    assert {a.status_code for a in hooks + checks} == {200}
    assert journal_size(db) == 40
    front.logged(checks[-1].headers["x-request-id"])  # the log has caught up
    served = Counter(entry["upstream"] for entry in front.access_log()[before:])
    hook, assembly = pools
    for port in hook.ports + assembly.ports:
        assert served[f"127.0.0.1:{port}"] > 0, served


def test_the_request_id_is_logged_by_nginx_and_by_the_app(
    front: Front, pools: tuple[WorkerPool, WorkerPool], db: Database
) -> None:
    add_store(db)
    with front.client() as client:
        answer = client.post(
            HOOK, content=envelope("order.created", order_payload("H777")), headers=HEADERS
        )
    assert answer.status_code == 200
    request_id = answer.headers["x-request-id"]
    assert len(answer.headers.get_list("x-request-id")) == 1
    logged = front.logged(request_id)
    assert logged["upstream"].startswith("127.0.0.1:")
    assert logged["tls"] in {"TLSv1.2", "TLSv1.3"}
    assert f'"request_id": "{request_id}"' in pools[0].logs()


def test_nginx_config_names_every_setting_it_was_given(tmp_path: Path, database_url: str) -> None:
    """`smbridge nginx render` is what the tests run: its output is the config above."""
    from smbridge.deploy import nginx

    settings = make_settings(
        database_url,
        nginx_hook_servers=["10.0.0.5:8100", "10.0.0.6:8100"],
        nginx_public_host="smbridge.retailer.example",
    )
    text = nginx.render(nginx.plan_from_settings(settings, state_dir=str(tmp_path)))
    assert "server 10.0.0.5:8100 max_fails=3 fail_timeout=10s;" in text
    assert "server 10.0.0.6:8100 max_fails=3 fail_timeout=10s;" in text
    assert text.count("proxy_next_upstream error timeout non_idempotent;") == 1  # the hook


def test_the_app_sees_the_client_address_nginx_saw_and_trusts_no_one_else(
    front: Front, pools: tuple[WorkerPool, WorkerPool], db: Database
) -> None:
    add_store(db)
    body = envelope("order.created", order_payload("H778"))
    with front.client(STORE) as client:  # a store's address may not post webhooks...
        assert client.post(HOOK, content=body, headers=HEADERS).status_code == 403
    with front.client(SM_OTHER) as client:
        via_nginx = client.post(HOOK, content=body, headers=HEADERS)
    spoofing = {**HEADERS, "X-Forwarded-For": "198.51.100.7", "X-Request-ID": "spoofed-1"}
    transport = httpx.HTTPTransport(local_address=FOREIGN)
    with httpx.Client(transport=transport) as direct:  # around nginx, claiming an address
        port = pools[0].ports[0]
        direct.post(f"http://127.0.0.1:{port}{HOOK}", content=body, headers=spoofing)
    lines = [orjson.loads(line) for line in pools[0].logs().splitlines() if line.startswith("{")]
    by_id = {line.get("request_id"): line for line in lines}
    assert by_id[via_nginx.headers["x-request-id"]]["client"] == SM_OTHER
    assert by_id["spoofed-1"]["client"] == FOREIGN  # X-Forwarded-For ignored from it


def hooks_answered(client: httpx.Client) -> float:
    """``/metrics/hook`` as the office scrapes it: webhooks answered 200 by the whole pool."""
    text = client.get("/metrics/hook").text
    pattern = (
        r"smbridge_http_requests_total\{[^}]*"
        r'route="/sbermarket/orders/hook/"[^}]*status="200"[^}]*\} (\S+)'
    )
    return sum(float(value) for value in re.findall(pattern, text))


def test_metrics_sum_the_whole_pool_and_only_the_office_may_read_them(
    front: Front, db: Database
) -> None:
    add_store(db)
    with front.client(OFFICE) as office, front.client(SM) as sm:
        before = hooks_answered(office)
        bodies = [envelope("order.created", order_payload(f"H8{n:09d}")) for n in range(20)]
        upstreams = set()
        for body in bodies:
            answer = sm.post(HOOK, content=body, headers=HEADERS)
            assert answer.status_code == 200
            upstreams.add(front.logged(answer.headers["x-request-id"])["upstream"])
        assert len(upstreams) > 1  # spread over several workers...
        # ...and any one of them counts all. A worker counts a request once its answer is
        # sent, so the last one may still be on its way: wait for it (bounded), never more.
        deadline = time.monotonic() + 10
        while hooks_answered(office) - before < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert hooks_answered(office) - before == 20
        refused = sm.get("/metrics/hook")
    assert refused.status_code == 403


def start_slow_upload(front: Front, source: str) -> ssl.SSLSocket:
    """A webhook whose body never comes: nginx holds the request (and a connection slot)
    until its body timeout."""
    context = ssl.create_default_context(cafile=str(front.tls.certificate))
    port = int(front.https_url.rsplit(":", 1)[1])
    raw = socket.create_connection(("127.0.0.1", port), source_address=(source, 0))
    connection = context.wrap_socket(raw, server_hostname="127.0.0.1")
    head = (
        f"POST {HOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\nClient-Token: test-token\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    connection.sendall(head.encode())
    return connection


def test_too_many_requests_in_progress_from_one_address_get_429(front: Front) -> None:
    held = [start_slow_upload(front, SM) for _ in range(CONNECTIONS)]
    try:
        with front.client(SM) as client:
            answers = [client.get("/healthz/hook") for _ in range(3)]
        with front.client(STORE) as other:  # the limit is per address
            assert other.get("/healthz/hook").status_code == 200
    finally:
        for connection in held:
            connection.close()
    assert [a.status_code for a in answers] == [429] * 3
    assert answers[0].json()["error"]["code"] == "rate_limited"
    with front.client(SM) as client:  # slots free again once those requests end
        deadline = time.monotonic() + 5
        while client.get("/healthz/hook").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_metrics_scraped_in_a_loop_get_429(front: Front) -> None:
    """Last in the module: the office's metrics allowance is spent for a few seconds."""
    scrapes = METRICS_BURST + 7
    answers = front.concurrently(
        OFFICE, scrapes, lambda c, _: c.get("/metrics/assembly"), range(scrapes)
    )
    statuses = Counter(a.status_code for a in answers)
    assert statuses[200] >= 1, statuses
    assert statuses[429] >= scrapes - METRICS_BURST - 2, statuses  # 1 r/s: one more may pass
    limited = next(a for a in answers if a.status_code == 429)
    assert limited.json()["error"]["code"] == "rate_limited"
    with front.client(OFFICE) as office:  # the office's other paths have their own limit
        erp = office.get("/erp/sales-documents", headers={"X-ERP-Token": "erp-token"})
    assert erp.status_code == 200
