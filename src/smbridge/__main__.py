"""``python -m smbridge`` is the ``smbridge`` command."""

from smbridge.entrypoints.cli import main

main()
