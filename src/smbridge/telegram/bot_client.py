"""Telegram Bot API ``sendMessage``, with Telegram's answers sorted by what to do next."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import httpx


class TelegramAnswerKind(StrEnum):
    SENT = "sent"
    WAIT = "wait"  # 429: come back after retry_after
    RETRY = "retry"  # network trouble or 5xx: try again later
    PERMANENT = "permanent"  # chat not found, bot blocked, message invalid: never will


@dataclass(frozen=True)
class TelegramAnswer:
    kind: TelegramAnswerKind
    message_id: int | None = None
    retry_after: float = 0.0
    description: str = ""


class TelegramClient:
    def __init__(
        self, api_url: str, bot_token: str, timeout: float = 10.0, http: httpx.Client | None = None
    ) -> None:
        self._path = f"/bot{bot_token}/sendMessage"
        self._http = http or httpx.Client(
            base_url=api_url, timeout=httpx.Timeout(timeout, connect=3.0)
        )

    def close(self) -> None:
        self._http.close()

    def send_message(self, chat_id: str, html_text: str) -> TelegramAnswer:
        body = {
            "chat_id": chat_id,
            "text": html_text,
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        try:
            response = self._http.post(self._path, json=body)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return TelegramAnswer(TelegramAnswerKind.RETRY, description=type(exc).__name__)
        description = str(answer.get("description", ""))[:500]
        if response.status_code == 200 and answer.get("ok"):
            return TelegramAnswer(
                TelegramAnswerKind.SENT, message_id=int(answer["result"]["message_id"])
            )
        if response.status_code == 429:
            retry_after = float(answer.get("parameters", {}).get("retry_after", 1))
            return TelegramAnswer(
                TelegramAnswerKind.WAIT, retry_after=retry_after, description=description
            )
        if response.status_code >= 500 or response.status_code == 401:
            # 401: a wrong bot token is a configuration error: keep the messages queued.
            return TelegramAnswer(TelegramAnswerKind.RETRY, description=description)
        return TelegramAnswer(TelegramAnswerKind.PERMANENT, description=description)
