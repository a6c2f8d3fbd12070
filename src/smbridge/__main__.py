"""``python -m smbridge`` is the ``smbridge`` command."""

from smbridge.entrypoints.cli.main import main

main()
