"""``smbridge run --demo``: the tokens it issues and how its processes get them."""

from __future__ import annotations

from pathlib import Path

import pytest

from smbridge.accounts.service import SignInRefused, sign_in
from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.assembly.service import token_hash
from smbridge.domain.staff import Role, SessionTimes, Throttle
from smbridge.entrypoints.cli.picker_emulator import PICKERS_TOKEN_ENV
from smbridge.entrypoints.stack import (
    DEMO_BOT_TOKEN,
    DEMO_MANUAL_STORE,
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


def test_one_store_is_left_to_a_person_and_the_simulated_pickers_work_the_other(
    db: Database, tmp_path: Path
) -> None:
    plan = StackPlan(demo=True, demo_pickers=2, state_dir=tmp_path)
    prepare_demo(db, plan, "")
    keys = prepare_demo(db, plan, "")  # a second start makes nothing twice
    with db.unit_of_work() as uow:
        simulated = uow.repo(StoreRepository).by_sm_id(DEMO_STORE)
        manual = uow.repo(StoreRepository).by_sm_id(DEMO_MANUAL_STORE)
        assert simulated is not None
        assert manual is not None
        simulated_id, manual_id = simulated.id, manual.id
        assert simulated_id is not None
        assert manual_id is not None
        humans = [p.id for p in uow.repo(PickerRepository).of_store(manual_id)]
        simulated_pickers = [p.id for p in uow.repo(PickerRepository).of_store(simulated_id)]
    assert len(humans) == 1
    assert simulated_pickers == list(keys.picker_ids)
    # the simulated pickers' token sees only their store: the API's store scoping keeps
    # them away from the manual store's orders
    assert live_store_of(db, keys.api_token) == simulated_id
    children = {c.name: c for c in build_supervisor(plan, keys, quiet=False).children}
    argv = children["sm-emulator"].argv
    stores = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--store"]
    assert sorted(set(stores)) == [DEMO_STORE, DEMO_MANUAL_STORE]  # SM feeds both
    assert stores.count(DEMO_MANUAL_STORE) == 1 < stores.count(DEMO_STORE)
    pickers_argv = children["pickers"].argv
    picked_by_emulator = [
        pickers_argv[i + 1] for i, a in enumerate(pickers_argv) if a == "--picker-id"
    ]
    assert picked_by_emulator == [str(i) for i in keys.picker_ids]
    assert str(humans[0]) not in picked_by_emulator


def test_the_ui_address_is_nginx_when_it_runs_else_the_assembly_pool(tmp_path: Path) -> None:
    front = StackPlan(nginx_binary="/usr/sbin/nginx", https_port=8443, state_dir=tmp_path)
    assert front.ui_url == "https://127.0.0.1:8443/ui/"
    direct = StackPlan(nginx_binary=None, assembly_port=8200, state_dir=tmp_path)
    assert direct.ui_url == "http://127.0.0.1:8200/ui/"


def test_the_demo_has_an_account_per_role_with_new_secrets_each_start(
    db: Database, tmp_path: Path
) -> None:
    plan = StackPlan(demo=True, demo_pickers=1, state_dir=tmp_path)
    first = prepare_demo(db, plan, "").sign_ins
    second = prepare_demo(db, plan, "").sign_ins
    assert {account.role for account in first} == set(Role)
    assert [a.login for a in first] == [a.login for a in second]  # made once
    settings = SessionTimes(), Throttle()
    for old, new in zip(first, second, strict=True):
        assert old.secret != new.secret
        signed = sign_in(
            db,
            login=new.login,
            password=new.secret,
            address="127.0.0.1",
            now=utc_now(),
            times=settings[0],
            throttle=settings[1],
        )
        assert signed.session.account.role is new.role
        with pytest.raises(SignInRefused):  # the earlier start's secret is dead
            sign_in(
                db,
                login=old.login,
                password=old.secret,
                address="127.0.0.1",
                now=utc_now(),
                times=settings[0],
                throttle=settings[1],
            )
        if new.role is Role.PICKER:
            assert new.secret.isdigit()  # a PIN
            assert new.store == DEMO_MANUAL_STORE
