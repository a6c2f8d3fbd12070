"""The Telegram Bot API emulator («тестовый контур»): ``sendMessage`` as Telegram answers it.

It checks the bot token, the text (empty, too long, HTML that does not parse) and the flood
limits (per bot per second, per private chat per second, per group per minute), answering
with the real Bot API's status codes and bodies, 429 with ``parameters.retry_after``
included. Tests switch on failures through an admin API: a chat that is not found or has
blocked the bot, and for a while 502s, slow answers or dropped connections. Every accepted
message is recorded (and, with a state file, survives a restart), so a test or a benchmark
can prove from Telegram's side that nothing was lost, duplicated or sent too fast.

Log lines carry chat ids and reasons, never message texts or the token.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import math
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

log = structlog.get_logger(__name__)

Clock = Callable[[], float]

TEXT_LIMIT = 4096
SECOND = 1.0
MINUTE = 60.0

#: Why a ``sendMessage`` was refused; every key is always present in the stats.
REJECT_REASONS = (
    "429",
    "not_found",
    "blocked",
    "too_long",
    "empty",
    "parse",
    "bad_request",
    "unauthorized",
    "5xx",
    "drop",
)

#: Tags Telegram's HTML parse mode knows (the ones we use are b, i, u, s, code, pre, a).
HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a"}
    | {"tg-spoiler", "blockquote"}
)

_TAG = re.compile(
    r"<(?P<end>/?)(?P<name>[A-Za-z][A-Za-z0-9-]*)"
    r"(?P<attrs>(?:\s+[A-Za-z][A-Za-z0-9-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'<>]+))?)*)"
    r"\s*>"
)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
_NUMERIC_CHAT = re.compile(r"-?[0-9]{1,20}")
_BAD_GATEWAY = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_DROP_LOG_LINE = "ASGI callable returned without completing response."


class FailMode(StrEnum):
    NONE = "none"
    BAD_GATEWAY = "5xx"  # every sendMessage answers 502 (nginx's HTML page, like Telegram's)
    SLOW = "slow"  # wait ``delay`` seconds, then answer normally
    DROP = "drop"  # start the answer, then close the connection: the client gets no reply


class ChatState(StrEnum):
    OK = "ok"
    NOT_FOUND = "not_found"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class BotLimits:
    global_per_second: int = 30
    private_per_second: int = 1
    group_per_minute: int = 20


@dataclass(frozen=True)
class Delivered:
    """One accepted message, as recorded (and as written to the state file)."""

    chat_id: int | str
    message_id: int
    text: str
    parse_mode: str | None
    time: float  # unix time of acceptance

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


class HtmlError(ValueError):
    """The text does not parse in HTML mode; the message is Telegram's wording."""


@dataclass
class _Failure:
    mode: FailMode = FailMode.NONE
    until: float = 0.0
    delay: float = 0.0


@dataclass
class _Rates:
    """Accepted sends on the monotonic clock: the limit windows and the observed maxima."""

    overall: deque[float] = field(default_factory=deque)  # the last second
    chats: dict[int | str, deque[float]] = field(default_factory=dict)  # the last minute
    max_per_second: int = 0
    max_per_second_per_chat: Counter[str] = field(default_factory=Counter)
    max_per_minute_per_chat: Counter[str] = field(default_factory=Counter)


# -- pure rules ---------------------------------------------------------------------------


def visible_text(text: str) -> str:
    """The text a reader sees in HTML mode: tags checked and dropped, entities decoded.

    Raises :class:`HtmlError` (Telegram's wording) for an unknown or unbalanced tag, a
    ``<`` that starts no tag, or an ``&`` that starts no entity.
    """
    parts: list[str] = []
    open_tags: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "<":
            match = _TAG.match(text, index)
            if match is None:
                raise HtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, index)}")
            _check_tag(match, open_tags, _byte_offset(text, index))
            index = match.end()
        elif char == "&":
            entity = _ENTITY.match(text, index)
            if entity is None:
                raise HtmlError(
                    f"Character entity expected at byte offset {_byte_offset(text, index)}"
                )
            parts.append(html.unescape(entity.group()))
            index = entity.end()
        else:
            parts.append(char)
            index += 1
    if open_tags:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(parts)


