"""``deploy/smbridge.env`` lists every setting with its meaning and default, stays current
with ``smbridge.settings.Settings``, and reads back as the defaults."""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest
from dotenv import dotenv_values
from typer.testing import CliRunner

from smbridge.entrypoints.cli.main import app
from smbridge.entrypoints.cli.settings import GROUPS, PREFIX, REGENERATE
from smbridge.settings import Settings

ENV_FILE = Path(__file__).resolve().parents[2] / "deploy" / "smbridge.env"
VARIABLES = [f"{PREFIX}{name.upper()}" for name in Settings.model_fields]


@pytest.fixture(scope="module")
def output() -> str:
    result = CliRunner().invoke(app, ["settings", "env-file"])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def no_smbridge_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The file alone decides: no SMBRIDGE_* variable of the test run leaks in."""
    for variable in list(os.environ):
        if variable.upper().startswith(PREFIX):
            monkeypatch.delenv(variable)


def assignments(text: str) -> dict[str, str]:
    lines = (line for line in text.splitlines() if line[:1].isalpha())
    return dict(line.split("=", 1) for line in lines)


def test_every_setting_appears_once_in_order_with_its_comment(output: str) -> None:
    lines = output.splitlines()
    assigned = [(n, line.split("=", 1)[0]) for n, line in enumerate(lines) if line[:1].isalpha()]
    assert [variable for _, variable in assigned] == VARIABLES
    for n, variable in assigned:
        above = n
        while above > 0 and lines[above - 1].startswith("# "):
            above -= 1
        comment = " ".join(line[2:] for line in lines[above:n])
        assert re.fullmatch(r".+ \(.+, default .+\)", comment), f"{variable}: {comment!r}"


def test_every_group_starts_at_an_existing_setting() -> None:
    names = list(Settings.model_fields)
    starts = [field for field, _ in GROUPS]
    assert all(field in names for field in starts), "a group names a setting that is gone"
    assert starts == sorted(starts, key=names.index), "groups out of the settings' order"


def test_secrets_are_left_empty(output: str) -> None:
    values = assignments(output)
    secrets = [n for n, f in Settings.model_fields.items() if "Secret" in str(f.annotation)]
    assert secrets
    for name in secrets:
        assert values[f"{PREFIX}{name.upper()}"] == ""


def test_the_committed_file_is_the_commands_output(output: str) -> None:
    committed = ENV_FILE.read_text(encoding="utf-8") if ENV_FILE.exists() else ""
    if committed != output:
        diff = difflib.unified_diff(
            committed.splitlines(), output.splitlines(), "deploy/smbridge.env", "the command", n=1
        )
        pytest.fail(
            f"deploy/smbridge.env is not current; regenerate it with `{REGENERATE}` "
            "(.venv/bin/smbridge from the repository root) and commit it:\n"
            + "\n".join(list(diff)[:60]),
            pytrace=False,
        )


@pytest.mark.usefixtures("no_smbridge_environment")
def test_the_file_reads_back_as_the_defaults() -> None:
    assert list(dotenv_values(ENV_FILE)) == VARIABLES
    loaded = Settings(_env_file=ENV_FILE)
    for name, field in Settings.model_fields.items():
        assert getattr(loaded, name) == field.get_default(call_default_factory=True), name


@pytest.mark.usefixtures("no_smbridge_environment")
def test_values_written_in_its_format_are_read(tmp_path: Path) -> None:
    """Not just missing keys falling back to defaults: lists (JSON), numbers, quoted secrets."""
    edited = (
        ENV_FILE.read_text(encoding="utf-8")
        .replace(
            'SMBRIDGE_NGINX_SM_NETWORKS=["127.0.0.1/32"]',
            'SMBRIDGE_NGINX_SM_NETWORKS=["10.0.0.0/8","192.168.1.0/24"]',
        )
        .replace("SMBRIDGE_HOOK_WORKERS=4", "SMBRIDGE_HOOK_WORKERS=6")
        .replace("SMBRIDGE_HOOK_TOKEN=\n", "SMBRIDGE_HOOK_TOKEN='s3cr#t $HOME x'\n")
    )
    path = tmp_path / "smbridge.env"
    path.write_text(edited, encoding="utf-8")
    loaded = Settings(_env_file=path)
    assert loaded.nginx_sm_networks == ["10.0.0.0/8", "192.168.1.0/24"]
    assert loaded.hook_workers == 6
    assert loaded.hook_token.get_secret_value() == "s3cr#t $HOME x"
