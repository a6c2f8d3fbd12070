"""Migrations only expand the schema, so the previous release keeps working during a
rolling restart (docs/deployment.md, "expand, then contract").

A release's ``upgrade()`` may add tables, nullable columns, columns with a server default
and indexes, and widen types. Dropping or renaming a table or column, or adding a NOT NULL
column without a default, would break the workers still running the old code; such a
"contract" step belongs in a later release, marked with a ``# contract:`` comment saying
why the release before it no longer needs what goes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import smbridge

VERSIONS = Path(smbridge.__file__).parent / "migrations" / "versions"
BREAKING_CALLS = {"drop_table", "drop_column", "rename_table"}


def upgrade_calls(path: Path) -> list[tuple[ast.Call, str]]:
    """Every call inside ``upgrade()``, with its source line."""
    source = path.read_text()
    lines = source.splitlines()
    upgrade = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and node.name == "upgrade"
    )
    return [
        (node, lines[node.lineno - 1]) for node in ast.walk(upgrade) if isinstance(node, ast.Call)
    ]


def breaking(call: ast.Call) -> str | None:
    name = call.func.attr if isinstance(call.func, ast.Attribute) else ""
    keywords = {k.arg: k.value for k in call.keywords}
    if name in BREAKING_CALLS:
        return name
    if name == "alter_column" and ("new_column_name" in keywords or _false(keywords, "nullable")):
        return "alter_column (rename or NOT NULL)"
    if name == "add_column":  # a new table's columns are free; an added one is not
        for column in (a for a in call.args if isinstance(a, ast.Call)):
            options = {k.arg: k.value for k in column.keywords}
            if _false(options, "nullable") and "server_default" not in options:
                return "NOT NULL column without a server default"
    return None


def _false(keywords: dict[str | None, ast.expr], name: str) -> bool:
    value = keywords.get(name)
    return isinstance(value, ast.Constant) and value.value is False


def test_the_checker_sees_breaking_steps(tmp_path: Path) -> None:
    sample = tmp_path / "0099_sample.py"
    sample.write_text(
        "def upgrade():\n"
        "    op.drop_column('orders', 'bags')\n"
        "    op.add_column('orders', sa.Column('x', sa.Integer(), nullable=False))\n"
        "    op.add_column('orders', sa.Column('y', sa.Integer(), nullable=True))\n"
    )
    found = [breaking(call) for call, _ in upgrade_calls(sample)]
    assert [f for f in found if f] == ["drop_column", "NOT NULL column without a server default"]


@pytest.mark.parametrize("path", sorted(VERSIONS.glob("[0-9]*.py")), ids=lambda p: p.stem)
def test_upgrades_after_the_first_only_expand(path: Path) -> None:
    if path.stem.startswith("0001"):  # the initial schema creates what nobody used yet
        return
    problems = [
        f"{path.name}: {problem}: {line.strip()}"
        for call, line in upgrade_calls(path)
        if (problem := breaking(call)) and "# contract:" not in line
    ]
    assert problems == []
