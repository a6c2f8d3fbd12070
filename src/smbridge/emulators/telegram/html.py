"""Telegram's HTML parse mode: which tags it knows, and the text a reader sees.

The error texts are Telegram's own wording, so a client sees what the real Bot API says.
"""

from __future__ import annotations

import re
from html import unescape

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


class HtmlError(ValueError):
    """The text does not parse in HTML mode; the message is Telegram's wording."""


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
            parts.append(unescape(entity.group()))
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
