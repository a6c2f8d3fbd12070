"""Why the assembly API says no: the errors its use cases raise.

Each kind is one way of refusing; the machine code is what the picker's app sees (with the
Russian text of texts.py). The HTTP view maps each kind to a status in one table
(views.py, ``HTTP_STATUS``); the use cases know nothing of HTTP.
"""

from __future__ import annotations


class AssemblyRefused(Exception):
    """A call refused; nothing it asked for was done."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail


class Forbidden(AssemblyRefused):
    """The caller's token is missing, unknown or revoked, or its store is inactive."""


class NotFound(AssemblyRefused):
    """No such order or picker in the caller's store (another store's looks the same)."""


class Conflict(AssemblyRefused):
    """Not now: the order, picker or shift is in a state that does not allow it."""


class InvalidRequest(AssemblyRefused):
    """Not with this data (a requestId reused for another request, an unknown line...)."""
