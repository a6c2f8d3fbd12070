"""Staff accounts of the web UI: the first admin is made here, the rest in the UI too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from smbridge.accounts.repository import StaffAccounts
from smbridge.accounts.service import create_account
from smbridge.domain.staff import AccountError, Role
from smbridge.entrypoints.cli.context import console, database, find_store_id, print_table

staff_app = typer.Typer(help="Staff accounts of the web UI (roles, stores).", no_args_is_help=True)


@staff_app.command("add")
def staff_add(  # noqa: PLR0917 - one parameter per CLI option
    login: Annotated[str, typer.Option(help="sign-in name (a picker's badge code)")],
    name: Annotated[str, typer.Option(help="name shown in the UI")],
    role: Annotated[Role, typer.Option(help="what the account may do")],
    store: Annotated[str | None, typer.Option(help="SM storeID (store roles)")] = None,
    picker: Annotated[int | None, typer.Option(help="picker id (role picker)")] = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Add a staff account; the password is asked for and only its argon2 hash is kept."""
    with database() as db:
        store_id = find_store_id(db, store) if store is not None else None
        try:
            user_id = create_account(
                db,
                login=login,
                display_name=name,
                role=role,
                password=password,
                now=datetime.now(UTC),
                store_id=store_id,
                picker_id=picker,
            )
        except AccountError as refused:
            raise typer.BadParameter(refused.detail) from None
    console.print(f"staff account {user_id} ({login}, {role})")


@staff_app.command("list")
def staff_list() -> None:
    with database() as db, db.unit_of_work(read_only=True) as uow:
        accounts = uow.repo(StaffAccounts).page(0, 10_000)
    print_table(
        ("id", "login", "name", "role", "store", "picker", "active"),
        (
            (
                str(a.id),
                a.login,
                a.display_name,
                a.role,
                str(a.store_id or ""),
                str(a.picker_id or ""),
                "yes" if a.active else "no",
            )
            for a in accounts
        ),
    )