def _check_tag(match: re.Match[str], open_tags: list[str], offset: int) -> None:
    name = match.group("name").lower()
    if not match.group("end"):
        if name not in HTML_TAGS:
            raise HtmlError(f'Unsupported start tag "{name}" at byte offset {offset}')
        open_tags.append(name)
        return
    if match.group("attrs"):
        raise HtmlError(f"Unexpected end tag attributes at byte offset {offset}")
    if not open_tags:
        raise HtmlError(f"Unexpected end tag at byte offset {offset}")
    if open_tags[-1] != name:
        raise HtmlError(
            f'Unmatched end tag at byte offset {offset}, expected "</{open_tags[-1]}>", '
            f'found "</{name}>"'
        )
    open_tags.pop()


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def normalize_chat_id(raw: object) -> int | str | None:
    """``123`` and ``"123"`` are the same chat; ``"@name"`` stays a name; else ``None``."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        value = raw.strip()
        if _NUMERIC_CHAT.fullmatch(value):
            return int(value)
        if value.startswith("@") and len(value) > 1:
            return value
    return None


def is_private(chat_id: int | str) -> bool:
    """Users have positive ids; groups, supergroups and channels (``@name`` too) do not."""
    return isinstance(chat_id, int) and chat_id > 0


def window_wait(sends: Iterable[float], window: float, allowed: int, now: float) -> float:
    """Seconds until one more send fits ``allowed`` per ``window`` (0: it fits now).

    A send at ``t`` counts while ``t > now - window``, as in the sender's own limiter.
    """
    recent = [moment for moment in sends if moment > now - window]
    if len(recent) < allowed:
        return 0.0
    return recent[len(recent) - allowed] + window - now


def _cut_unfinished_line(path: Path) -> None:
    """Drop a last line cut short by a crash mid-write, so appending starts on a fresh line.

    That send was never answered, so for the client it did not happen.
    """
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        with path.open("r+b") as out:
            out.truncate(keep)
        log.warning("telegram_emulator.unfinished_line_dropped", bytes=len(data) - keep)


def _count_since(sends: deque[float], since: float) -> int:
    count = 0
    for moment in reversed(sends):
        if moment <= since:
            break
        count += 1
    return count


def _error(status: int, description: str, **parameters: int) -> Reply:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(status, body)


# -- the emulated bot ---------------------------------------------------------------------


class TelegramEmulator:
    """Telegram's side of one bot: limits, failure modes, and every accepted message."""

    def __init__(
        self,
        token: str = "test-bot-token",  # noqa: S107 - the test stand's default token
        limits: BotLimits | None = None,
        *,
        state_file: Path | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.token = token
        self.limits = limits or BotLimits()
        self.state_file = state_file
        self._clock = clock
        self._wall_clock = wall_clock
        self.sleep = sleep  # slow mode's wait, replaceable so tests need not wait
        self._clear()
        if state_file is not None:
            self._load(state_file)

    def _clear(self) -> None:
        self.delivered: list[Delivered] = []
        self._next_id: dict[int | str, int] = {}
        self._per_chat: Counter[str] = Counter()
        self._rejected: Counter[str] = Counter(dict.fromkeys(REJECT_REASONS, 0))
        self._chat_states: dict[int | str, ChatState] = {}
        self._failure = _Failure()
        self._rates = _Rates()

    def _load(self, path: Path) -> None:
        if not path.exists():
            return
        _cut_unfinished_line(path)
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    record = Delivered(
                        chat_id=row["chat_id"],
                        message_id=int(row["message_id"]),
                        text=str(row["text"]),
                        parse_mode=row.get("parse_mode"),
                        time=float(row["time"]),
                    )
                except (ValueError, KeyError, TypeError):
                    # A line cut short by a crash mid-write: that send was never answered.
                    log.warning("telegram_emulator.state_line_skipped", line=number)
                    continue
                self._remember(record)
        log.info("telegram_emulator.state_loaded", messages=len(self.delivered))

    def _remember(self, record: Delivered) -> None:
        self.delivered.append(record)
        self._per_chat[str(record.chat_id)] += 1
        self._next_id[record.chat_id] = max(
            self._next_id.get(record.chat_id, 1), record.message_id + 1
        )

    # -- admin --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything: messages (the state file too), chat states, failures, stats."""
        self._clear()
        if self.state_file is not None and self.state_file.exists():
            self.state_file.write_text("", encoding="utf-8")
        log.info("telegram_emulator.reset")

    def set_chat_state(self, chat_id: int | str, state: ChatState) -> None:
        if state is ChatState.OK:
            self._chat_states.pop(chat_id, None)
        else:
            self._chat_states[chat_id] = state
        log.info("telegram_emulator.chat_state", chat_id=chat_id, state=state.value)

    def set_failure(self, mode: FailMode, seconds: float, delay: float = 0.0) -> None:
        if mode is FailMode.NONE:
            self._failure = _Failure()
        else:
            self._failure = _Failure(mode, self._clock() + seconds, delay)
        log.info("telegram_emulator.failure", mode=mode.value, seconds=seconds, delay=delay)

    def failure(self) -> tuple[FailMode, float]:
        """The failure mode in force now, and the delay for ``slow``."""
        current = self._failure
        if current.mode is FailMode.NONE or self._clock() >= current.until:
            return FailMode.NONE, 0.0
        return current.mode, current.delay

    def count_rejection(self, reason: str) -> None:
        self._rejected[reason] += 1

    # -- sendMessage ----------------------------------------------------------------------

    def send_message(self, token: str, params: Mapping[str, object]) -> Reply:
        """Telegram's answer to ``sendMessage``; only an accepted message is recorded."""
        if self.failure()[0] is FailMode.BAD_GATEWAY:  # Telegram's nginx, before the API
            return self._reject("5xx", None, Reply(502, {}))
        if token != self.token:
            return self._reject("unauthorized", None, _error(401, "Unauthorized"))
        raw_chat = params.get("chat_id")
        if raw_chat is None or raw_chat == "":
            return self._reject("bad_request", None, _error(400, "Bad Request: chat_id is empty"))
        chat_id = normalize_chat_id(raw_chat)
        if chat_id is None:
            return self._reject("not_found", None, _error(400, "Bad Request: chat not found"))
        text = params.get("text")
        text = text if isinstance(text, str) else ("" if text is None else str(text))
        parse_mode = params.get("parse_mode") or None
        refused = self._check_text(text, parse_mode, chat_id)
        if refused is not None:
            return refused
        state = self._chat_states.get(chat_id, ChatState.OK)
        if state is ChatState.NOT_FOUND:
            return self._reject("not_found", chat_id, _error(400, "Bad Request: chat not found"))
        if state is ChatState.BLOCKED:
            return self._reject(
                "blocked", chat_id, _error(403, "Forbidden: bot was blocked by the user")
            )
        now = self._clock()
        wait = self._wait(chat_id, now)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            return self._reject(
                "429",
                chat_id,
                _error(
                    429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
                ),
            )
        record = self._accept(chat_id, text, None if parse_mode is None else str(parse_mode), now)
        return Reply(
            200,
            {
                "ok": True,
                "result": {
                    "message_id": record.message_id,
                    "from": {"id": 1, "is_bot": True, "first_name": "smbridge emulator"},
                    "chat": {
                        "id": chat_id,
                        "type": "private" if is_private(chat_id) else "supergroup",
                    },
                    "date": int(record.time),
                    "text": text,
                },
            },
        )

    def _check_text(self, text: str, parse_mode: object, chat_id: int | str) -> Reply | None:
        visible = text
        if parse_mode is not None:
            mode = str(parse_mode).lower()
            if mode == "html":
                try:
                    visible = visible_text(text)
                except HtmlError as exc:
                    return self._reject(
                        "parse", chat_id, _error(400, f"Bad Request: can't parse entities: {exc}")
                    )
            elif mode not in {"markdown", "markdownv2"}:
                return self._reject(
                    "bad_request", chat_id, _error(400, "Bad Request: unsupported parse_mode")
                )
        if not visible.strip():
            return self._reject("empty", chat_id, _error(400, "Bad Request: message text is empty"))
        if len(visible) > TEXT_LIMIT:
            return self._reject(
                "too_long", chat_id, _error(400, "Bad Request: message is too long")
            )
        return None

    def _wait(self, chat_id: int | str, now: float) -> float:
        rates = self._rates
        waits = [window_wait(rates.overall, SECOND, self.limits.global_per_second, now)]
        chat_sends = rates.chats.get(chat_id, ())
        if is_private(chat_id):
            waits.append(window_wait(chat_sends, SECOND, self.limits.private_per_second, now))
        else:
            waits.append(window_wait(chat_sends, MINUTE, self.limits.group_per_minute, now))
        return max(waits)

    def _accept(
        self, chat_id: int | str, text: str, parse_mode: str | None, now: float
    ) -> Delivered:
        record = Delivered(
            chat_id=chat_id,
            message_id=self._next_id.get(chat_id, 1),
            text=text,
            parse_mode=parse_mode,
            time=self._wall_clock(),
        )
        self._remember(record)
        if self.state_file is not None:
            with self.state_file.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record.as_json(), ensure_ascii=False) + "\n")
        self._observe(chat_id, now)
        log.debug("telegram_emulator.accepted", chat_id=chat_id, message_id=record.message_id)
        return record

    def _observe(self, chat_id: int | str, now: float) -> None:
        rates = self._rates
        while rates.overall and rates.overall[0] <= now - SECOND:
            rates.overall.popleft()
        rates.overall.append(now)
        rates.max_per_second = max(rates.max_per_second, len(rates.overall))
        sends = rates.chats.setdefault(chat_id, deque())
        while sends and sends[0] <= now - MINUTE:
            sends.popleft()
        sends.append(now)
        key = str(chat_id)
        per_second = _count_since(sends, now - SECOND)
        rates.max_per_second_per_chat[key] = max(rates.max_per_second_per_chat[key], per_second)
        rates.max_per_minute_per_chat[key] = max(rates.max_per_minute_per_chat[key], len(sends))

    def _reject(self, reason: str, chat_id: int | str | None, reply: Reply) -> Reply:
        self._rejected[reason] += 1
        log.info("telegram_emulator.rejected", reason=reason, chat_id=chat_id, status=reply.status)
        return reply

    # -- views --------------------------------------------------------------------------

    def messages(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        return [
            record.as_json()
            for record in self.delivered
            if chat_id is None or record.chat_id == chat_id
        ]

    def stats(self) -> dict[str, Any]:
        rates = self._rates
        return {
            "accepted": len(self.delivered),
            "rejected": dict(self._rejected),
            "rejected_total": sum(self._rejected.values()),
            "accepted_per_chat": dict(self._per_chat),
            # Observed on the monotonic clock since start (or reset), over sliding windows.
            "max_per_second": rates.max_per_second,
            "max_per_second_any_chat": max(rates.max_per_second_per_chat.values(), default=0),
            "max_per_second_per_chat": dict(rates.max_per_second_per_chat),
            "max_per_minute_per_chat": dict(rates.max_per_minute_per_chat),
            "limits": asdict(self.limits),
        }


# -- HTTP ---------------------------------------------------------------------------------


class _BotMethod:
    """``/bot{token}/{method}``: a raw ASGI endpoint, so that ``drop`` can hang up."""

    def __init__(self, emulator: TelegramEmulator) -> None:
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        token = str(request.path_params["token"])
        method = str(request.path_params["method"])
        if method.lower() != "sendmessage":
            status, description = (
                (401, "Unauthorized") if token != self.emulator.token else (404, "Not Found")
            )
            reply = _error(status, description)
            await JSONResponse(reply.body, reply.status)(scope, receive, send)
            return
        mode, delay = self.emulator.failure()
        if mode is FailMode.SLOW:
            await self.emulator.sleep(delay)
        elif mode is FailMode.DROP:
            self.emulator.count_rejection("drop")
            log.info("telegram_emulator.dropped")
            # Headers promising a body, then nothing: the server closes the connection.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
                }
            )
            return
        params = await _params(request)
        if params is None:
            reply = _error(400, "Bad Request: request body is not valid")
            self.emulator.count_rejection("bad_request")
        else:
            reply = self.emulator.send_message(token, params)
        response: Response = (
            HTMLResponse(_BAD_GATEWAY, 502)
            if reply.status == 502
            else JSONResponse(reply.body, reply.status)
        )
        await response(scope, receive, send)


