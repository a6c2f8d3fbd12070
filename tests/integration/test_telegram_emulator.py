"""The Telegram Bot API emulator answers like Telegram: shapes, limits with real 429s,
text rules, failures on demand, and a record that survives a restart."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient
from typer.testing import CliRunner

from smbridge.emulators.telegram.app import create_app
from smbridge.emulators.telegram.bot import TelegramEmulator
from smbridge.emulators.telegram.html import visible_text
from smbridge.emulators.telegram.limits import BotLimits
from smbridge.entrypoints.cli.telegram_emulator import emulate_telegram

TOKEN = "123:test"
SEND = f"/bot{TOKEN}/sendMessage"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """The emulator's slow mode waits here: recorded, and the clock moves instead."""
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(
    clock: FakeClock, limits: BotLimits | None = None, state_file: Path | None = None
) -> TestClient:
    emulator = TelegramEmulator(
        TOKEN,
        limits,
        state_file=state_file,
        clock=clock,
        wall_clock=lambda: 1_790_000_000.5,
        sleep=clock.sleep,
    )
    return TestClient(create_app(emulator))


@pytest.fixture
def client(clock: FakeClock) -> Iterator[TestClient]:
    with make_client(clock) as test_client:
        yield test_client


def send(client: TestClient, chat_id: int | str, text: str = "Заказ 42", **extra: Any) -> Any:
    return client.post(SEND, json={"chat_id": chat_id, "text": text, **extra})


def stats(client: TestClient) -> dict[str, Any]:
    answer: dict[str, Any] = client.get("/admin/stats").json()
    return answer


# -- sendMessage ----------------------------------------------------------------------------


def test_success_has_telegrams_shape_and_ids_increase_per_chat(
    client: TestClient, clock: FakeClock
) -> None:
    first = send(client, 42, "<b>Заказ</b> 1", parse_mode="HTML", disable_web_page_preview=True)
    assert first.status_code == 200
    body = first.json()
    assert body["ok"] is True
    assert body["result"]["message_id"] == 1
    assert body["result"]["chat"]["id"] == 42
    assert body["result"]["date"] == 1_790_000_000
    assert body["result"]["text"] == "<b>Заказ</b> 1"

    clock.advance(1)
    # A string chat id is the same chat; a form-encoded body works as well.
    second = client.post(SEND, data={"chat_id": "42", "text": "Заказ 2"})
    assert second.status_code == 200
    assert second.json()["result"]["message_id"] == 2
    assert second.json()["result"]["chat"]["id"] == 42
    other = send(client, -1001)
    assert other.json()["result"]["message_id"] == 1  # every chat counts on its own

    messages = client.get("/admin/messages").json()
    assert [(m["chat_id"], m["message_id"], m["parse_mode"]) for m in messages] == [
        (42, 1, "HTML"),
        (42, 2, None),
        (-1001, 1, None),
    ]
    assert messages[0]["text"] == "<b>Заказ</b> 1"
    assert messages[0]["time"] == 1_790_000_000.5
    assert [m["message_id"] for m in client.get("/admin/messages?chat_id=-1001").json()] == [1]


def test_a_wrong_token_is_unauthorized_and_nothing_is_recorded(client: TestClient) -> None:
    answer = client.post("/botnope/sendMessage", json={"chat_id": 1, "text": "x"})
    assert answer.status_code == 401
    assert answer.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert client.get("/admin/messages").json() == []
    assert stats(client)["rejected"]["unauthorized"] == 1
    unknown = client.post(f"/bot{TOKEN}/sendSticker", json={"chat_id": 1})
    assert (unknown.status_code, unknown.json()["description"]) == (404, "Not Found")


