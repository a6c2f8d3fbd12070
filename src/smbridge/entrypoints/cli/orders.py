"""``smbridge orders``: corrections of an order whose notification SM refused."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

import typer

from smbridge.domain.assembly import AssemblyError
from smbridge.entrypoints.cli.context import console, database
from smbridge.orders.repository import OrderRepository

orders_app = typer.Typer(
    help="Corrections of an order whose notification SM refused.", no_args_is_help=True
)


@orders_app.command("set-weight")
def orders_set_weight(
    sm_order_id: Annotated[str, typer.Option("--order", help="SM order id, like H1234567890")],
    line_no: Annotated[int, typer.Option("--line", help="line number (getOrder shows them)")],
    weight: Annotated[str, typer.Option("--grams", help="the weight in grams, e.g. 1187")],
) -> None:
    """Set the weight of a line of assembled final contents, then resend the refused one."""
    grams = _grams(weight)
    with database() as db, db.unit_of_work() as uow:
        order = uow.repo(OrderRepository).by_sm_id(sm_order_id, for_update=True)
        if order is None:
            raise typer.BadParameter(f"no order {sm_order_id}")
        try:
            order.correct_weight(line_no, grams, datetime.now(UTC))
        except AssemblyError as refused:
            raise typer.BadParameter(refused.detail) from None
        uow.commit()
    console.print(f"order {sm_order_id} line {line_no}: {grams} g")


def _grams(text: str) -> Decimal:
    try:
        grams = Decimal(text)
    except ArithmeticError:
        grams = Decimal("NaN")
    if not grams.is_finite() or not 0 <= grams <= 1_000_000:
        raise typer.BadParameter("--grams: a number of grams from 0 to 1000000")
    return grams
