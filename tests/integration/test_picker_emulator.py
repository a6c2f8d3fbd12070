"""The simulated pickers work real orders through a real assembly worker to the end."""

from __future__ import annotations

import random
import threading
import time
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.assembly.service import token_hash
from smbridge.domain.picker import Picker
from smbridge.emulators.pickers.crew import PickerHabits, PickerTeam
from smbridge.emulators.sm import baskets
from smbridge.entrypoints.assembly_app import create_assembly_app
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.tables import orders
from smbridge.kernel.database.unit_of_work import Database
from smbridge.orders.repository import OrderRepository
from smbridge.settings import Settings
from tests.factories import add_store, envelope
from tests.support.clock import FROZEN_NOW, FrozenClock, RunningClock
from tests.support.servers import serving

ORDERS = 12


def setup_store(db: Database) -> list[int]:
    store = add_store(db)
    assert store.id is not None
    ids = []
    with db.unit_of_work() as uow:
        uow.repo(ApiTokenRepository).add(store.id, token_hash("picker-token"), "test", FROZEN_NOW)
        for name in ("Анна", "Борис", "Вера"):
            picker = Picker(store_id=store.id, name=name)
            uow.repo(PickerRepository).add(picker)
            assert picker.id is not None
            ids.append(picker.id)
        uow.commit()
    return ids


def orders_in(db: Database) -> list[Any]:
    with db.unit_of_work() as uow:
        found = [uow.repo(OrderRepository).by_sm_id(f"H{n}") for n in range(ORDERS)]
        for order in found:
            assert order is not None
            uow.session.expunge(order)
        return found


def test_pickers_take_pick_and_finish_every_order(db: Database, settings: Settings) -> None:
    picker_ids = setup_store(db)
    rng = random.Random(7)
    for n in range(ORDERS):
        payload = baskets.order(f"H{n}", "101", FROZEN_NOW, rng)
        ingest_webhook(
            db,
            parse_webhook(envelope("order.created", payload)),
            IntakePolicy(notify_accepted=False),
            FrozenClock(),
        )

    with serving(create_assembly_app(settings, db, clock=RunningClock())) as url:
        team = PickerTeam(
            [url], "picker-token", picker_ids, PickerHabits(shortage=0.2, replacement=0.2), seed=3
        )
        runner = threading.Thread(target=team.run, kwargs={"poll_seconds": 0.05})
        runner.start()
        deadline = time.monotonic() + 60
        while team.stats.finished < ORDERS and time.monotonic() < deadline:
            time.sleep(0.1)
        team.stop.set()
        runner.join(timeout=30)

    assert team.stats.finished == ORDERS
    assert team.stats.errors == {}
    assert team.stats.replacements > 0
    for order in orders_in(db):
        assert order.status == "ready_for_delivery"
        assert order.picker_id in picker_ids
        for position in order.positions:
            line, pick = position.line, position.pick
            assert pick.quantity is not None
            if position.is_weighed and pick.quantity > 0:
                assert pick.weight_grams is not None
                assert pick.weight_grams > Decimal(0)
            product = baskets.CATALOG_BY_SKU.get(line.sku)
            if product is not None and product.marked and line.replaced_by_sku is None:
                assert len(pick.marking_codes) == int(pick.quantity)


def test_the_counter_hands_pickup_orders_to_their_customers(
    db: Database, settings: Settings
) -> None:
    """Pickup customers come with their codes (the first with a wrong one, then the right
    one): the team hands every order out through handOutOrder."""
    picker_ids = setup_store(db)
    rng = random.Random(11)
    count = 4
    for n in range(count):
        payload = baskets.order(f"H{n}", "101", FROZEN_NOW, rng) | {"shipmentMethod": "pickup"}
        ingest_webhook(
            db,
            parse_webhook(envelope("order.created", payload)),
            IntakePolicy(notify_accepted=False),
            FrozenClock(),
        )
    served: set[str] = set()

    def customers() -> list[dict[str, Any]]:
        """Every order with a code is collected once; the first customer misreads it."""
        with db.engine.connect() as c:
            rows = c.execute(
                select(orders.c.number, orders.c.handout_code).where(
                    orders.c.status == "ready_for_delivery"
                )
            ).all()
        visits = []
        for number, code in rows:
            if number in served:
                continue
            served.add(number)
            if len(served) == 1:
                visits.append({"number": number, "code": "000000" if code != "000000" else "1"})
            visits.append({"number": number, "code": code})
        return visits

    with serving(create_assembly_app(settings, db, clock=RunningClock())) as url:
        team = PickerTeam(
            [url], "picker-token", picker_ids, PickerHabits(), seed=5, counter=customers
        )
        runner = threading.Thread(target=team.run, kwargs={"poll_seconds": 0.05})
        runner.start()
        deadline = time.monotonic() + 60
        while team.stats.handed_out < count and time.monotonic() < deadline:
            time.sleep(0.1)
        team.stop.set()
        runner.join(timeout=30)

    assert (team.stats.handed_out, team.stats.wrong_codes, team.stats.errors) == (count, 1, {})
    with db.engine.connect() as c:
        statuses = c.execute(select(orders.c.status).where(orders.c.number.in_(served))).scalars()
        assert set(statuses) == {"delivered"}