def test_missing_or_unusable_chat_ids_are_bad_requests(client: TestClient) -> None:
    missing = client.post(SEND, json={"text": "x"})
    assert missing.status_code == 400
    assert missing.json()["description"] == "Bad Request: chat_id is empty"
    assert send(client, "not a chat").json()["description"] == "Bad Request: chat not found"
    not_json = client.post(SEND, content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400
    assert stats(client)["accepted"] == 0


# -- limits -------------------------------------------------------------------------------


def assert_too_many(answer: Any, retry_after: int) -> None:
    assert answer.status_code == 429
    assert answer.json() == {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }


def test_one_message_per_second_to_a_private_chat(client: TestClient, clock: FakeClock) -> None:
    assert send(client, 42).status_code == 200
    assert_too_many(send(client, 42), 1)
    assert send(client, 43).status_code == 200  # another chat is not held up
    clock.now = 1000.6
    assert_too_many(send(client, 42), 1)  # 0.4 s left: rounded up to a whole second
    clock.now = 1001.0
    assert send(client, 42).json()["result"]["message_id"] == 2  # the 429s took no id
    assert [m["chat_id"] for m in client.get("/admin/messages").json()] == [42, 43, 42]
    assert stats(client)["rejected"]["429"] == 2


def test_twenty_messages_a_minute_to_a_group(clock: FakeClock) -> None:
    with make_client(clock) as client:
        for _ in range(20):
            assert send(client, -100500).status_code == 200
            clock.advance(0.5)
        # The first went out 10 s ago: a slot frees in 50 s.
        assert_too_many(send(client, -100500), 50)
        assert send(client, 7).status_code == 200  # private chats are not affected
        clock.now = 1059.2
        assert_too_many(send(client, -100500), 1)
        clock.now = 1060.0
        assert send(client, "-100500").status_code == 200
        assert_too_many(send(client, -100500), 1)  # the second send freed up 0.5 s later
        assert stats(client)["accepted_per_chat"]["-100500"] == 21


def test_thirty_messages_a_second_for_the_bot(clock: FakeClock) -> None:
    with make_client(clock) as client:
        for chat in range(1, 31):
            assert send(client, chat).status_code == 200
        assert_too_many(send(client, 31), 1)
        assert_too_many(send(client, -5), 1)  # the global limit holds for groups too
        clock.now = 1000.999
        assert_too_many(send(client, 31), 1)
        clock.now = 1001.0
        assert send(client, 31).status_code == 200
        assert stats(client)["accepted"] == 31
        assert stats(client)["rejected"]["429"] == 3


def test_limits_are_configurable_and_retry_after_is_whole_seconds(clock: FakeClock) -> None:
    limits = BotLimits(global_per_second=2, private_per_second=5, group_per_minute=2)
    with make_client(clock, limits) as client:
        assert send(client, 1).status_code == 200
        assert send(client, 1).status_code == 200  # five a second to one private chat
        assert_too_many(send(client, 2), 1)  # but only two a second overall
        clock.now = 1001.0
        assert send(client, -9).status_code == 200
        clock.now = 1011.3
        assert send(client, -9).status_code == 200
        clock.now = 1011.8
        assert_too_many(send(client, -9), 50)  # two a minute: 49.2 s left, rounded up


def test_retry_after_rounds_up(clock: FakeClock) -> None:
    limits = BotLimits(group_per_minute=1)
    with make_client(clock, limits) as client:
        assert send(client, -9).status_code == 200
        clock.now = 1010.2
        assert_too_many(send(client, -9), 50)  # 49.8 s left
        clock.now = 1059.2
        assert_too_many(send(client, -9), 1)  # 0.8 s left
        clock.now = 1060.0
        assert send(client, -9).status_code == 200


# -- chats and failures on demand -----------------------------------------------------------


def test_chat_not_found_and_bot_blocked(client: TestClient, clock: FakeClock) -> None:
    assert client.post("/admin/chats/-77", json={"state": "not_found"}).status_code == 200
    assert client.post("/admin/chats/42", json={"state": "blocked"}).status_code == 200
    lost = send(client, "-77")
    assert (lost.status_code, lost.json()["description"]) == (400, "Bad Request: chat not found")
    blocked = send(client, 42)
    assert blocked.status_code == 403
    assert blocked.json() == {
        "ok": False,
        "error_code": 403,
        "description": "Forbidden: bot was blocked by the user",
    }
    assert send(client, 43).status_code == 200
    assert client.post("/admin/chats/42", json={"state": "ok"}).status_code == 200
    assert send(client, 42).status_code == 200
    counts = stats(client)
    assert (counts["rejected"]["not_found"], counts["rejected"]["blocked"]) == (1, 1)
    assert counts["accepted_per_chat"] == {"43": 1, "42": 1}
    bad = client.post("/admin/chats/42", json={"state": "sleepy"})
    assert bad.status_code == 400


def test_5xx_mode_answers_502_until_it_expires(client: TestClient, clock: FakeClock) -> None:
    assert client.post("/admin/fail", json={"mode": "5xx", "seconds": 5}).status_code == 200
    for _ in range(3):
        answer = send(client, 42)
        assert answer.status_code == 502
        assert "502 Bad Gateway" in answer.text
        clock.advance(1)
    clock.advance(2)
    assert send(client, 42).status_code == 200
    assert stats(client)["rejected"]["5xx"] == 3
    assert stats(client)["accepted"] == 1

    client.post("/admin/fail", json={"mode": "5xx", "seconds": 60})
    assert send(client, 43).status_code == 502
    client.post("/admin/fail", json={"mode": "none"})
    assert send(client, 43).status_code == 200


def test_slow_mode_delays_then_answers_normally(client: TestClient, clock: FakeClock) -> None:
    client.post("/admin/fail", json={"mode": "slow", "seconds": 10, "delay": 0.05})
    answer = send(client, 42)
    assert clock.slept == [0.05]
    assert answer.status_code == 200
    clock.advance(10)
    assert send(client, 43).status_code == 200
    assert clock.slept == [0.05]  # the slow spell is over: no more waiting


def test_reset_forgets_everything(client: TestClient) -> None:
    send(client, 42)
    client.post("/admin/chats/43", json={"state": "blocked"})
    client.post("/admin/fail", json={"mode": "5xx", "seconds": 60})
    assert client.post("/admin/reset").status_code == 200
    assert client.get("/admin/messages").json() == []
    assert send(client, 43).json()["result"]["message_id"] == 1
    assert stats(client)["rejected_total"] == 0


@pytest.fixture
def live_server() -> Iterator[str]:
    """The app on a real socket (127.0.0.1), for what only a real connection shows."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(TelegramEmulator(TOKEN))
    config = uvicorn.Config(app, log_level="critical", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started:
        assert time.monotonic() < deadline, "the emulator did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)
    sock.close()


def test_drop_mode_closes_the_connection_without_an_answer(live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=5) as http:
        http.post("/admin/fail", json={"mode": "drop", "seconds": 30})
        # The server closes mid-answer: the client sees the body cut short, or, when the
        # close overtakes its read, a reset. Either way no answer arrives.
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            http.post(SEND, json={"chat_id": 42, "text": "x"})
        http.post("/admin/fail", json={"mode": "none"})
        answer = http.post(SEND, json={"chat_id": 42, "text": "x"})
        assert answer.status_code == 200
        assert answer.json()["result"]["message_id"] == 1  # the dropped one was not delivered
        counts = http.get("/admin/stats").json()
        assert (counts["accepted"], counts["rejected"]["drop"]) == (1, 1)


# -- text rules -----------------------------------------------------------------------------


def test_empty_and_too_long_texts(client: TestClient, clock: FakeClock) -> None:
    for body in ({"chat_id": 42, "text": ""}, {"chat_id": 42, "text": "  \n"}, {"chat_id": 42}):
        answer = client.post(SEND, json=body)
        assert answer.status_code == 400
        assert answer.json()["description"] == "Bad Request: message text is empty"
    empty_html = send(client, 42, "<b></b>", parse_mode="HTML")
    assert empty_html.json()["description"] == "Bad Request: message text is empty"

    too_long = send(client, 42, "я" * 4097)
    assert too_long.status_code == 400
    assert too_long.json()["description"] == "Bad Request: message is too long"
    assert send(client, 42, "я" * 4096).status_code == 200
    clock.advance(1)
    # HTML: the visible text counts, not the markup or the entities' spelling.
    assert send(client, 42, "<b>" + "&lt;" * 4096 + "</b>", parse_mode="HTML").status_code == 200
    clock.advance(1)
    over = send(client, 42, "&amp;" * 4097, parse_mode="HTML")
    assert over.json()["description"] == "Bad Request: message is too long"
    counts = stats(client)["rejected"]
    assert (counts["empty"], counts["too_long"]) == (4, 2)
    assert stats(client)["accepted"] == 2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("plain</b>", "Unexpected end tag at byte offset 5"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("<blink>x</blink>", 'Unsupported start tag "blink" at byte offset 0'),
        ("Заказ <br> 1", 'Unsupported start tag "br" at byte offset 11'),
        ("1 < 2", "Unclosed start tag at byte offset 2"),
        ("AT&T", "Character entity expected at byte offset 2"),
        ("&nbsp;", "Character entity expected at byte offset 0"),
    ],
)
def test_html_that_does_not_parse_is_refused(client: TestClient, text: str, problem: str) -> None:
    answer = send(client, 42, text, parse_mode="HTML")
    assert answer.status_code == 400
    assert answer.json()["description"] == f"Bad Request: can't parse entities: {problem}"
    assert stats(client)["rejected"]["parse"] == 1
    assert client.get("/admin/messages").json() == []


def test_valid_html_with_entities_is_accepted(client: TestClient, clock: FakeClock) -> None:
    text = (
        '<b>Заказ</b> <i>SM1</i> <u>u</u> <s>s</s> <a href="https://x.test/?a=1&amp;b=2">o</a>'
        " <pre><code>x &lt; y</code></pre> &amp; &gt; &quot; &#1071; &#x42F; 2 > 1"
    )
    assert send(client, 42, text, parse_mode="HTML").status_code == 200
    assert visible_text(text) == 'Заказ SM1 u s o x < y & > " Я Я 2 > 1'
    clock.advance(1)
    # Without a parse mode nothing is markup: "<" and "&" are just characters.
    assert send(client, 42, "1 < 2 & AT&T <b>").status_code == 200
    assert [m["text"] for m in client.get("/admin/messages").json()] == [
        text,
        "1 < 2 & AT&T <b>",
    ]


# -- stats and persistence --------------------------------------------------------------------


def test_stats_show_counts_and_the_highest_rates_seen(clock: FakeClock) -> None:
    with make_client(clock, BotLimits(private_per_second=2)) as client:
        for offset, chat in [(0.0, 1), (0.1, 2), (0.2, 1), (0.3, 3), (0.9, 4)]:
            clock.now = 1000.0 + offset
            assert send(client, chat).status_code == 200
        clock.now = 1001.5
        assert send(client, 1).status_code == 200
        assert send(client, 1).status_code == 200
        assert_too_many(send(client, 1), 1)  # three in a second to chat 1 would be too many
        for _ in range(3):
            assert send(client, -50).status_code == 200
            clock.advance(5)
        counts = stats(client)
    assert counts["accepted"] == 10
    assert counts["accepted_per_chat"] == {"1": 4, "2": 1, "3": 1, "4": 1, "-50": 3}
    assert counts["max_per_second"] == 5  # 1000.0 .. 1000.9
    assert counts["max_per_second_per_chat"]["1"] == 2
    assert counts["max_per_second_any_chat"] == 2
    assert counts["max_per_second_per_chat"]["-50"] == 1
    assert counts["max_per_minute_per_chat"]["-50"] == 3
    assert counts["rejected"]["429"] == 1
    assert counts["limits"] == {
        "global_per_second": 30,
        "private_per_second": 2,
        "group_per_minute": 20,
    }


def test_the_state_file_survives_a_restart(clock: FakeClock, tmp_path: Path) -> None:
    state = tmp_path / "telegram.jsonl"
    with make_client(clock, state_file=state) as client:
        assert send(client, 42, "first").status_code == 200
        assert send(client, -7, "<b>group</b>", parse_mode="HTML").status_code == 200
        clock.advance(1)
        assert send(client, 42, "second").status_code == 200
        assert send(client, 42, "refused").status_code == 429
        before = client.get("/admin/messages").json()
    assert len(state.read_text(encoding="utf-8").splitlines()) == 3
    with state.open("a", encoding="utf-8") as out:
        out.write('{"chat_id": 42, "message_id": 9, "te')  # a write cut short by a crash

    with make_client(clock, state_file=state) as client:
        assert client.get("/admin/messages").json() == before
        clock.advance(1)
        assert send(client, 42, "third").json()["result"]["message_id"] == 3
        assert send(client, -7, "again").json()["result"]["message_id"] == 2
        assert stats(client)["accepted_per_chat"] == {"42": 3, "-7": 2}
        assert [m["text"] for m in client.get("/admin/messages").json()] == [
            "first",
            "<b>group</b>",
            "second",
            "third",
            "again",
        ]
    rows = [json.loads(line) for line in state.read_text(encoding="utf-8").splitlines()[-2:]]
    assert [(row["chat_id"], row["message_id"]) for row in rows] == [(42, 3), (-7, 2)]

    with make_client(clock, state_file=state) as client:
        assert len(client.get("/admin/messages").json()) == 5
        client.post("/admin/reset")
    with make_client(clock, state_file=state) as client:
        assert client.get("/admin/messages").json() == []


def test_the_command_offers_its_options() -> None:
    import typer

    app = typer.Typer()
    app.command("telegram")(emulate_telegram)
    app.command("other")(lambda: None)
    result = CliRunner().invoke(app, ["telegram", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for option in (
        "--host",
        "--port",
        "--token",
        "--global-per-second",
        "--private-per-second",
        "--group-per-minute",
        "--state-file",
    ):
        assert option in result.output
