"""``smbridge run --demo``: the tokens it issues and how its processes get them."""

from __future__ import annotations

from pathlib import Path

from smbridge.assembly.repository import ApiTokenRepository
from smbridge.assembly.service import token_hash
from smbridge.entrypoints.cli.picker_emulator import PICKERS_TOKEN_ENV
from smbridge.entrypoints.stack import (
    DEMO_BOT_TOKEN,
    DEMO_STORE,
    Secrets,
    StackPlan,
    build_supervisor,
    prepare_demo,
)
from smbridge.kernel.clock import utc_now
from smbridge.kernel.database.unit_of_work import Database
from smbridge.orders.repository import StoreRepository


def live_store_of(db: Database, token: str) -> int | None:
    with db.unit_of_work() as uow:
        return uow.repo(ApiTokenRepository).store_of(token_hash(token))


def test_a_new_start_revokes_the_earlier_demo_tokens(db: Database, tmp_path: Path) -> None:
    plan = StackPlan(demo=True, demo_pickers=2, state_dir=tmp_path)
    earlier = [prepare_demo(db, plan, "").api_token for _ in range(3)]
    latest = prepare_demo(db, plan, "").api_token
    assert all(live_store_of(db, token) is None for token in earlier)
    assert live_store_of(db, latest) is not None
    with db.unit_of_work() as uow:
        assert sum(1 for row in uow.repo(ApiTokenRepository).all() if row.revoked_at is None) == 1


def test_a_token_issued_for_the_demo_store_by_hand_stays_valid(
    db: Database, tmp_path: Path
) -> None:
    plan = StackPlan(demo=True, demo_pickers=1, state_dir=tmp_path)
    prepare_demo(db, plan, "")
    with db.unit_of_work() as uow:
        store = uow.repo(StoreRepository).by_sm_id(DEMO_STORE)
        assert store is not None
        assert store.id is not None
        uow.repo(ApiTokenRepository).add(
            store.id, token_hash("a-tester"), "tester's phone", utc_now()
        )
        uow.commit()
    prepare_demo(db, plan, "")
    assert live_store_of(db, "a-tester") == store.id


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
