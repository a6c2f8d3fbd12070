"""Telegram text rules: HTML parse mode needs escaping; a message holds 4096 characters."""

from __future__ import annotations

import html

TELEGRAM_LIMIT = 4096


def to_html(text: str) -> str:
    """Our texts are plain; in HTML mode ``<``, ``>`` and ``&`` must be entities."""
    return html.escape(text, quote=False)


def split_for_telegram(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Cut a long text into parts of at most ``limit`` visible characters each.

    Cuts at a line break in the second half of a part if there is one, else at a space
    there, else hard. Escaping happens after the cut, so an entity is never split; Telegram counts
    the visible text, which escaping does not change.
    """
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = window.rfind("\n")
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts
