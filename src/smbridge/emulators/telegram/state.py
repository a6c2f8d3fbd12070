"""What the emulated Telegram remembers: chats, their states, and every accepted message.

With a state file the record of accepted messages survives a restart: one JSON line per
message, appended as it is accepted and read back at start.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)

#: A numeric chat id, or a public ``@name``.
ChatId = int | str

_NUMERIC_CHAT = re.compile(r"-?[0-9]{1,20}")


class ChatState(StrEnum):
    OK = "ok"
    NOT_FOUND = "not_found"
    BLOCKED = "blocked"


def normalize_chat_id(raw: object) -> ChatId | None:
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


def is_private(chat_id: ChatId) -> bool:
    """Users have positive ids; groups, supergroups and channels (``@name`` too) do not."""
    return isinstance(chat_id, int) and chat_id > 0


@dataclass(frozen=True)
class Delivered:
    """One accepted message, as recorded (and as written to the state file)."""

    chat_id: ChatId
    message_id: int
    text: str
    parse_mode: str | None
    time: float  # unix time of acceptance

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class DeliveredLog:
    """Every accepted message in order, and each chat's next message id."""

    def __init__(self, state_file: Path | None = None) -> None:
        self.state_file = state_file
        self._forget()
        if state_file is not None:
            self._load(state_file)

    def _forget(self) -> None:
        self.messages: list[Delivered] = []
        self.per_chat: Counter[str] = Counter()
        self._next_id: dict[ChatId, int] = {}

    def clear(self) -> None:
        """Forget every message, the state file's too."""
        self._forget()
        if self.state_file is not None and self.state_file.exists():
            self.state_file.write_text("", encoding="utf-8")

    def next_message_id(self, chat_id: ChatId) -> int:
        return self._next_id.get(chat_id, 1)

    def append(self, record: Delivered) -> None:
        """Record an accepted message, and append it to the state file when there is one."""
        self._remember(record)
        if self.state_file is not None:
            with self.state_file.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record.as_json(), ensure_ascii=False) + "\n")

    def of_chat(self, chat_id: ChatId | None) -> list[Delivered]:
        """The messages to one chat, or every message for ``None``."""
        return [record for record in self.messages if chat_id is None or record.chat_id == chat_id]

    def _remember(self, record: Delivered) -> None:
        self.messages.append(record)
        self.per_chat[str(record.chat_id)] += 1
        self._next_id[record.chat_id] = max(
            self.next_message_id(record.chat_id), record.message_id + 1
        )

    def _load(self, path: Path) -> None:
        if not path.exists():
            return
        _cut_unfinished_line(path)
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                record = _parse_line(line)
                if record is None:
                    # A line cut short by a crash mid-write: that send was never answered.
                    log.warning("telegram_emulator.state_line_skipped", line=number)
                    continue
                self._remember(record)
        log.info("telegram_emulator.state_loaded", messages=len(self.messages))


def _parse_line(line: str) -> Delivered | None:
    try:
        row = json.loads(line)
        return Delivered(
            chat_id=row["chat_id"],
            message_id=int(row["message_id"]),
            text=str(row["text"]),
            parse_mode=row.get("parse_mode"),
            time=float(row["time"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


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
