"""The import rules of the architecture hold (the contracts in pyproject.toml,
``[tool.importlinter]``): the domain is pure, the kernel knows no feature, features import no
process entry point or emulator and use each other only through their public modules, and
the emulators share no code with the service."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
