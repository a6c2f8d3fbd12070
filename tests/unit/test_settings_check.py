"""``smbridge settings check`` refuses misspelt names and bad values, never showing a value."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smbridge.entrypoints.cli.main import app
from smbridge.entrypoints.cli.settings import render_env_file

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SMBRIDGE_* of the test run and no .env of the working directory."""
    for name in list(os.environ):
        if name.upper().startswith("SMBRIDGE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def check(env_file: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["settings", "check", "--env-file", str(env_file)])
    return result.exit_code, result.output


def test_the_shipped_env_file_passes(tmp_path: Path) -> None:
    shipped = tmp_path / "smbridge.env"
    shipped.write_text(render_env_file(), encoding="utf-8")
    assert check(shipped) == (0, f"settings check: OK ({shipped})\n")


def test_a_misspelt_name_in_the_file_is_refused_with_the_close_one(tmp_path: Path) -> None:
    env = tmp_path / "smbridge.env"
    env.write_text("SMBRIDGE_LOG_LEVEL=INFO\nSMBRIDGE_HOOK_TOKN=s3cret-value\n", encoding="utf-8")
    code, output = check(env)
    assert code == 2
    assert f"{env}: unknown setting SMBRIDGE_HOOK_TOKN; did you mean SMBRIDGE_HOOK_TOKEN?" in output
    assert "s3cret-value" not in output


def test_a_misspelt_name_in_the_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / "smbridge.env"
    env.write_text("", encoding="utf-8")
    monkeypatch.setenv("SMBRIDGE_DATABSE_URL", "sqlite:///x.db")
    monkeypatch.setenv("SMBRIDGE_ENV_FILE", str(env))  # the scripts' own names pass
    monkeypatch.setenv("SMBRIDGE_NO_SUCH_THING_AT_ALL", "1")
    code, output = check(env)
    assert code == 2
    assert (
        "environment: unknown setting SMBRIDGE_DATABSE_URL; did you mean SMBRIDGE_DATABASE_URL?"
        in output
    )
    assert "environment: unknown setting SMBRIDGE_NO_SUCH_THING_AT_ALL\n" in output
    assert "SMBRIDGE_ENV_FILE" not in output


def test_bad_values_are_refused_without_showing_them(tmp_path: Path) -> None:
    env = tmp_path / "smbridge.env"
    env.write_text(
        "SMBRIDGE_HOOK_WORKERS=many-secret\nSMBRIDGE_NGINX_HTTPS_PORT=70000\n", encoding="utf-8"
    )
    code, output = check(env)
    assert code == 2
    assert "SMBRIDGE_HOOK_WORKERS: Input should be a valid integer" in output
    assert "SMBRIDGE_NGINX_HTTPS_PORT: Input should be less than or equal to 65535" in output
    assert "many-secret" not in output


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    assert check(tmp_path / "nowhere.env") == (
        2,
        f"settings check: no settings file {tmp_path / 'nowhere.env'}\n",
    )