async def _params(request: Request) -> dict[str, object] | None:
    """Query string, then a JSON object or a form body, as the Bot API accepts them."""
    params: dict[str, object] = dict(request.query_params)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        params.update(body)
    elif content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        form = await request.form()
        params.update({key: str(value) for key, value in form.items()})
    return params


def create_app(emulator: TelegramEmulator) -> Starlette:
    async def chat_state(request: Request) -> JSONResponse:
        chat_id = normalize_chat_id(request.path_params["chat_id"])
        body = await _json_object(request)
        try:
            state = ChatState(str(body.get("state")))
        except ValueError:
            state = None
        if chat_id is None or state is None:
            return JSONResponse({"error": "need a chat id and state ok|not_found|blocked"}, 400)
        emulator.set_chat_state(chat_id, state)
        return JSONResponse({"chat_id": chat_id, "state": state.value})

    async def fail(request: Request) -> JSONResponse:
        body = await _json_object(request)
        try:
            mode = FailMode(str(body.get("mode")))
            seconds = float(body.get("seconds", 10))
            delay = float(body.get("delay", 5))
        except (TypeError, ValueError):
            return JSONResponse({"error": "need mode 5xx|slow|drop|none, seconds, delay"}, 400)
        emulator.set_failure(mode, seconds, delay)
        return JSONResponse({"mode": mode.value, "seconds": seconds, "delay": delay})

    async def reset(_request: Request) -> JSONResponse:
        emulator.reset()
        return JSONResponse({"status": "ok"})

    async def messages(request: Request) -> JSONResponse:
        raw = request.query_params.get("chat_id")
        chat_id = normalize_chat_id(raw) if raw is not None else None
        if raw is not None and chat_id is None:
            return JSONResponse({"error": "bad chat_id"}, 400)
        return JSONResponse(emulator.messages(chat_id))

    async def stats(_request: Request) -> JSONResponse:
        return JSONResponse(emulator.stats())

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "service": "telegram-emulator"})

    return Starlette(
        routes=[
            Route("/bot{token}/{method}", _BotMethod(emulator), methods=["GET", "POST"]),
            Route("/admin/chats/{chat_id}", chat_state, methods=["POST"]),
            Route("/admin/fail", fail, methods=["POST"]),
            Route("/admin/reset", reset, methods=["POST"]),
            Route("/admin/messages", messages),
            Route("/admin/stats", stats),
            Route("/healthz", health),
        ],
    )


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class _QuietDrops(logging.Filter):
    """uvicorn reports a deliberately dropped answer as an error; that is the point here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROP_LOG_LINE


# -- the command --------------------------------------------------------------------------


def emulate_telegram(  # noqa: PLR0917 - one parameter per CLI option
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port of the emulated api.telegram.org")] = 9100,
    token: Annotated[
        str, typer.Option(help="the bot token it accepts", envvar="SMBRIDGE_TELEGRAM_BOT_TOKEN")
    ] = "test-bot-token",  # noqa: S107
    global_per_second: Annotated[
        int, typer.Option(help="messages per second for the bot overall")
    ] = 30,
    private_per_second: Annotated[
        int, typer.Option(help="messages per second to one private chat")
    ] = 1,
    group_per_minute: Annotated[int, typer.Option(help="messages per minute to one group")] = 20,
    state_file: Annotated[
        Path | None,
        typer.Option(help="JSON-lines file of accepted messages, loaded at start"),
    ] = None,
) -> None:
    """Behave like the Telegram Bot API (sendMessage): limits, errors, a record of messages."""
    from smbridge.kernel.logs import configure_logging
    from smbridge.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    emulator = TelegramEmulator(
        token,
        BotLimits(global_per_second, private_per_second, group_per_minute),
        state_file=state_file,
    )
    log.info("telegram_emulator.start", host=host, port=port, limits=asdict(emulator.limits))
    uvicorn.run(create_app(emulator), host=host, port=port, log_level="warning", access_log=False)
    stats = emulator.stats()
    log.info(
        "telegram_emulator.stop",
        accepted=stats["accepted"],
        rejected=stats["rejected_total"],
        max_per_second=stats["max_per_second"],
    )
