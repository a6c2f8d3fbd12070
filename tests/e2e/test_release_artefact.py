"""The release artefact installs on a machine without an index: scripts/build-release makes
the tarball, the tarball's scripts/rebuild-venv installs it with pip --no-index."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from smbridge.entrypoints.cli.main import version

ROOT = Path(__file__).resolve().parents[2]


def offline_environment() -> dict[str, str]:
    """No pip configuration (this machine's indexes and wheel directories) and no proxy."""
    kept = {k: v for k, v in os.environ.items() if not k.upper().startswith(("PIP_", "PYTHON"))}
    return {**kept, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "ALLOW_DIRTY": "1"}


@pytest.mark.slow
def test_the_release_tarball_installs_offline_and_runs(tmp_path: Path) -> None:
    built = subprocess.run(
        [ROOT / "scripts/build-release", tmp_path / "dist"],
        env={**os.environ, "ALLOW_DIRTY": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    tarball = tmp_path / "dist" / f"smbridge-{version()}.tar.gz"
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
        archive.extractall(tmp_path / "vm", filter="data")
    release = tmp_path / "vm" / f"smbridge-{version()}"
    assert f"smbridge-{version()}/requirements.lock" in names
    assert f"smbridge-{version()}/deploy/rolling-restart.sh" in names
    assert any(name.endswith(f"/wheels/smbridge-{version()}-py3-none-any.whl") for name in names)

    installed = subprocess.run(
        [release / "scripts/rebuild-venv"],
        env=offline_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    shown = subprocess.run(
        [release / ".venv/bin/smbridge", "--version"], capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == f"smbridge {version()}"
    freeze = subprocess.run(
        [release / ".venv/bin/python", "-m", "pip", "freeze", "--exclude", "smbridge"],
        capture_output=True,
        text=True,
        check=True,
        env=offline_environment(),
    )
    locked = (ROOT / "requirements.lock").read_text(encoding="utf-8").lower()
    for line in freeze.stdout.lower().splitlines():
        assert line in locked, f"{line} is not the locked version"
