"""``smbridge``: the one command that starts every process and runs admin tasks.

A web worker (``smbridge serve``, one process of a pool of eight) loads only what serving
needs: not the admin commands, emulators, migrations or nginx templates of the others
(``commands``), which cost each worker about 14 MB of memory.
"""

from __future__ import annotations

import sys
from importlib import metadata
from typing import Any

from smbridge.kernel.memory import bound_the_heap


def version() -> str:
    """The installed release's version (its package metadata: what the wheel was built as)."""
    return metadata.version("smbridge")


def main() -> None:
    bound_the_heap()  # before any other thread: an arena a thread took stays its own
    if sys.argv[1:2] == ["serve"]:
        from smbridge.entrypoints.cli.serve import serve_command

        serve_command(sys.argv[2:])
        return
    from smbridge.entrypoints.cli.commands import app

    app()


def __getattr__(name: str) -> Any:
    """``app``, every command: loaded when asked for (tests, ``main``)."""
    if name == "app":
        from smbridge.entrypoints.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
