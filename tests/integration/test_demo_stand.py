"""``smbridge run --demo``: the tokens it issues and how its processes get them."""

from __future__ import annotations

from pathlib import Path

from smbridge.emulators.pickers_command import PICKERS_TOKEN_ENV
from smbridge.entrypoints.stack import (
    DEMO_BOT_TOKEN,
    Secrets,
    StackPlan,
    build_supervisor,
)


def test_no_token_is_on_a_command_line(tmp_path: Path) -> None:
    """Any local user can read a process's command line (ps); its environment, only its
    owner and root."""
    keys = Secrets("hook-secret-1", "sm-secret-2", "api-secret-3", picker_ids=(1, 2))
    plan = StackPlan(demo=True, nginx_binary="/usr/sbin/nginx", state_dir=tmp_path)
    children = build_supervisor(plan, keys, quiet=False).children
    assert {"sm-emulator", "telegram-emulator", "pickers", "nginx"} <= {c.name for c in children}
    for child in children:
        for secret in ("hook-secret-1", "sm-secret-2", "api-secret-3", DEMO_BOT_TOKEN):
            assert not any(secret in arg for arg in child.argv), (child.name, child.argv)
    by_name = {child.name: child for child in children}
    assert by_name["pickers"].env == {PICKERS_TOKEN_ENV: "api-secret-3"}  # theirs alone
    assert all(not child.env for child in children if child.name != "pickers")
