"""What operations and admin use cases refuse, said for the person who asked (in Russian)."""

from __future__ import annotations

import re

MAX_REASON = 1000  # an audited reason: a sentence or two
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class AdminRefused(Exception):
    """An operations or admin action that cannot be done as asked; nothing was changed.

    ``status`` is the HTTP meaning (404 nothing there, 409 not in this state, 422 bad input).
    """

    def __init__(self, status: int, message_ru: str) -> None:
        super().__init__(message_ru)
        self.status = status
        self.message_ru = message_ru


def required_reason(reason: str | None) -> str:
    """A risky change names its reason: 3 … MAX_REASON characters, no control characters."""
    text = (reason or "").strip()
    if len(text) < 3:
        raise AdminRefused(422, "Укажите причину (не короче 3 символов).")
    if len(text) > MAX_REASON or _CONTROLS.search(text):
        raise AdminRefused(422, f"Причина: до {MAX_REASON} символов, без управляющих символов.")
    return text


def bounded_text(value: str | None, what_ru: str, max_length: int, *, required: bool) -> str | None:
    """A short text from a form (a name, a label, a chat id): trimmed, bounded."""
    text = (value or "").strip()
    if not text:
        if required:
            raise AdminRefused(422, f"Заполните поле «{what_ru}».")
        return None
    if len(text) > max_length or _CONTROLS.search(text):
        raise AdminRefused(422, f"«{what_ru}»: до {max_length} символов, без управляющих символов.")
    return text
