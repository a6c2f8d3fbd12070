"""requirements.lock pins the whole dependency tree that is installed (scripts/lock writes it)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from smbridge.entrypoints.cli.main import version

ROOT = Path(__file__).resolve().parents[2]
RELOCK = "run scripts/lock and commit requirements.lock"


def locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, pinned = line.split("==")
            pins[canonicalize_name(name)] = pinned
    return pins


def installed_tree(name: str, extras: frozenset[str]) -> dict[str, str]:
    """Every distribution ``name[extras]`` needs here, with its installed version."""
    found: dict[str, str] = {}
    pending = [(name, extras)]
    while pending:
        current, wanted = pending.pop()
        for text in metadata.requires(current) or []:
            requirement = Requirement(text)
            markers = [{"extra": extra} for extra in wanted or {""}]
            if requirement.marker and not any(requirement.marker.evaluate(m) for m in markers):
                continue
            key = canonicalize_name(requirement.name)
            if key not in found:
                found[key] = metadata.version(requirement.name)
                pending.append((requirement.name, frozenset(requirement.extras)))
            elif requirement.extras:  # the same distribution, asked again with extras
                pending.append((requirement.name, frozenset(requirement.extras)))
    return found


def test_the_lock_pins_every_installed_dependency_at_its_installed_version() -> None:
    pins = locked()
    tree = installed_tree("smbridge", frozenset({"dev"}))
    assert len(tree) > 40
    missing = sorted(set(tree) - set(pins))
    assert not missing, f"installed but not locked: {missing}; {RELOCK}"
    differing = {name: (tree[name], pins[name]) for name in tree if tree[name] != pins[name]}
    assert not differing, f"installed != locked: {differing}; {RELOCK}"


def test_the_lock_agrees_with_the_pins_of_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = locked()
    direct = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    for text in direct:
        requirement = Requirement(text)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{text}: pyproject pins direct dependencies exactly"
        assert pins[canonicalize_name(requirement.name)] == specifier.version, RELOCK


def test_the_version_is_the_package_metadata_one() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert version() == project["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version())


def test_smbridge_version_prints_it() -> None:
    from typer.testing import CliRunner

    from smbridge.entrypoints.cli.main import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"smbridge {version()}\n"
